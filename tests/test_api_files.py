"""Signed local-storage URLs: what Instagram and webhook receivers fetch when storage is local."""

from __future__ import annotations

import io
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from api_support import client

from core.app import Clipcast
from core.config import ServerSettings, Settings
from core.keys import sign


def test_signed_url_serves_the_file_and_refuses_forgeries(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "d",
        secret_key="s" * 40,
        server=ServerSettings(public_base_url="https://clips.example.org"),
    )
    app = Clipcast(settings)
    app.storage.put_stream("renders/1/clip.mp4", io.BytesIO(b"video bytes"))
    url = app.storage.url("renders/1/clip.mp4", expires=60)
    assert url is not None and url.startswith("https://clips.example.org/files/renders/1/clip.mp4?")
    parts = urlsplit(url)
    http = client(app)
    ok = http.get(f"{parts.path}?{parts.query}")
    assert ok.status_code == 200 and ok.content == b"video bytes"

    query = parse_qs(parts.query)
    expires = int(query["expires"][0])
    assert http.get(f"{parts.path}?expires={expires + 1}&sig={query['sig'][0]}").status_code == 403
    other = sign("renders/2/clip.mp4", expires, "s" * 40)
    assert http.get(f"/files/renders/1/clip.mp4?expires={expires}&sig={other}").status_code == 403
    past = int(time.time()) - 5
    assert (
        http.get(
            f"/files/renders/1/clip.mp4?expires={past}&sig={sign('renders/1/clip.mp4', past, 's' * 40)}"
        ).status_code
        == 403
    )
    assert http.get("/files/../etc/passwd?expires=1&sig=x").status_code in (403, 404)


def test_no_url_without_a_public_base_or_secret(tmp_path: Path) -> None:
    app = Clipcast(Settings(data_dir=tmp_path / "d", server=ServerSettings(public_base_url="https://x.example")))
    app.storage.put_stream("a/b.mp4", io.BytesIO(b"x"))
    assert app.storage.url("a/b.mp4") is None
    assert client(app).get("/files/a/b.mp4?expires=9999999999&sig=abc").status_code == 403
