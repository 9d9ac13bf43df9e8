"""Generated speech video (espeak-ng + ffmpeg) for the demo, tests and benchmarks.

Each part is spoken with espeak-ng; parts are joined with the given pauses, and a plain moving-colour picture
makes it a video. Nothing here needs a network or a model.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from core.errors import ClipcastError
from core.media import ffmpeg


def speak(text: str, dest: Path, *, voice: str = "en-us", words_per_minute: int = 165) -> Path:
    """Speak ``text`` into a WAV file with espeak-ng."""
    exe = shutil.which("espeak-ng") or shutil.which("espeak")
    if not exe:
        raise ClipcastError("espeak-ng is not installed", "Debian: apt-get install espeak-ng")
    subprocess.run(
        [exe, "-v", voice, "-s", str(words_per_minute), "-w", str(dest), text],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return dest


def talk_video(
    parts: list[str],
    dest: Path,
    *,
    pause: float = 0.8,
    size: str = "1280x720",
    voice: str = "en-us",
    words_per_minute: int = 165,
    timeout: float = 1800,
    picture: str = "color=c=0x1d3557",
) -> Path:
    """A talk video: each string in ``parts`` spoken in turn, ``pause`` seconds of silence between parts.

    ``picture`` is an ffmpeg lavfi source without size/rate (``testsrc2`` gives motion, at ~1 MB/s).
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        listing = []
        silence = tmpdir / "pause.wav"
        ffmpeg.run(
            ["-f", "lavfi", "-i", "anullsrc=r=22050:cl=mono", "-t", f"{pause}", "-c:a", "pcm_s16le", str(silence)],
            timeout=60,
            what="silence",
        )
        for i, text in enumerate(parts):
            wav = speak(text, tmpdir / f"part{i}.wav", voice=voice, words_per_minute=words_per_minute)
            normalised = tmpdir / f"norm{i}.wav"
            ffmpeg.run(
                ["-i", str(wav), "-ar", "22050", "-ac", "1", "-c:a", "pcm_s16le", str(normalised)],
                timeout=120,
                what="speech",
            )
            listing += [f"file '{normalised}'", f"file '{silence}'"]
        (tmpdir / "list.txt").write_text("\n".join(listing) + "\n")
        audio = tmpdir / "talk.wav"
        ffmpeg.run(
            ["-f", "concat", "-safe", "0", "-i", str(tmpdir / "list.txt"), "-c:a", "pcm_s16le", str(audio)],
            timeout=timeout,
            what="joining speech",
        )
        duration = ffmpeg.probe(audio).duration
        ffmpeg.run(
            [
                "-f",
                "lavfi",
                "-i",
                f"{picture}{':' if '=' in picture else '='}size={size}:rate=30",
                "-i",
                str(audio),
                "-t",
                f"{duration:.3f}",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-pix_fmt",
                "yuv420p",
                "-c:a",
                "aac",
                "-ar",
                "48000",
                "-shortest",
                str(dest),
            ],
            timeout=timeout,
            duration=duration,
            what="talk video",
        )
    return dest
