"""The faster-whisper plugin reads our extracted WAV itself: the samples must equal faster-whisper's own decode,
so the words cannot change; any other file goes to faster-whisper untouched."""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest
from faster_whisper.audio import decode_audio

from plugins.stt.faster_whisper import pcm16_frames, quiet_cut, read_pcm16


def _tone(path: Path, *extra: str) -> Path:
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=440:duration=3", "-af", "volume=0.9",
         *extra, str(path)],
        check=True,
    )  # fmt: skip
    return path


def test_16k_mono_wav_samples_equal_faster_whispers_decode(tmp_path):
    wav = _tone(tmp_path / "a.wav", "-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le")
    ours = read_pcm16(wav)
    assert isinstance(ours, np.ndarray) and ours.dtype == np.float32 and ours.shape == (48000,)
    assert np.array_equal(ours, decode_audio(str(wav)))


def test_other_files_are_left_to_faster_whisper(tmp_path):
    stereo = _tone(tmp_path / "b.wav", "-ac", "2", "-ar", "44100", "-c:a", "pcm_s16le")
    assert read_pcm16(stereo) == str(stereo)
    mp3 = _tone(tmp_path / "c.mp3")
    assert read_pcm16(mp3) == str(mp3)


def _write_wav(path: Path, samples: np.ndarray, rate: int = 16000) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.astype("<i2").tobytes())
    return path


def _noise_with_silences(seconds: float, silences: list[tuple[float, float]], rate: int = 16000) -> np.ndarray:
    """Loud noise (speech stand-in) with digital silence over each (start, end) s."""
    samples = np.random.default_rng(3).normal(0, 3000, int(seconds * rate)).clip(-32768, 32767)
    for a, b in silences:
        samples[int(a * rate) : int(b * rate)] = 0
    return samples


def test_a_piece_is_the_same_samples_as_that_slice_of_the_whole(tmp_path):
    wav = _write_wav(tmp_path / "n.wav", _noise_with_silences(5, []))
    whole = read_pcm16(wav)
    piece = read_pcm16(wav, 16000, (20_000, 52_000))
    assert piece.shape == (32_000,) and np.array_equal(piece, whole[20_000:52_000])
    assert pcm16_frames(wav) == 80_000


def test_quiet_cut_lands_in_the_pause_near_the_nominal_cut(tmp_path):
    """A 2.5 s silence at 26-28.5 s, 3 s from the nominal cut at 30 s: the cut is in its middle; a longer
    silence at 45-49 s lies outside the +-7.5 s searched and is not taken."""
    wav = _write_wav(tmp_path / "p.wav", _noise_with_silences(60, [(26.0, 28.5), (45.0, 49.0)]))
    assert quiet_cut(wav, 30.0, 7.5, 2.0) == pytest.approx(27.25, abs=0.05)


def test_quiet_cut_prefers_the_pause_nearest_the_nominal_cut(tmp_path):
    wav = _write_wav(tmp_path / "q.wav", _noise_with_silences(60, [(23.0, 26.0), (31.0, 34.0)]))
    assert quiet_cut(wav, 30.0, 7.5, 2.0) == pytest.approx(32.5, abs=0.05)


def test_quiet_cut_without_a_long_pause_takes_the_quietest_moment(tmp_path):
    """No silence as long as ``stretch``: a 0.6 s gap at 28.2-28.8 s is still where the cut goes."""
    wav = _write_wav(tmp_path / "r.wav", _noise_with_silences(60, [(28.2, 28.8)]))
    assert 28.2 <= quiet_cut(wav, 30.0, 7.5, 2.0) <= 28.8
