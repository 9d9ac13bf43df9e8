"""How the API is served: the uvicorn options that ``clipcast serve`` and the benches share.

Why the asyncio event loop and not uvloop: under load, uvloop serves requests out of arrival order when each
takes a millisecond or more of CPU (every real route here does), so some wait two rounds of the queue. With 50
requests in flight on one process, measured with bench/api_load.py's clients: a 1 ms handler's p99 was 110 ms on
uvloop against 60 ms on asyncio, a 3 ms handler's 305 ms against 162 ms, at the same requests/s. uvloop only
wins on trivial routes (a 0 ms handler: 21,000 against 13,600 requests/s), which is ``/healthz``, not the work.
httptools stays: it parses HTTP in C whichever loop runs it.

Why ``HttpToolsNoDelay``: asyncio turns Nagle's algorithm off only on sockets it creates itself. With
``--workers N`` uvicorn binds the listening socket (protocol number 0), so asyncio left Nagle on, and every
response written in two parts waited for the client's delayed ACK: a 44 ms floor on every request of the
2-process run (``/healthz`` at 1,100 requests/s, p50 44 ms). uvloop sets TCP_NODELAY itself; here the protocol does.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class HttpToolsNoDelay(HttpToolsProtocol):
    """uvicorn's httptools protocol with TCP_NODELAY on every TCP connection (module docstring)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)


#: uvicorn's ``loop`` setting for every API process (see the module docstring).
LOOP = "asyncio"
#: uvicorn's ``http`` setting: the C parser, with Nagle off.
HTTP = f"{__name__}:HttpToolsNoDelay"


def uvicorn_options(loop: str = LOOP) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run`` / ``uvicorn.Config`` besides the app, host, port and workers.

    ``log_config=None`` keeps Clipcast's own logging. ``proxy_headers=False``: forwarded headers are not trusted,
    because the client address keys the login rate limit and a header must not choose it (docs/api.md).
    """
    return {"loop": loop, "http": HTTP, "log_config": None, "proxy_headers": False}


__all__ = ["HTTP", "LOOP", "HttpToolsNoDelay", "uvicorn_options"]
