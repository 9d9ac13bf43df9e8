"""The egress guard: every outbound connection Clipcast makes is checked when it is made.

``connect`` resolves the host, refuses the connection when ANY of its addresses is refused by
``core.urls.refusal_for`` (private, loopback, link-local, reserved, metadata; ``ingest.allow_private_addresses``
and ``ingest.allowed_networks`` let chosen ones through), and then connects to one of the addresses it checked,
so a name cannot resolve to something else between the check and the connection (DNS rebinding). Because the
check sits where the socket is opened, it covers every redirect hop and every playlist segment, not only the
URL a user typed. Three adapters route the clients Clipcast uses through it:

- ``guarded_client``: an httpx client whose connection pool opens sockets through ``connect`` (feeds).
- ``guard_session``: mounts a requests adapter whose urllib3 connections do the same (publishers, webhooks).
- ``ydl_guard``: yt-dlp options that send every request through a small CONNECT/HTTP proxy on loopback which
  opens its upstream sockets through ``connect`` (yt-dlp has several HTTP backends; a proxy is the one setting
  all of them honour). Native HLS/DASH downloading is forced, so no external program fetches segments.

Proxy settings from the environment are ignored by these clients: the guard is the connection.
"""

from __future__ import annotations

import contextlib
import ipaddress
import selectors
import socket
import socketserver
import threading
from collections.abc import Iterator
from typing import Any

from core.errors import InputError
from core.urls import refusal_for

__all__ = ["EgressRefused", "connect", "guard_session", "guarded_client", "resolve_checked", "ydl_guard"]


class EgressRefused(InputError):
    """An outbound connection to a refused address was stopped before it was made."""


def resolve_checked(host: str, port: int, settings: Any) -> list[tuple[Any, ...]]:
    """Every ``getaddrinfo`` answer for ``host``, after checking that each one may be reached."""
    host = host.strip("[]").rstrip(".")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)  # looked up now, at connect time
    except (socket.gaierror, UnicodeError) as exc:
        raise EgressRefused(f"cannot resolve {host!r} ({exc})", "check the address for typos")
    if not infos:
        raise EgressRefused(f"{host!r} resolves to no address")
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        why = refusal_for(address, host, settings)
        if why:
            raise EgressRefused(
                f"connection refused by the egress guard: {why}",
                "set ingest.allowed_networks (or allow_private_addresses for trusted test setups) to allow it",
            )
    return infos


def connect(
    host: str, port: int, settings: Any, *, timeout: float | None = None, source_address: Any = None
) -> socket.socket:
    """A connected TCP socket to ``host:port`` if every address of ``host`` may be reached."""
    last: OSError | None = None
    for family, type_, proto, _name, sockaddr in resolve_checked(host, port, settings):
        sock = socket.socket(family, type_, proto)
        try:
            if timeout is not None:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)  # the checked address itself: no second lookup
            return sock
        except OSError as exc:
            sock.close()
            last = exc
    assert last is not None
    raise last


# ---------------------------------------------------------------------------------------------------- httpx


def guarded_client(settings: Any, **kwargs: Any) -> Any:
    """An ``httpx.Client`` (redirects followed, each hop's connection guarded)."""
    import httpcore
    import httpx
    from httpcore._backends.sync import SyncStream

    class Backend(httpcore.SyncBackend):
        def connect_tcp(
            self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
            socket_options: Any = None,
        ) -> Any:  # fmt: skip
            try:
                source = (local_address, 0) if local_address else None
                sock = connect(host, port, settings, timeout=timeout, source_address=source)
            except TimeoutError as exc:
                raise httpcore.ConnectTimeout(str(exc)) from exc
            except EgressRefused:
                raise
            except OSError as exc:
                raise httpcore.ConnectError(str(exc)) from exc
            for option in socket_options or []:
                sock.setsockopt(*option)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return SyncStream(sock)

    transport = httpx.HTTPTransport()
    transport._pool._network_backend = Backend()  # the pool's only way to open sockets
    return httpx.Client(transport=transport, follow_redirects=True, trust_env=False, **kwargs)


