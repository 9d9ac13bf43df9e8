"""Helpers for publishing tests: an app with a secret key and publisher options, a rendered clip, an account."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from clipcast import testing as clipcast_testing
from core import accounts
from core.app import Clipcast
from core.config import IngestSettings, Settings
from core.models import Clip, ClipStatus, Video

SECRET_KEY = "test-secret-key-that-is-long-enough"


#: The fakes listen on loopback: these tests let the egress guard through to it explicitly (its own tests, in
#: tests/test_egress.py, check that loopback is refused by default).
LOOPBACK = IngestSettings(allowed_networks=["127.0.0.0/8", "::1/128"])


def make_app(tmp_path: Path, publishers: dict[str, Any], **extra: Any) -> Clipcast:
    extra.setdefault("ingest", LOOPBACK)
    settings = Settings(
        data_dir=tmp_path / "data", output_dir=tmp_path / "clips", secret_key=SECRET_KEY, publishers=publishers, **extra
    )
    return Clipcast(settings)


def vertical_video(
    dest: Path, *, seconds: float = 2.0, width: int = 360, height: int = 640, noise: bool = False
) -> Path:
    """A tiny real H.264/AAC MP4 (test pattern + tone); ``noise`` makes it big (~3.4 MB per second)."""
    if not dest.exists():
        if noise:
            source = f"nullsrc=size={width}x{height}:rate=30:duration={seconds},geq=random(1)*255:128:128"
            subprocess.run(
                ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", source, "-f", "lavfi", "-i",
                 f"sine=frequency=440:duration={seconds}", "-c:v", "libx264", "-preset", "ultrafast",
                 "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(dest)],
                check=True,
            )  # fmt: skip
            return dest
        return clipcast_testing.vertical_video(dest, seconds=seconds, width=width, height=height)
    return dest


def make_clip(
    app: Clipcast,
    video: Path,
    *,
    title: str = "A test clip",
    caption: str = "Watch this",
    hashtags: list[str] | None = None,
    duration: float = 2.0,
) -> int:
    key = f"renders/test/{video.stem}.mp4"
    app.storage.put_file(key, video)
    with app.session() as s:
        v = Video(source=str(video), storage_key=key, sha256=video.stem, duration=duration)
        s.add(v)
        s.flush()
        clip = Clip(
            video_id=v.id,
            start=0,
            end=duration,
            title=title,
            caption=caption,
            hashtags=hashtags or ["test"],
            status=ClipStatus.RENDERED,
            video_key=key,
            rendered_duration=duration,
        )
        s.add(clip)
        s.flush()
        return clip.id


def make_account(app: Clipcast, platform: str, token: dict[str, Any], **kw: Any) -> int:
    return accounts.save_connection(app, platform, token, **kw).id


def reset_logging() -> None:
    """Undo ``core.logging.configure`` (tests that run the CLI point it at streams that close afterwards)."""
    import logging

    import structlog

    structlog.reset_defaults()
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_clipcast", False):
            root.removeHandler(handler)
