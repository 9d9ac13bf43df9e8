"""Placeholder while the instagram publisher is written (replaced in this session)."""
