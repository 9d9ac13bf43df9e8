"""Generated media for the creator-feature render tests: drawn faces, timed words put straight into the
database (no speech recognition needed), frame grabs."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from core import models
from core.contracts import Segment, Transcript, Word
from core.media import ffmpeg as ff


def draw_face(img: np.ndarray, cx: int, cy: int, s: int, mouth_open: float = 0.0) -> None:
    """A cartoon face OpenCV's frontal-face Haar cascade detects (s = face width, px)."""
    import cv2

    cv2.ellipse(img, (cx, cy), (s // 2, int(s * 0.65)), 0, 0, 360, (150, 180, 220), -1)
    ey = cy - s // 6
    for dx in (-s // 5, s // 5):
        cv2.ellipse(img, (cx + dx, ey - s // 8), (s // 8, s // 30 + 1), 0, 0, 360, (40, 40, 60), -1)
        cv2.ellipse(img, (cx + dx, ey), (s // 9, s // 16), 0, 0, 360, (255, 255, 255), -1)
        cv2.circle(img, (cx + dx, ey), s // 18, (30, 20, 20), -1)
    cv2.ellipse(img, (cx, cy + s // 12), (s // 14, s // 10), 0, 0, 360, (120, 150, 190), -1)
    mouth_h = max(1, int(s / 14 + mouth_open * s / 8))
    cv2.ellipse(img, (cx, cy + s // 3), (s // 5, mouth_h), 0, 0, 360, (60, 50, 140), -1)


def drawn_video(
    dest: Path,
    paint: Callable[[np.ndarray, float], None],
    *,
    duration: float,
    size: tuple[int, int] = (640, 360),
    fps: int = 15,
    audio: str | Path | None = None,
) -> Path:
    """A video whose frames ``paint(img, t)`` draws (BGR), with ``audio`` (a file or a lavfi source; a quiet
    tone when None)."""
    w, h = size
    src = ["-i", str(audio)] if isinstance(audio, Path) else ["-f", "lavfi", "-i", audio or f"sine=f=220:d={duration}"]
    cmd = [
        "ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{w}x{h}", "-r", str(fps),
        "-i", "pipe:0", *src, "-t", f"{duration}",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-ar", "48000", str(dest),
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    for i in range(int(duration * fps)):
        img = np.full((h, w, 3), (90, 110, 70), np.uint8)
        paint(img, i / fps)
        proc.stdin.write(img.tobytes())
    proc.stdin.close()
    assert proc.wait(timeout=120) == 0
    return dest


def timed_words(text: str, start: float = 0.2, step: float = 0.35, length: float = 0.3) -> list[Word]:
    return [Word(text=t, start=start + i * step, end=start + i * step + length) for i, t in enumerate(text.split())]


def attach_words(app, video: models.Video, words: Sequence[Word]) -> None:  # type: ignore[no-untyped-def]
    """Store ``words`` as the video's transcript, as transcription would."""
    data = Transcript(
        language="en",
        duration=video.duration,
        segments=[
            Segment(start=words[0].start, end=words[-1].end, text=" ".join(w.text for w in words), words=list(words))
        ],
        backend="test",
    )
    with app.session() as s:
        row = models.Transcript(
            cache_key=f"test-{video.id}-{len(words)}-{words[0].start}", audio_sha256="test", backend="test",
            data=data.model_dump(mode="json"), duration=video.duration,
        )  # fmt: skip
        s.add(row)
        s.commit()
        s.refresh(row)
        v = s.get(models.Video, video.id)
        assert v is not None
        v.transcript_id = row.id
        s.add(v)
        s.commit()


def new_clip(app, video: models.Video, start: float, end: float, **fields) -> int:  # type: ignore[no-untyped-def]
    with app.session() as s:
        clip = models.Clip(video_id=video.id, start=start, end=end, **{"text": "", **fields})
        s.add(clip)
        s.commit()
        s.refresh(clip)
        return clip.id  # type: ignore[return-value]


def frame(path: Path, t: float, save: Path | None = None) -> np.ndarray:
    """The RGB frame at ``t`` s; also written as a PNG to ``save`` when given (for looking at)."""
    info = ff.probe(path)
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-ss", f"{t}", "-i", str(path), "-frames:v", "1", "-f", "rawvideo",
         "-pix_fmt", "rgb24", "pipe:1"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    img = np.frombuffer(raw, np.uint8).reshape(info.height, info.width, 3)
    if save is not None:
        save.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-ss", f"{t}", "-i", str(path), "-frames:v", "1", str(save)], check=True
        )
    return img


def frames_dir() -> Path | None:
    """Where tests save frames to look at (``RENDER_FRAMES_DIR``), or None."""
    import os

    d = os.environ.get("RENDER_FRAMES_DIR")
    return Path(d) if d else None
