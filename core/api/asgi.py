"""The API as an ASGI application factory for process managers: ``clipcast serve --workers N`` (uvicorn's own
workers) or gunicorn with uvicorn workers. Each worker process builds its own ``Clipcast`` from the
configuration that ``CLIPCAST_CONFIG`` names (or the usual lookup), with its own database pool::

    CLIPCAST_CONFIG=/etc/clipcast.yaml gunicorn -k core.api.gunicorn_worker.Worker -w 4 \\
        -b 127.0.0.1:8000 'core.api.asgi:app_from_config()'

Either way each worker is served with ``core.api.server``'s options (gunicorn through that worker class).
"""

from __future__ import annotations

from fastapi import FastAPI


def app_from_config() -> FastAPI:
    from core.api.app import create_app, freeze_heap
    from core.app import Clipcast
    from core.config import load_settings

    # The serving process ran the migrations before starting the workers; N workers must not race at it.
    api = create_app(Clipcast(load_settings(None), migrate=False))
    freeze_heap()
    return api
