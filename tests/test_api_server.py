"""The serving loop answers requests in the order they came (core.api.server): under load with millisecond
handlers, nobody waits two rounds of the queue. A real uvicorn with ``clipcast serve``'s options, clients in
another process; order is judged by send times on the shared monotonic clock, not by durations."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time

import uvicorn

from core.api.server import uvicorn_options

CLIENTS = 30
EACH = 8

#: Keep-alive clients; each request carries its send time (CLOCK_MONOTONIC, shared by the processes).
CLIENT = r"""
import asyncio, sys, time

async def one(port, n):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for _ in range(n):
        writer.write(f"GET / HTTP/1.1\r\nHost: t\r\nX-Sent: {time.monotonic()!r}\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        await reader.readexactly(int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0]))
    writer.close()

async def main(port, clients, each):
    await asyncio.gather(*(one(port, each) for _ in range(clients)))

asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])))
"""


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_requests_are_served_in_the_order_they_were_sent():
    handled: list[float] = []

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            return
        sent = dict(scope["headers"]).get(b"x-sent")
        handled.append(float(sent))
        until = time.perf_counter() + 0.002  # a route's worth of CPU
        while time.perf_counter() < until:
            pass
        body = json.dumps({"ok": True}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    port = _port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, access_log=False, **uvicorn_options()))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.02)
        subprocess.run([sys.executable, "-c", CLIENT, str(port), str(CLIENTS), str(EACH)], check=True, timeout=120)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert len(handled) == CLIENTS * EACH
    # For each request: how many sent after it were served before it. In arrival order that is at most the few
    # that arrived in the same poll as it; out of order (uvloop, measured) it reaches most of the queue.
    overtaken = [sum(1 for later in handled[:i] if later > sent) for i, sent in enumerate(handled)]
    assert max(overtaken) < CLIENTS // 3, sorted(overtaken)[-10:]


def test_connections_on_a_pre_bound_socket_have_nagle_off():
    """``--workers N`` hands uvicorn a socket it bound itself (protocol 0), where asyncio leaves Nagle on."""
    import socket as sockets

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    listener = sockets.socket(sockets.AF_INET)  # as uvicorn's Config.bind_socket makes it
    listener.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, access_log=False, **uvicorn_options()))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.02)
        with sockets.create_connection(listener.getsockname()) as client:
            client.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            assert client.recv(100).startswith(b"HTTP/1.1 204")
            (protocol,) = server.server_state.connections
            sock = protocol.transport.get_extra_info("socket")
            assert sock.getsockopt(sockets.IPPROTO_TCP, sockets.TCP_NODELAY)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
