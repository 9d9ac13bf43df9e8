"""One-pass audio scans (pauses + loudness) and the fixed gain that normalises a clip's loudness."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from core.media.audio_scan import AudioScan, normalising_gain, scan_audio
from core.media.ffmpeg import FFmpegError


def tone(dest: Path, *, level_db: float, pause: tuple[float, float] | None = None, seconds: float = 6.0) -> Path:
    """A 48 kHz stereo 440 Hz tone whose samples peak at ``level_db`` dBFS, silent during ``pause``."""
    af = f"volume={level_db}dB"  # the generated sine peaks at 0 dBFS: the volume sets the peak
    if pause:
        af += f",volume=enable='between(t,{pause[0]},{pause[1]})':volume=0"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
         f"aevalsrc=sin(2*PI*440*t):s=48000:d={seconds}:c=stereo", "-af", af, str(dest)],
        check=True,
    )  # fmt: skip
    return dest


def test_one_pass_finds_the_pause_and_measures_loudness(tmp_path: Path, ffmpeg: str) -> None:
    quiet = scan_audio(tone(tmp_path / "a.wav", level_db=-30, pause=(2.0, 4.0)), loudness=True, min_duration=0.5)
    assert quiet.silences == [(pytest.approx(2.0, abs=0.05), pytest.approx(4.0, abs=0.05))]
    assert quiet.peak_db == pytest.approx(-30.0, abs=0.1)
    louder = scan_audio(tone(tmp_path / "b.wav", level_db=-20, pause=(2.0, 4.0)), loudness=True, silences=False)
    assert louder.silences == []
    # The pause is gated out of the integrated loudness; 10 dB more signal is 10 LU louder.
    assert louder.loudness_lufs - quiet.loudness_lufs == pytest.approx(10.0, abs=0.2)
    # A window of the file: times stay absolute.
    window = scan_audio(tmp_path / "a.wav", start=1.0, duration=4.0, min_duration=0.5)
    assert window.silences == [(pytest.approx(2.0, abs=0.05), pytest.approx(4.0, abs=0.05))]


def test_silence_is_not_measurable_and_gets_no_gain(tmp_path: Path, ffmpeg: str) -> None:
    scan = scan_audio(tone(tmp_path / "s.wav", level_db=-120), loudness=True, silences=False)
    assert scan.loudness_lufs is None
    assert normalising_gain(scan, -14.0) == (0.0, False)


def test_unreadable_file_names_the_file(tmp_path: Path, ffmpeg: str) -> None:
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio")
    with pytest.raises(FFmpegError, match=r"scanning the audio of notes\.wav failed"):
        scan_audio(bad, loudness=True)


def test_normalising_gain() -> None:
    # Quiet speech: +10 dB reaches -14 LUFS; its peak (-12 dBFS) would reach -2 dBFS: under the ceiling.
    assert normalising_gain(AudioScan(loudness_lufs=-24.0, peak_db=-12.0), -14.0) == (10.0, False)
    # The same gain on a peakier recording crosses -1.5 dBFS: the limiter is needed.
    assert normalising_gain(AudioScan(loudness_lufs=-24.0, peak_db=-6.0), -14.0) == (10.0, True)
    # Too loud: turned down, never limited.
    assert normalising_gain(AudioScan(loudness_lufs=-8.0, peak_db=0.0), -14.0) == (-6.0, False)
    # Barely audible: the gain is capped.
    assert normalising_gain(AudioScan(loudness_lufs=-60.0, peak_db=-50.0), -14.0, max_gain_db=30.0) == (30.0, False)
