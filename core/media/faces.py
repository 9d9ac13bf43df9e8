"""Face tracking for the ``face`` reframe: where to put the crop window over time.

Faces are found with OpenCV's bundled Haar cascade (works offline, no model download) on low-resolution
grey frames sampled at a few per second. The crop centre then follows the main (largest) face: small moves are
smoothed into a slow pan, a jump (another speaker, a new shot) is a hard cut, and with no face in view the crop
holds where it was. The result is a list of keyframes that ``reframe`` turns into ffmpeg crop expressions.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import ClipcastError
from core.media.ffmpeg import FFmpegError, binary

Box = tuple[float, float, float, float]  # x, y, w, h as fractions of the frame


@dataclass(frozen=True)
class Sample:
    t: float  # seconds from the window start
    faces: list[Box]


@dataclass(frozen=True)
class Keyframe:
    t: float  # seconds on the window's timeline
    cx: float  # crop centre, fraction of the source width
    cy: float  # crop centre, fraction of the source height
    cut: bool = False  # jump here instead of panning from the previous keyframe


def _cascade():  # type: ignore[no-untyped-def]
    import cv2

    path = Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"
    if not path.is_file():
        raise ClipcastError(
            f"OpenCV's face model {path.name} is missing",
            "install opencv-python-headless 4.x (5.x no longer bundles the Haar cascades), or use reframe blur",
        )
    return cv2.CascadeClassifier(str(path))


def detect_faces(gray: np.ndarray, cascade=None) -> list[Box]:  # type: ignore[no-untyped-def]
    """Faces in one grey frame, largest first, as fractions of the frame size."""
    cascade = cascade or _cascade()
    h, w = gray.shape[:2]
    found = cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=4, minSize=(max(12, w // 20),) * 2)
    boxes = [(x / w, y / h, fw / w, fh / h) for x, y, fw, fh in (found if len(found) else [])]
    return sorted(boxes, key=lambda b: b[2] * b[3], reverse=True)


def sample_faces(
    source: Path,
    start: float,
    duration: float,
    *,
    fps: float = 2.0,
    width: int = 320,
    timeout: float = 600,
) -> list[Sample]:
    """Detect faces on ``fps`` frames per second of ``[start, start+duration]``, scaled to ``width`` px."""
    from core.media.ffmpeg import probe

    info = probe(source)
    if not info.width or not info.height:
        raise ClipcastError(f"{source.name} has no video stream to find faces in")
    src_w, src_h = info.display_size
    height = max(2, round(src_h * width / src_w / 2) * 2)
    cmd = [
        binary("ffmpeg"), "-hide_banner", "-nostdin", "-loglevel", "error",
        "-ss", f"{start:.3f}", "-t", f"{duration:.3f}", "-i", str(source), "-an",
        "-vf", f"fps={fps},scale={width}:{height},format=gray", "-f", "rawvideo", "pipe:1",
    ]  # fmt: skip
    try:
        res = subprocess.run(cmd, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise FFmpegError(f"face sampling took longer than {timeout:.0f} s")
    if res.returncode != 0:
        raise FFmpegError(f"face sampling failed: {res.stderr.decode(errors='replace').strip()[-400:]}")
    frame = width * height
    frames = np.frombuffer(res.stdout, dtype=np.uint8)
    cascade = _cascade()
    out = []
    for i in range(len(frames) // frame):
        gray = frames[i * frame : (i + 1) * frame].reshape(height, width)
        out.append(Sample(t=(i + 0.5) / fps, faces=detect_faces(gray, cascade)))
    return out


def crop_path(
    samples: list[Sample],
    *,
    jump: float = 0.2,
    dead_zone: float = 0.03,
    smooth: int = 3,
) -> list[Keyframe]:
    """Keyframes for the crop centre.

    ``jump`` (fraction of the frame width): a face this far from the previous one is another speaker → cut.
    ``dead_zone``: smaller moves are ignored so a talking head does not make the frame wobble. ``smooth``:
    samples in the moving average within one shot.
    """
    centres: list[tuple[float, float] | None] = []
    prev: tuple[float, float] | None = None
    for s in samples:
        if not s.faces:
            centres.append(None)
            continue
        # Prefer the face nearest the one being followed unless another is clearly bigger (a new main speaker).
        main = s.faces[0]
        if prev is not None and len(s.faces) > 1:
            near = min(s.faces, key=lambda b: abs(b[0] + b[2] / 2 - prev[0]))
            if near[2] * near[3] >= 0.6 * main[2] * main[3]:
                main = near
        prev = (main[0] + main[2] / 2, main[1] + main[3] / 2)
        centres.append(prev)
    first = next((c for c in centres if c is not None), (0.5, 0.5))
    filled: list[tuple[float, float]] = []
    for c in centres:  # hold the last position where no face was found
        filled.append(c if c is not None else (filled[-1] if filled else first))
    if not filled:
        return [Keyframe(0.0, 0.5, 0.5)]
    # Split into shots at jumps, smooth within each shot.
    shots: list[list[int]] = [[0]]
    for i in range(1, len(filled)):
        if abs(filled[i][0] - filled[i - 1][0]) > jump or abs(filled[i][1] - filled[i - 1][1]) > jump:
            shots.append([])
        shots[-1].append(i)
    keys: list[Keyframe] = []
    for n, shot in enumerate(shots):
        half = smooth // 2
        for j, i in enumerate(shot):
            window = [filled[shot[k]] for k in range(max(0, j - half), min(len(shot), j + half + 1))]
            cx = sum(c[0] for c in window) / len(window)
            cy = sum(c[1] for c in window) / len(window)
            t = 0.0 if (n == 0 and j == 0) else samples[i].t
            if j == 0:
                keys.append(Keyframe(t, cx, cy, cut=n > 0))
            elif abs(cx - keys[-1].cx) > dead_zone or abs(cy - keys[-1].cy) > dead_zone:
                keys.append(Keyframe(t, cx, cy))
    return keys
