"""A small argv-building wrapper around the ``ffmpeg``/``ffprobe`` binaries.

Every call has a timeout (seconds) and can be cancelled: ``run`` polls ``reporter.check_cancelled`` while the
process runs and kills it on cancel. Progress comes from ``-progress pipe:1`` (``out_time_us``) against the
expected output duration. Every input is opened with ``-protocol_whitelist file,pipe``: an input never makes
ffmpeg reach the network or another protocol (which inputs are media at all is ``core.media.sniff``'s job).
"""

from __future__ import annotations

import ctypes
import json
import shutil
import signal
import subprocess
import threading
import time
from collections import deque
from fractions import Fraction
from pathlib import Path
from typing import Any

from core.contracts import MediaInfo
from core.errors import ClipcastError, InputError
from core.progress import NullReporter, Reporter


class FFmpegError(ClipcastError):
    """ffmpeg failed; the message carries the last lines of its stderr."""


class FFmpegTimeout(FFmpegError):
    pass


def binary(name: str) -> str:
    path = shutil.which(name)
    if not path:
        raise ClipcastError(f"{name} is not installed", "install ffmpeg (Debian: apt-get install ffmpeg)")
    return path


def _prctl() -> Any:
    """libc's ``prctl``, looked up in the parent (a ``dlopen`` in the forked child could deadlock on a lock
    another thread held at the fork); None off Linux."""
    global _PRCTL
    if _PRCTL is None:
        try:
            _PRCTL = ctypes.CDLL(None).prctl
        except (OSError, AttributeError):
            _PRCTL = False
    return _PRCTL or None


_PRCTL: Any = None


def _die_with_parent() -> None:
    """In the forked child: SIGKILL when the parent dies (Linux ``PR_SET_PDEATHSIG``), so a killed worker's
    encode stops with it instead of running on as an orphan that writes into a dead job's scratch."""
    prctl = _PRCTL
    if prctl:
        prctl(1, signal.SIGKILL, 0, 0, 0)


def run(
    args: list[str],
    *,
    timeout: float = 3600,
    duration: float | None = None,
    reporter: Reporter | None = None,
    what: str = "ffmpeg",
) -> None:
    """Run ``ffmpeg <args>`` (argv list, no shell). ``duration`` (s) of the output enables percent progress."""
    reporter = reporter or NullReporter()
    cmd = [binary("ffmpeg"), "-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-progress", "pipe:1"]
    cmd += with_whitelist(args)
    _prctl()  # looked up here, not in the child
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_die_with_parent)
    stderr_tail: deque[str] = deque(maxlen=20)

    def drain_stderr() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            stderr_tail.append(line.rstrip())

    t = threading.Thread(target=drain_stderr, daemon=True)
    t.start()
    deadline = time.monotonic() + timeout
    killed_for: str | None = None

    def watchdog() -> None:
        nonlocal killed_for
        while proc.poll() is None:
            if time.monotonic() > deadline:
                killed_for = "timeout"
                proc.kill()
                return
            try:
                reporter.check_cancelled()
            except Exception:
                killed_for = "cancelled"
                proc.kill()
                return
            time.sleep(0.25)

    w = threading.Thread(target=watchdog, daemon=True)
    w.start()
    assert proc.stdout is not None
    for line in proc.stdout:
        key, _, value = line.strip().partition("=")
        if key == "out_time_us" and duration and value.isdigit():
            reporter.progress(min(100.0, int(value) / 1e6 / duration * 100), what)
    proc.wait()
    w.join(timeout=1)
    t.join(timeout=1)
    if killed_for == "timeout":
        raise FFmpegTimeout(f"{what} took longer than {timeout:.0f} s and was stopped")
    if killed_for == "cancelled":
        reporter.check_cancelled()  # re-raises the Cancelled the reporter signals
    if proc.returncode != 0:
        tail = "\n".join(stderr_tail) or f"exit code {proc.returncode}"
        raise FFmpegError(f"{what} failed: {tail}")
    reporter.progress(100.0, what)


#: Input option that limits what an input may open (``file``: local files; ``pipe``: stdin/stdout).
PROTOCOLS = ["-protocol_whitelist", "file,pipe"]


def with_whitelist(args: list[str]) -> list[str]:
    """``args`` with ``PROTOCOLS`` before every ``-i`` that does not already follow one."""
    out: list[str] = []
    for i, arg in enumerate(args):
        if arg == "-i" and "-protocol_whitelist" not in args[max(0, i - 4) : i]:
            out += PROTOCOLS
        out.append(arg)
    return out


def probe(path: Path, timeout: float = 60, *, fmt: str | None = None) -> MediaInfo:
    """ffprobe a file (``fmt``: force that demuxer). Raises ``InputError`` when it is not readable media."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path} does not exist or is not a file")
    size = path.stat().st_size
    if size == 0:
        raise InputError(f"{path.name} is empty (0 bytes)")
    cmd = [binary("ffprobe"), "-v", "error", *PROTOCOLS, *(["-f", fmt] if fmt else [])]
    cmd += ["-print_format", "json", "-show_format", "-show_streams", "-i", str(path)]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise InputError(f"{path.name}: ffprobe did not finish within {timeout:.0f} s; the file may be corrupt")
    if res.returncode != 0:
        detail = (res.stderr.strip().splitlines() or ["unknown error"])[-1].replace(str(path), path.name)
        raise InputError(
            f"{path.name} is not a readable video or audio file ({detail})",
            "check that the file is a complete video (MP4, MOV, MKV, WebM...) and not truncated",
        )
    data = json.loads(res.stdout or "{}")
    fmt = data.get("format", {})
    streams = data.get("streams", [])
    video = next(
        (s for s in streams if s.get("codec_type") == "video" and not s.get("disposition", {}).get("attached_pic")),
        None,
    )
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    duration = _float(fmt.get("duration")) or max((_float(s.get("duration")) or 0.0 for s in streams), default=0.0)
    fps = None
    rotation = 0
    if video:
        rate = video.get("avg_frame_rate") or video.get("r_frame_rate") or "0/0"
        try:
            fps = float(Fraction(rate)) if not rate.endswith("/0") else None
        except (ValueError, ZeroDivisionError):
            fps = None
        for side in video.get("side_data_list", []) or []:
            if "rotation" in side:
                rotation = int(side["rotation"])
        rotation = int(video.get("tags", {}).get("rotate", rotation))
    return MediaInfo(
        duration=duration or 0.0,
        size_bytes=size,
        format_name=fmt.get("format_name", ""),
        width=video.get("width") if video else None,
        height=video.get("height") if video else None,
        fps=fps,
        video_codec=video.get("codec_name") if video else None,
        audio_codec=audio.get("codec_name") if audio else None,
        audio_sample_rate=int(audio["sample_rate"]) if audio and audio.get("sample_rate") else None,
        audio_channels=audio.get("channels") if audio else None,
        rotation=rotation,
    )


def _float(value: object) -> float | None:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def extract_audio(
    src: Path, dest: Path, *, timeout: float = 1800, reporter: Reporter | None = None, duration: float | None = None
) -> Path:
    """Write 16 kHz mono 16-bit PCM WAV (what speech-to-text wants)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".part.wav")
    run(
        ["-i", str(src), "-vn", "-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le", str(tmp)],
        timeout=timeout,
        duration=duration,
        reporter=reporter,
        what="audio extraction",
    )
    tmp.replace(dest)
    return dest
