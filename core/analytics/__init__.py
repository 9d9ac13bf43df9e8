"""Post analytics: collect every published post's numbers on a schedule, learn per account what worked.

``collect``: the sample schedule and the scheduler's collection run; ``report``: what the API, CLI and
Prometheus show; ``learn``: the per-account ridge model and the re-ranking it drives; ``times``: posting-time
suggestions.
"""
