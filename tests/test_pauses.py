"""Pauses are measured on the WAV read in blocks: the levels must not depend on the block size (a block
boundary inside a frame, or between a stereo pair, would shift every later frame)."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from core.pipeline.pauses import find_pauses, frame_levels


def _wav(path: Path, seconds: float, channels: int, rate: int = 16000) -> Path:
    """Noise with digital silence at 1.0-1.5 s and 3.0-3.3 s, and a last frame cut short."""
    rng = np.random.default_rng(5)
    samples = rng.normal(0, 4000, (int(seconds * rate) + 37, channels)).clip(-32768, 32767)
    for a, b in ((1.0, 1.5), (3.0, 3.3)):
        samples[int(a * rate) : int(b * rate)] = 0
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.astype("<i2").tobytes())
    return path


def test_levels_do_not_depend_on_the_block_size(tmp_path):
    for channels in (1, 2):
        wav = str(_wav(tmp_path / f"n{channels}.wav", 4.0, channels))
        whole = frame_levels(wav, block_frames=10**6)
        assert len(whole) == 400
        for block in (1, 7, 64):
            assert np.array_equal(frame_levels(wav, block_frames=block), whole)


def test_pauses_of_a_wav(tmp_path):
    pauses = find_pauses(_wav(tmp_path / "p.wav", 4.0, 1))
    assert pauses == [(1.0, 1.5), (3.0, 3.3)]
