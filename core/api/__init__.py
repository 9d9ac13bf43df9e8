"""The HTTP API (FastAPI). ``create_app(clipcast)`` builds it; ``clipcast serve`` runs it with uvicorn."""

from core.api.app import create_app

__all__ = ["create_app"]
