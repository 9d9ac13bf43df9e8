"""Pauses in speech, measured on the audio (10 ms frames), not on the recogniser's word times.

Recognisers stretch word ends over the following pause and sometimes start words early, so where speech
really stops is read from the WAV: a frame is silent when its RMS level lies ``DROP_DB`` below the talk's
loud speech (the 95th percentile of frame levels), or under ``FLOOR_DB``. A pause is a run of silent frames
at least ``MIN_PAUSE`` s long. Used for clip boundaries (``core.pipeline.select``), talk units (the
heuristic) and the evaluation's "cut inside continuous speech" measure.
"""

from __future__ import annotations

import wave
from functools import lru_cache
from pathlib import Path

import numpy as np

FRAME = 0.01
#: A gap between words shorter than this (s) is continuous speech: a cut there clips a breath, not a pause.
MIN_PAUSE = 0.15
DROP_DB = 35.0
FLOOR_DB = -60.0
#: Frames read from the WAV at a time (10 000 = 100 s: 3.2 MB of 16 kHz mono samples).
BLOCK_FRAMES = 10_000


def find_pauses(path: Path | None, min_pause: float = MIN_PAUSE) -> list[tuple[float, float]]:
    """Silent stretches of at least ``min_pause`` s in a 16-bit WAV, as (start, end) s; [] without audio."""
    if path is None or not Path(path).is_file():
        return []
    try:
        return list(_pauses(str(path), Path(path).stat().st_mtime, min_pause))
    except (OSError, wave.Error, EOFError, ValueError):
        return []


@lru_cache(maxsize=32)
def _pauses(path: str, _mtime: float, min_pause: float) -> tuple[tuple[float, float], ...]:
    db = frame_levels(path)
    if len(db) == 0:
        return ()
    threshold = max(FLOOR_DB, float(np.percentile(db, 95)) - DROP_DB)
    silent = np.concatenate([[False], db < threshold, [False]])
    edges = np.flatnonzero(np.diff(silent.astype(np.int8)))
    runs = edges.reshape(-1, 2)
    need = round(min_pause / FRAME)
    return tuple((round(a * FRAME, 3), round(b * FRAME, 3)) for a, b in runs if b - a >= need)


def frame_levels(path: str, block_frames: int = BLOCK_FRAMES) -> np.ndarray:
    """The level (dBFS) of every whole ``FRAME`` of a 16-bit WAV, read ``block_frames`` frames at a time:
    memory is one block plus 8 bytes per frame (0.8 MB per 10 minutes), not the whole file's samples
    (reading a 3-hour WAV at once held over 1 GB). Empty for other sample widths."""
    with wave.open(path, "rb") as w:
        if w.getsampwidth() != 2:
            return np.zeros(0)
        rate, channels = w.getframerate(), w.getnchannels()
        step = max(1, int(rate * FRAME))
        levels = []
        while chunk := w.readframes(step * block_frames):  # whole frames per block: the last one may be short
            data = np.frombuffer(chunk, dtype="<i2").astype(np.float32)
            if channels > 1:
                data = data[: len(data) // channels * channels].reshape(-1, channels).mean(axis=1)
            n = len(data) // step
            frames = data[: n * step].reshape(n, step) / 32768.0
            levels.append(20 * np.log10(np.maximum(np.sqrt(np.mean(frames**2, axis=1)), 1e-6)))
    return np.concatenate(levels) if levels else np.zeros(0)


def in_continuous_speech(t: float, pauses: list[tuple[float, float]], *, end: float, tol: float = 0.05) -> bool:
    """A cut at ``t`` s falls inside continuous speech unless it lies in (or within ``tol`` s of) a pause of at
    least ``MIN_PAUSE`` s, or at the very start/end of the media."""
    if t <= tol or t >= end - tol:
        return False
    return not any(a - tol <= t <= b + tol for a, b in pauses)
