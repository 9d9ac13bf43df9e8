"""How the API is served: the uvicorn options that ``clipcast serve`` and the benches share.

Why the asyncio event loop and not uvloop: under load, uvloop serves requests out of arrival order when each
takes a millisecond or more of CPU (every real route here does), so some wait two rounds of the queue. With 50
requests in flight on one process, measured with bench/api_load.py's clients: a 1 ms handler's p99 was 110 ms on
uvloop against 60 ms on asyncio, a 3 ms handler's 305 ms against 162 ms, at the same requests/s. uvloop only
wins on trivial routes (a 0 ms handler: 21,000 against 13,600 requests/s), which is ``/healthz``, not the work.
httptools stays: it parses HTTP in C whichever loop runs it.
"""

from __future__ import annotations

from typing import Any

#: uvicorn's ``loop`` setting for every API process (see the module docstring).
LOOP = "asyncio"
#: uvicorn's ``http`` setting: the C parser.
HTTP = "httptools"


def uvicorn_options(loop: str = LOOP) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run`` / ``uvicorn.Config`` besides the app, host, port and workers.

    ``log_config=None`` keeps Clipcast's own logging. ``proxy_headers=False``: forwarded headers are not trusted,
    because the client address keys the login rate limit and a header must not choose it (docs/api.md).
    """
    return {"loop": loop, "http": HTTP, "log_config": None, "proxy_headers": False}


__all__ = ["HTTP", "LOOP", "uvicorn_options"]
