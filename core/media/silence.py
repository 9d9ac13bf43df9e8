"""Silence detection from the audio level (ffmpeg ``silencedetect``)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from core.media.ffmpeg import FFmpegError, binary

_START = re.compile(r"silence_start: (-?[\d.]+)")
_END = re.compile(r"silence_end: (-?[\d.]+)")


def detect_silences(
    path: Path,
    *,
    noise_db: float = -35.0,
    min_duration: float = 0.5,
    start: float = 0.0,
    duration: float | None = None,
    timeout: float = 600,
) -> list[tuple[float, float]]:
    """Silent stretches ``(start, end)`` in seconds of the file, quieter than ``noise_db`` dBFS for at least
    ``min_duration`` s. ``start``/``duration`` limit the scan to a window (times stay absolute)."""
    cmd = [binary("ffmpeg"), "-hide_banner", "-nostdin"]
    if start:
        cmd += ["-ss", f"{start:.3f}"]
    if duration:
        cmd += ["-t", f"{duration:.3f}"]
    cmd += ["-i", str(path), "-vn", "-af", f"silencedetect=noise={noise_db}dB:d={min_duration}", "-f", "null", "-"]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise FFmpegError(f"silence detection took longer than {timeout:.0f} s")
    if res.returncode != 0:
        raise FFmpegError(f"silence detection failed: {res.stderr.strip()[-500:]}")
    out: list[tuple[float, float]] = []
    current: float | None = None
    for line in res.stderr.splitlines():
        if m := _START.search(line):
            current = max(0.0, float(m.group(1))) + start
        elif (m := _END.search(line)) and current is not None:
            out.append((current, float(m.group(1)) + start))
            current = None
    if current is not None:
        end = start + duration if duration else None
        if end is None:
            from core.media.ffmpeg import probe

            end = probe(path).duration
        out.append((current, end))
    return out