# -------------------------------------------------------------------------------------------------- requests


def guard_session(session: Any, settings: Any) -> Any:
    """Mount guarded adapters on a ``requests.Session`` for http and https; returns the session."""
    from requests.adapters import HTTPAdapter
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    def new_conn(self: Any) -> socket.socket:
        timeout = self.timeout if isinstance(self.timeout, int | float) else None
        sock = connect(self._dns_host, self.port, settings, timeout=timeout, source_address=self.source_address)
        for option in self.socket_options or []:
            sock.setsockopt(*option)
        return sock

    http_conn = type("GuardedHTTPConnection", (HTTPConnection,), {"_new_conn": new_conn})
    https_conn = type("GuardedHTTPSConnection", (HTTPSConnection,), {"_new_conn": new_conn})
    http_pool = type("GuardedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn})
    https_pool = type("GuardedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn})

    class Adapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = {"http": http_pool, "https": https_pool}

    session.trust_env = False
    session.mount("http://", Adapter())
    session.mount("https://", Adapter())
    return session


# --------------------------------------------------------------------------------------------------- yt-dlp


class _ProxyHandler(socketserver.BaseRequestHandler):
    server: _Proxy

    def handle(self) -> None:
        client = self.request
        client.settimeout(60)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(65536)
            if not chunk or len(head) > 65536:
                return
            head += chunk
        head, _, rest = head.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        try:
            method, target, version = lines[0].split(" ", 2)
            if method == "CONNECT":
                host, _, port = target.rpartition(":")
                upstream = self._open(host, int(port))
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            else:
                from urllib.parse import urlsplit

                parts = urlsplit(target)
                if parts.scheme != "http" or not parts.hostname:
                    raise EgressRefused(f"the proxy only forwards http:// requests, not {parts.scheme or target!r}")
                upstream = self._open(parts.hostname, parts.port or 80)
                path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
                headers = [h for h in lines[1:] if not h.lower().startswith(("proxy-", "connection:"))]
                request = "\r\n".join([f"{method} {path} {version}", *headers, "Connection: close", "", ""])
                upstream.sendall(request.encode("latin-1") + rest)
                rest = b""
        except EgressRefused as exc:
            self.server.refusals.append(exc)
            client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        except (OSError, ValueError):
            client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        with upstream:
            if rest:
                upstream.sendall(rest)
            _pipe(client, upstream)

    def _open(self, host: str, port: int) -> socket.socket:
        return connect(host, port, self.server.settings, timeout=30)


def _pipe(a: socket.socket, b: socket.socket) -> None:
    """Copy bytes both ways until either side closes."""
    sel = selectors.DefaultSelector()
    sel.register(a, selectors.EVENT_READ, b)
    sel.register(b, selectors.EVENT_READ, a)
    try:
        while True:
            for key, _ in sel.select(timeout=120) or [(None, None)]:
                if key is None:
                    return
                data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                if not data:
                    return
                key.data.sendall(data)
    except OSError:
        return
    finally:
        sel.close()


class _Proxy(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, settings: Any) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.settings = settings
        self.refusals: list[EgressRefused] = []


@contextlib.contextmanager
def ydl_guard(settings: Any, options: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """``options`` with every yt-dlp request sent through a guarded proxy that lives for the ``with`` block.

    A refused connection ends the block with the guard's ``EgressRefused`` (yt-dlp's own error for it, a 403
    from the proxy, would not say why)."""
    proxy = _Proxy(settings)
    thread = threading.Thread(target=proxy.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    guarded = options | {
        "proxy": f"http://127.0.0.1:{proxy.server_address[1]}",
        "external_downloader": {"default": "native"},
        "hls_prefer_native": True,
    }
    try:
        yield guarded
    except Exception:
        if proxy.refusals:
            raise proxy.refusals[0] from None
        raise
    finally:
        proxy.shutdown()
        proxy.server_close()
    if proxy.refusals:
        raise proxy.refusals[0]
