"""A gunicorn worker class that serves the API the way ``clipcast serve`` does (``core.api.server``)::

    CLIPCAST_CONFIG=/etc/clipcast.yaml gunicorn -k core.api.gunicorn_worker.Worker -w 4 \\
        -b 127.0.0.1:8000 'core.api.asgi:app_from_config()'

uvicorn's own ``UvicornWorker`` takes uvloop when installed (out-of-order service under load) and otherwise
asyncio with Nagle left on for gunicorn's sockets (a 44 ms floor per request); this one takes neither. Imported
only by gunicorn, which Clipcast does not require.
"""

from __future__ import annotations

from typing import Any

from uvicorn.workers import UvicornWorker

from core.api.server import HTTP, LOOP


class Worker(UvicornWorker):
    """``UvicornWorker`` with Clipcast's event loop and HTTP protocol."""

    CONFIG_KWARGS: dict[str, Any] = {"loop": LOOP, "http": HTTP}
