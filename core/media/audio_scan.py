"""Audio level scans with ffmpeg, in one decode of the wanted window: quiet stretches (``silencedetect``) and
integrated loudness with the sample peak (``ebur128``).

Rendering measures each clip's window first and then applies one fixed gain (see ``normalising_gain``): the
two-pass, linear way to reach a loudness target. It keeps the speaker's dynamics as they are, where ffmpeg's
one-pass ``loudnorm`` rides the gain up and down, and it costs less (``loudnorm`` resamples to 192 kHz).
"""

from __future__ import annotations

import math
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.media.ffmpeg import FFmpegError, binary

_START = re.compile(r"silence_start: (-?[\d.]+)")
_END = re.compile(r"silence_end: (-?[\d.]+)")
_INTEGRATED = re.compile(r"^\s*I:\s+(-?[\d.]+|-inf) LUFS", re.MULTILINE)
_PEAK = re.compile(r"^\s*Peak:\s+(-?[\d.]+|-inf) dBFS", re.MULTILINE)

#: ebur128 reports this (its absolute gate) for audio too quiet to measure.
UNMEASURABLE_LUFS = -70.0


@dataclass(frozen=True)
class AudioScan:
    """What one scan found; times are seconds in the file, levels in LUFS / dBFS."""

    silences: list[tuple[float, float]] = field(default_factory=list)
    loudness_lufs: float | None = None  # integrated, gated (EBU R128); None = not measured or silent
    peak_db: float | None = None  # highest sample, dBFS


def scan_audio(
    path: Path,
    *,
    start: float = 0.0,
    duration: float | None = None,
    silences: bool = True,
    loudness: bool = False,
    noise_db: float = -35.0,
    min_duration: float = 0.5,
    timeout: float = 600,
) -> AudioScan:
    """Scan ``path`` (only ``start``..``start + duration`` when given; times stay absolute) for silences quieter
    than ``noise_db`` dBFS lasting ``min_duration`` s and/or for loudness."""
    filters = []
    if silences:
        filters.append(f"silencedetect=noise={noise_db}dB:d={min_duration}")
    if loudness:
        filters.append("ebur128=peak=sample")
    if not filters:
        return AudioScan()
    cmd = [binary("ffmpeg"), "-hide_banner", "-nostdin", "-nostats"]
    if start:
        cmd += ["-ss", f"{start:.3f}"]
    if duration:
        cmd += ["-t", f"{duration:.3f}"]
    cmd += ["-i", str(path), "-vn", "-af", ",".join(filters), "-f", "null", "-"]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise FFmpegError(f"scanning the audio of {Path(path).name} took longer than {timeout:.0f} s")
    if res.returncode != 0:
        raise FFmpegError(f"scanning the audio of {Path(path).name} failed: {res.stderr.strip()[-500:]}")
    found = _silences(res.stderr, path, start, duration) if silences else []
    lufs = peak = None
    if loudness:
        summary = res.stderr[res.stderr.rfind("Summary:") :]
        if (m := _INTEGRATED.search(summary)) and m.group(1) != "-inf":
            lufs = float(m.group(1)) if float(m.group(1)) > UNMEASURABLE_LUFS else None
        if (m := _PEAK.search(summary)) and m.group(1) != "-inf":
            peak = float(m.group(1))
    return AudioScan(silences=found, loudness_lufs=lufs, peak_db=peak)


@dataclass(frozen=True)
class Levels:
    """The audio's RMS level every ``hop`` s from ``start`` (s in the file): where filler cuts find quiet
    edges, since recognisers' word times are off by 0.1-0.3 s around fillers."""

    start: float
    hop: float
    rms: np.ndarray

    def quietest(self, a: float, b: float) -> float | None:
        """The time of the quietest hop inside ``[a, b]`` (the middle of the quiet run), or None outside."""
        i0 = max(0, int(np.ceil((a - self.start) / self.hop)))
        i1 = min(len(self.rms), int((b - self.start) / self.hop))
        if i1 <= i0:
            return None
        seg = self.rms[i0:i1]
        quiet = np.flatnonzero(seg <= seg.min() * 1.05 + 1.0)
        # of the quietest hops, the run nearest the middle of [a, b]
        mid = (a + b) / 2
        best = min(quiet, key=lambda i: abs(self.start + (i0 + i + 0.5) * self.hop - mid))
        return self.start + (i0 + best + 0.5) * self.hop


def audio_levels(path: Path, *, start: float, duration: float, hop: float = 0.02, timeout: float = 600) -> Levels:
    """RMS level per ``hop`` s of ``start``..``start + duration`` (mono, 8 kHz: enough to see speech)."""
    rate = 8000
    cmd = [
        binary("ffmpeg"), "-hide_banner", "-nostdin", "-loglevel", "error", "-ss", f"{start:.3f}",
        "-t", f"{duration:.3f}", "-i", str(path), "-vn", "-ac", "1", "-ar", str(rate), "-f", "s16le", "pipe:1",
    ]  # fmt: skip
    try:
        res = subprocess.run(cmd, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise FFmpegError(f"reading the audio of {Path(path).name} took longer than {timeout:.0f} s")
    if res.returncode != 0:
        raise FFmpegError(f"reading the audio of {Path(path).name} failed: {res.stderr.decode()[-500:]}")
    n = round(rate * hop)
    samples = np.frombuffer(res.stdout, np.int16).astype(np.float32)
    frames = samples[: len(samples) // n * n].reshape(-1, n)
    return Levels(start=start, hop=hop, rms=np.sqrt((frames**2).mean(axis=1)) if len(frames) else np.zeros(0))


def _silences(log: str, path: Path, start: float, duration: float | None) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    current: float | None = None
    for line in log.splitlines():
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


def detect_silences(
    path: Path,
    *,
    noise_db: float = -35.0,
    min_duration: float = 0.5,
    start: float = 0.0,
    duration: float | None = None,
    timeout: float = 600,
) -> list[tuple[float, float]]:
    """Silent stretches ``(start, end)`` in seconds of the file (see ``scan_audio``)."""
    return scan_audio(
        path, start=start, duration=duration, noise_db=noise_db, min_duration=min_duration, timeout=timeout
    ).silences


def normalising_gain(
    scan: AudioScan, target_lufs: float, *, ceiling_db: float = -1.5, max_gain_db: float = 30.0
) -> tuple[float, bool]:
    """The fixed gain (dB) that brings the scanned audio to ``target_lufs``, and whether a peak limiter is
    needed to keep the loudest sample under ``ceiling_db`` dBFS after it.

    Audio too quiet to measure gets no gain (raising it would only raise noise); gains are capped at
    ``max_gain_db``. The ceiling is on samples, not true (inter-sample) peaks.
    """
    if scan.loudness_lufs is None:
        return 0.0, False
    gain = min(target_lufs - scan.loudness_lufs, max_gain_db)
    peak = scan.peak_db if scan.peak_db is not None and math.isfinite(scan.peak_db) else 0.0
    return round(gain, 2), peak + gain > ceiling_db
