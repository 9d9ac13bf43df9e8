"""``clipcast serve``: the HTTP API with uvicorn.

Embedded mode (no Redis configured) runs everything in this one process: the API, the in-process Dramatiq
worker (jobs left unfinished by a previous run are resumed) and the scheduler. With Redis, run
``clipcast worker`` and exactly one ``clipcast scheduler`` separately; ``serve`` is then only the API and may be
replicated.

``--workers N`` runs N API processes (uvicorn workers, each with its own database pool) behind one port; state
that must be shared lives in the database and, for the login rate limit, in Redis when it is configured (see
core/api/ratelimit.py). In embedded mode the worker and scheduler stay in this one supervising process.
"""

from __future__ import annotations

import typer

from core.cli.common import console, state


def serve(
    host: str | None = typer.Option(None, "--host", help="address to bind (default: server.host, 127.0.0.1)"),
    port: int | None = typer.Option(None, "--port", min=0, max=65535, help="port (default: server.port, 8000)"),
    workers: int = typer.Option(1, "--workers", min=1, max=64, help="API processes (about one per core)"),
) -> None:
    """Serve the HTTP API (and, without Redis, the worker and scheduler too)."""
    import os

    import uvicorn

    from core import leases, tasks
    from core.api import create_app
    from core.api.app import freeze_heap
    from core.api.server import uvicorn_options

    leases.set_kind("serve")
    app = state.app()
    settings = app.settings
    host = host or settings.server.host
    port = settings.server.port if port is None else port
    embedded = not settings.redis_url
    stop_scheduler = None
    if embedded:
        tasks.start_embedded_worker(app)
        stop_scheduler = _start_scheduler(app)
        console.print("embedded mode: worker" + (" and scheduler" if stop_scheduler else "") + " running in-process")
    else:  # the embedded worker cleans in embedded mode; here the API's own upload leftovers need it
        from core import scratch

        scratch.start_cleaner(app)
    try:
        if workers == 1:
            api = create_app(app)
            freeze_heap()
            uvicorn.run(api, host=host, port=port, **uvicorn_options())
        else:
            if state.config_path:  # the workers are fresh processes: they find the same configuration
                os.environ["CLIPCAST_CONFIG"] = str(state.config_path)
            uvicorn.run(
                "core.api.asgi:app_from_config",
                factory=True,
                workers=workers,
                host=host,
                port=port,
                **uvicorn_options(),
            )
    finally:
        if stop_scheduler:
            stop_scheduler()
        if embedded:
            tasks.stop_embedded_worker()


def _start_scheduler(app):  # type: ignore[no-untyped-def]
    """Start the in-process scheduler when the scheduler module is installed; returns its stop function."""
    try:
        from core import scheduler
    except ImportError:
        console.print("[yellow]no scheduler module installed: scheduled posts will not be dispatched[/yellow]")
        return None
    start = getattr(scheduler, "start_background", None)
    if start is None:
        console.print("[yellow]core.scheduler has no start_background(app): scheduler not started[/yellow]")
        return None
    return start(app)
