"""Watched-source backends: a folder, a YouTube channel or playlist, an RSS/Atom feed."""
