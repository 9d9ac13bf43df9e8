"""The pipeline stages, one module each: ingest → transcribe → select → render → publish.

Every stage takes the ``Clipcast`` application context first, works on database rows by id or object, reports
through an optional ``core.progress.Reporter`` and is idempotent (cached by content hash + settings).
"""
