"""Uploads stream from the socket into ingest: the stored file is the uploaded file, memory stays flat whatever the
size, a broken body is a 400, and nothing is left behind."""

from __future__ import annotations

import hashlib
import tracemalloc

import httpx
import pytest
from api_support import ThreadedServer, client, error_of, make_user
from sqlmodel import select

from core.models import Video


@pytest.fixture
def alice(app):
    return make_user(app, "alice@example.com")


def test_upload_is_stored_byte_for_byte_and_leaves_no_temporary_files(app, alice, talk_video):
    api = client(app)
    with open(talk_video, "rb") as f:
        r = api.post("/api/videos", files={"file": ("talk.mp4", f, "video/mp4")}, data={"analyze": "false"},
                     headers=alice.headers)  # fmt: skip
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["job"] is None and body["video"]["source_kind"] == "upload"
    digest = hashlib.sha256(talk_video.read_bytes()).hexdigest()
    assert body["video"]["sha256"] == digest
    with app.session() as s:
        video = s.get(Video, body["video"]["id"])
    stored = app.storage.local_path(video.storage_key)
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == digest
    tmp = app.settings.data_dir / "tmp"
    assert not tmp.exists() or list(tmp.iterdir()) == []
    # the same file again is the same video (dedupe by sha256 per user)
    with open(talk_video, "rb") as f:
        again = api.post("/api/videos", files={"file": ("copy.mp4", f, "video/mp4")}, data={"analyze": "false"},
                         headers=alice.headers)  # fmt: skip
    assert again.json()["video"]["id"] == body["video"]["id"]


def test_malformed_multipart_is_400(app, alice):
    api = client(app)
    headers = {**alice.headers, "Content-Type": "multipart/form-data"}
    r = api.post("/api/videos", content=b"--x\r\nnonsense", headers=headers)
    assert r.status_code == 400 and "boundary" in error_of(r)["message"]
    headers["Content-Type"] = "multipart/form-data; boundary=XYZ"
    r = api.post(
        "/api/videos", content=b'--XYZ\r\nContent-Disposition: form-data; name="file"\r\n\r\nabc', headers=headers
    )
    assert r.status_code == 400 and "truncated" in error_of(r)["message"], r.text
    part = b'--XYZ\r\nContent-Disposition: form-data; name="file"; filename="%s.mp4"\r\n\r\ndata\r\n'
    two = part % b"a" + part % b"b" + b"--XYZ--\r\n"
    r = api.post("/api/videos", content=two, headers=headers)
    assert r.status_code == 400 and "more than one `file`" in error_of(r)["message"]
    with app.session() as s:
        assert s.exec(select(Video)).all() == []


class Generated:
    """``size`` bytes made on demand (never all in memory), read like a file."""

    def __init__(self, size: int) -> None:
        self.left = size

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        self.left -= n
        return b"\0" * n


@pytest.mark.slow
def test_upload_memory_stays_flat(app, alice):
    size = 96 * 1024 * 1024
    with ThreadedServer(app) as server, httpx.Client(base_url=server.url, timeout=120) as http:
        tracemalloc.start()
        try:
            r = http.post("/api/videos", files={"file": ("big.mp4", Generated(size), "video/mp4")},
                          data={"analyze": "false"}, headers=alice.headers)  # fmt: skip
            _now, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    # all 96 MB went through (ingest then refused the zeros as not a video) with a few MB at most in memory
    assert r.status_code == 400 and "big.mp4" in error_of(r)["message"], r.text
    print(f"upload of {size / 1e6:.0f} MB: peak traced memory {peak / 1e6:.1f} MB")
    assert peak < 16 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB for a {size / 1e6:.0f} MB upload"
    tmp = app.settings.data_dir / "tmp"
    assert not tmp.exists() or list(tmp.iterdir()) == []


def _storage_files(app) -> list:
    root = app.settings.data_dir
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix not in (".db", ".db-journal", ".db-wal"))


@pytest.mark.parametrize(
    ("name", "body", "what"),
    [
        # Reproduction 3: a 220-byte HLS playlist named like a video, listing another user's original.
        (
            "holiday.mp4",
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:9.5,\n"
            "{victim}\n#EXT-X-ENDLIST\n",
            "an HLS/M3U playlist",
        ),
        ("cut.mp4", "ffconcat version 1.0\nfile '{victim}'\n", "an ffmpeg concat list"),
        ("frames.mp4", "\ufeff  #EXTM3U\n{victim}\n", "an HLS/M3U playlist"),
    ],
)
def test_a_playlist_or_list_named_like_a_video_is_refused_before_ffmpeg_reads_it(app, alice, name, body, what):
    victim = app.settings.data_dir / "storage" / "videos" / "ab" / ("ab" * 32) / "original.mp4"
    victim.parent.mkdir(parents=True)
    from fakes.publish_env import vertical_video

    vertical_video(victim)
    payload = body.format(victim=victim).encode()
    if name == "holiday.mp4":
        payload = payload.ljust(220, b"#")[:220] if len(payload) <= 220 else payload
    before = _storage_files(app)
    r = client(app).post("/api/videos", files={"file": (name, payload, "video/mp4")}, data={"analyze": "false"},
                         headers=alice.headers)  # fmt: skip
    assert r.status_code == 400, r.text
    assert error_of(r)["message"].startswith(f"{name} is {what}, not a video file")
    assert _storage_files(app) == before  # nothing stored, no temporary file left
    with app.session() as s:
        assert list(s.exec(select(Video))) == []
