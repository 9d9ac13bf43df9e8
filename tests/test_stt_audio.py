"""The faster-whisper plugin reads our extracted WAV itself: the samples must equal faster-whisper's own decode,
so the words cannot change; any other file goes to faster-whisper untouched."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
from faster_whisper.audio import decode_audio

from plugins.stt.faster_whisper import read_pcm16


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
