"""A tiny real vertical MP4 for publisher tests."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


def vertical_video(dest: Path, *, seconds: float = 2.0, width: int = 360, height: int = 640) -> Path:
    """An H.264/AAC MP4 (test pattern and a tone) at ``dest``; skips when ffmpeg is absent."""
    if not shutil.which("ffmpeg"):
        pytest.skip("ffmpeg is needed to make the test video")
    if not dest.exists():
        picture = f"testsrc=size={width}x{height}:rate=30:duration={seconds}"
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", picture, "-f", "lavfi", "-i",
             f"sine=frequency=440:duration={seconds}", "-c:v", "libx264", "-preset", "ultrafast",
             "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", "-movflags", "+faststart", str(dest)],
            check=True,
            capture_output=True,
        )  # fmt: skip
    return dest
