"""The egress guard refuses private, loopback, link-local and metadata addresses where the connection is made:
for every redirect hop, for every address a name resolves to, and again at connect time (DNS rebinding).

The "trusted" test server listens on 127.0.0.2, which ``ingest.allowed_networks`` lets through; everything else
on loopback stays refused, so a redirect from it to 127.0.0.1 shows the per-hop check.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from core.app import Clipcast
from core.config import IngestSettings, Settings
from core.egress import EgressRefused, guard_session, guarded_client
from core.errors import InputError
from core.pipeline.ingest import ingest
from core.urls import check_url, refusal_for

PUBLIC = "93.184.216.34"


class _Servers:
    """``inner`` on 127.0.0.1 (refused), ``outer`` on 127.0.0.2 (allowed) redirecting or serving a playlist."""

    def __init__(self) -> None:
        inner_hits: list[str] = []
        self.inner_hits = inner_hits

        class Inner(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                inner_hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Length", "6")
                self.end_headers()
                self.wfile.write(b"secret")

            def log_message(self, *args: Any) -> None:
                pass

        self.inner = ThreadingHTTPServer(("127.0.0.1", 0), Inner)
        inner_url = f"http://127.0.0.1:{self.inner.server_address[1]}"

        class Outer(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/holiday.mp4":  # a "video" that is a playlist of a server path
                    body = b"#EXTM3U\n#EXTINF:9.5,\n/etc/hostname\n#EXT-X-ENDLIST\n"
                    self.send_response(200)
                    self.send_header("Content-Type", "video/mp4")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                if self.path.endswith(".m3u8"):
                    body = f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n{inner_url}/seg0.ts\n#EXT-X-ENDLIST\n"
                    self.send_response(200)
                    self.send_header("Content-Type", "application/vnd.apple.mpegurl")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body.encode())
                    return
                self.send_response(302)
                self.send_header("Location", f"{inner_url}/private.mp4")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.outer = ThreadingHTTPServer(("127.0.0.2", 0), Outer)
        self.outer_url = f"http://127.0.0.2:{self.outer.server_address[1]}"
        for server in (self.inner, self.outer):
            threading.Thread(target=server.serve_forever, daemon=True).start()

    def close(self) -> None:
        for server in (self.inner, self.outer):
            server.shutdown()
            server.server_close()


@pytest.fixture
def servers() -> Iterator[_Servers]:
    s = _Servers()
    yield s
    s.close()


def trusted_outer() -> Settings:
    return Settings(ingest=IngestSettings(allowed_networks=["127.0.0.2/32"], url_extractors=["generic"]))


def test_loopback_is_refused_by_default_and_metadata_always() -> None:
    strict = Settings()
    assert "loopback" in refusal_for(ipaddress.ip_address("127.0.0.1"), "localhost", strict)
    assert "link-local" in refusal_for(ipaddress.ip_address("169.254.1.1"), "x", strict)
    assert "private" in refusal_for(ipaddress.ip_address("10.1.2.3"), "x", strict)
    assert refusal_for(ipaddress.ip_address(PUBLIC), "x", strict) is None
    lax = Settings(ingest=IngestSettings(allow_private_addresses=True))
    assert refusal_for(ipaddress.ip_address("127.0.0.1"), "x", lax) is None
    assert "metadata" in refusal_for(ipaddress.ip_address("169.254.169.254"), "x", lax)
    assert "metadata" in refusal_for(ipaddress.ip_address("::ffff:169.254.169.254"), "x", lax)


def test_httpx_redirect_to_loopback_is_refused_at_the_hop(servers: _Servers) -> None:
    with (
        guarded_client(trusted_outer(), timeout=5) as client,
        pytest.raises(EgressRefused, match=r"127\.0\.0\.1 is a loopback address"),
    ):
        client.get(f"{servers.outer_url}/feed.xml")
    with (
        guarded_client(Settings(), timeout=5) as client,
        pytest.raises(EgressRefused, match=r"127\.0\.0\.2 is a loopback address"),
    ):
        client.get(f"{servers.outer_url}/feed.xml")
    assert servers.inner_hits == []


def test_requests_redirect_to_loopback_is_refused_at_the_hop(servers: _Servers) -> None:
    session = guard_session(requests.Session(), trusted_outer())
    with pytest.raises(EgressRefused, match=r"127\.0\.0\.1 is a loopback address"):
        session.get(f"{servers.outer_url}/hook", timeout=5)
    assert servers.inner_hits == []
    allowed = guard_session(requests.Session(), Settings(ingest=IngestSettings(allowed_networks=["127.0.0.0/8"])))
    assert allowed.get(f"{servers.outer_url}/hook", timeout=5).content == b"secret"  # the guard is the only stop


def _answers(*addresses: str, port: int) -> list[tuple[Any, ...]]:
    return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]


def test_a_name_resolving_public_then_loopback_is_refused(servers: _Servers, monkeypatch: pytest.MonkeyPatch) -> None:
    port = servers.inner.server_address[1]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: _answers(PUBLIC, "127.0.0.1", port=port))
    with pytest.raises(InputError, match=r"feeds.example \(127.0.0.1\) is a loopback address"):
        check_url(f"http://feeds.example:{port}/x", Settings())
    with guarded_client(Settings(), timeout=5) as client, pytest.raises(EgressRefused, match="loopback"):
        client.get(f"http://feeds.example:{port}/x")
    assert servers.inner_hits == []


def test_dns_rebinding_between_the_check_and_the_connection_is_refused(
    servers: _Servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The up-front check sees a public address; the lookup at connect time answers loopback."""
    port = servers.inner.server_address[1]
    calls = []

    def rebinding(*_a: Any, **_k: Any) -> list[tuple[Any, ...]]:
        calls.append(1)
        return _answers(PUBLIC if len(calls) == 1 else "127.0.0.1", port=port)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    url = f"http://rebind.example:{port}/x"
    assert check_url(url, Settings()) == url
    with guarded_client(Settings(), timeout=5) as client, pytest.raises(EgressRefused, match="loopback"):
        client.get(url)
    assert servers.inner_hits == []


@pytest.fixture
def ydl_app(tmp_path: Any) -> Clipcast:
    settings = trusted_outer()
    settings.data_dir = tmp_path / "data"
    return Clipcast(settings)


def test_yt_dlp_redirect_to_loopback_is_refused(servers: _Servers, ydl_app: Clipcast) -> None:
    with pytest.raises(EgressRefused, match=r"127\.0\.0\.1 is a loopback address"):
        ingest(ydl_app, f"{servers.outer_url}/video.mp4")
    assert servers.inner_hits == []


def test_yt_dlp_hls_segments_on_loopback_are_refused(servers: _Servers, ydl_app: Clipcast) -> None:
    with pytest.raises(EgressRefused, match=r"127\.0\.0\.1 is a loopback address"):
        ingest(ydl_app, f"{servers.outer_url}/live.m3u8")
    assert servers.inner_hits == []


def test_a_downloaded_playlist_named_like_a_video_is_refused(servers: _Servers, ydl_app: Clipcast) -> None:
    with pytest.raises(InputError, match="is an HLS/M3U playlist, not a video file"):
        ingest(ydl_app, f"{servers.outer_url}/holiday.mp4")
