"""Shots and face tracks of a clip's window, from one pass over low-resolution frames (for ``core.media.layout``).

Frames are decoded at ``fps`` (6 by default) and ``width`` px (320): enough to see a hard cut, a face and a
mouth that moves, cheap next to the render itself. Every frame is compared with the one before it for shot
cuts; faces are detected on every ``detect_every``-th frame and on the first frame of each shot
(``core.media.detector``); detections are joined into tracks by overlap within a shot (a track never crosses
a cut), and between detections a track keeps its last box. For each track and frame the *mouth motion* is the
mean absolute grey-level change of the mouth region from the previous frame, less the change of the forehead
(so a nod, a camera move or compression noise, which move both, count for little).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.errors import ClipcastError
from core.media.detector import Box, Face, detector
from core.media.ffmpeg import FFmpegError, binary

#: A cut: the grey-level distributions of two frames lie more than ``CUT_SHIFT`` levels apart (the mean
#: distance the histogram mass moved: grain and talking move it by a level or two), or more than ``CUT_BLOCKS``
#: of a 16x9 grid of block means changed by over ``BLOCK_LEVELS`` levels (a new picture of the same brightness;
#: a moving mouth or head changes a few blocks).
CUT_SHIFT = 16.0
CUT_BLOCKS = 0.4
BLOCK_LEVELS = 20.0
#: A second cut closer than this to the previous one is taken for a flash, not a new shot (s).
MIN_SHOT = 0.5


@dataclass
class Track:
    """One face followed through one shot. Dicts are keyed by frame index."""

    id: int
    shot: int
    boxes: dict[int, Box] = field(default_factory=dict)
    detected: set[int] = field(default_factory=set)
    mouths: dict[int, tuple[float, float]] = field(default_factory=dict)
    motion: dict[int, float] = field(default_factory=dict)

    def centre(self, i: int) -> tuple[float, float]:
        x, y, w, h = self.boxes[i]
        return x + w / 2, y + h / 2

    def size(self) -> float:
        """Median face height, fraction of the frame height."""
        return float(np.median([b[3] for b in self.boxes.values()])) if self.boxes else 0.0


@dataclass
class Analysis:
    fps: float
    times: list[float]  # frame times, s from the window start
    shot_of: list[int]  # frame index → shot number
    tracks: list[Track]
    detector: str
    looked: dict[int, int] = field(default_factory=dict)  # shot → frames faces were looked for on

    @property
    def detections(self) -> int:
        return sum(self.looked.values())

    def shot_frames(self, shot: int) -> list[int]:
        return [i for i, s in enumerate(self.shot_of) if s == shot]

    def stable_tracks(self, shot: int, share: float = 0.4) -> list[Track]:
        """Tracks of ``shot`` found on at least ``share`` of the shot's detection frames (drops stray
        detections), largest first."""
        need = max(1.0, share * self.looked.get(shot, 1))
        out = [t for t in self.tracks if t.shot == shot and len(t.detected) >= need]
        return sorted(out, key=lambda t: t.size(), reverse=True)


def _iou(a: Box, b: Box) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    return inter / (aw * ah + bw * bh - inter) if inter > 0 else 0.0


def _near(a: Box, b: Box) -> bool:
    """Same face on two detections: overlapping boxes, or centres less than one face width apart."""
    if _iou(a, b) > 0.2:
        return True
    dx = (a[0] + a[2] / 2) - (b[0] + b[2] / 2)
    dy = (a[1] + a[3] / 2) - (b[1] + b[3] / 2)
    return (dx * dx + dy * dy) ** 0.5 < 0.6 * max(a[2], b[2])


def is_cut(prev: np.ndarray, cur: np.ndarray) -> bool:
    """A hard cut between two grey frames (see ``CUT_SHIFT`` and ``CUT_BLOCKS``)."""
    import cv2

    cp = np.cumsum(np.bincount(prev.ravel(), minlength=256)) / prev.size
    cc = np.cumsum(np.bincount(cur.ravel(), minlength=256)) / cur.size
    if float(np.abs(cp - cc).sum()) > CUT_SHIFT:
        return True
    bp = cv2.resize(prev, (16, 9), interpolation=cv2.INTER_AREA).astype(np.int16)
    bc = cv2.resize(cur, (16, 9), interpolation=cv2.INTER_AREA).astype(np.int16)
    return float((np.abs(bp - bc) > BLOCK_LEVELS).mean()) > CUT_BLOCKS


def _regions(box: Box, mouth: tuple[float, float] | None, w: int, h: int) -> tuple[tuple[slice, slice], ...]:
    """(mouth, forehead) pixel regions of a face box on a ``w``x``h`` frame."""
    x, y, bw, bh = box
    my = mouth[1] if mouth else y + 0.78 * bh
    x0, x1 = int((x + 0.2 * bw) * w), max(int((x + 0.8 * bw) * w), int((x + 0.2 * bw) * w) + 2)
    m0, m1 = int((my - 0.14 * bh) * h), int((my + 0.14 * bh) * h)
    f0, f1 = int((y + 0.02 * bh) * h), int((y + 0.22 * bh) * h)
    clamp = lambda v, hi: min(max(v, 0), hi)  # noqa: E731
    mouth_r = (slice(clamp(m0, h - 1), clamp(max(m1, m0 + 2), h)), slice(clamp(x0, w - 1), clamp(x1, w)))
    fore_r = (slice(clamp(f0, h - 1), clamp(max(f1, f0 + 2), h)), slice(clamp(x0, w - 1), clamp(x1, w)))
    return mouth_r, fore_r


def _motion(prev: np.ndarray, cur: np.ndarray, region: tuple[slice, slice]) -> float:
    a, b = prev[region], cur[region]
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean()) if a.size else 0.0


class _Tracker:
    def __init__(self, w: int, h: int, keep: int) -> None:
        self.w, self.h, self.keep = w, h, keep  # keep: detection rounds a track survives unseen
        self.tracks: list[Track] = []
        self.active: list[tuple[Track, int]] = []  # (track, missed rounds)

    def cut(self) -> None:
        self.active = []

    def detections(self, i: int, shot: int, faces: list[Face]) -> None:
        pairs = sorted(
            (
                (_iou(t.boxes[max(t.boxes)], f.box), n, k)
                for n, (t, _) in enumerate(self.active)
                for k, f in enumerate(faces)
            ),
            reverse=True,
        )
        taken_t, taken_f = set(), set()
        for _, n, k in pairs:
            t = self.active[n][0]
            if n in taken_t or k in taken_f or not _near(t.boxes[max(t.boxes)], faces[k].box):
                continue
            taken_t.add(n)
            taken_f.add(k)
            self._see(t, i, faces[k])
        active = []
        for n, (t, missed) in enumerate(self.active):
            if n in taken_t:
                active.append((t, 0))
            elif missed + 1 <= self.keep:
                active.append((t, missed + 1))
        for k, f in enumerate(faces):
            if k not in taken_f:
                t = Track(id=len(self.tracks), shot=shot)
                self.tracks.append(t)
                self._see(t, i, f)
                active.append((t, 0))
        self.active = active

    def _see(self, t: Track, i: int, f: Face) -> None:
        t.boxes[i] = f.box
        t.detected.add(i)
        if f.mouth:
            t.mouths[i] = f.mouth

    def frame(self, i: int, prev: np.ndarray | None, cur: np.ndarray) -> None:
        """Carry each active track's box to frame ``i`` and measure its mouth motion."""
        for t, _ in self.active:
            last = max(t.boxes)
            box = t.boxes[last]
            if last != i:
                t.boxes[i] = box
            if prev is None:
                continue
            mouth = t.mouths.get(max(t.mouths)) if t.mouths else None
            m, f = _regions(box, mouth, self.w, self.h)
            t.motion[i] = max(0.0, _motion(prev, cur, m) - _motion(prev, cur, f))


def analyse(
    source: Path,
    start: float,
    duration: float,
    *,
    fps: float = 6.0,
    width: int = 320,
    detect_every: int = 3,
    prefer: str = "mtcnn",
    timeout: float = 600,
) -> Analysis:
    """Shots and face tracks of ``[start, start + duration]`` of ``source`` (module docstring)."""
    import cv2

    from core.media.ffmpeg import probe

    info = probe(source)
    if not info.width or not info.height:
        raise ClipcastError(f"{source.name} has no video stream to find faces in")
    src_w, src_h = info.display_size
    height = max(2, round(src_h * width / src_w / 2) * 2)
    cmd = [
        binary("ffmpeg"), "-hide_banner", "-nostdin", "-loglevel", "error", "-protocol_whitelist", "file,pipe",
        "-ss", f"{start:.3f}", "-t", f"{duration:.3f}", "-i", str(source), "-an",
        "-vf", f"fps={fps},scale={width}:{height}:flags=area", "-pix_fmt", "rgb24", "-f", "rawvideo", "pipe:1",
    ]  # fmt: skip
    det = detector(prefer)
    tracker = _Tracker(width, height, keep=2)
    size = width * height * 3
    times: list[float] = []
    shot_of: list[int] = []
    looked: dict[int, int] = {}
    prev: np.ndarray | None = None
    shot, shot_start, since_detect = 0, 0.0, 0
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    try:
        i = 0
        while True:
            raw = proc.stdout.read(size)
            if len(raw) < size:
                break
            rgb = np.frombuffer(raw, np.uint8).reshape(height, width, 3)
            gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
            t = (i + 0.5) / fps
            new_shot = prev is not None and is_cut(prev, gray) and t - shot_start >= MIN_SHOT
            if new_shot:
                shot, shot_start = shot + 1, t
                tracker.cut()
            if i == 0 or new_shot or since_detect >= detect_every - 1:
                tracker.detections(i, shot, det.detect(rgb))
                looked[shot] = looked.get(shot, 0) + 1
                since_detect = 0
            else:
                since_detect += 1
            tracker.frame(i, None if new_shot else prev, gray)
            times.append(t)
            shot_of.append(shot)
            prev = gray
            i += 1
        err = proc.stderr.read() if proc.stderr else b""
        code = proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if code != 0:
        raise FFmpegError(f"face analysis failed: {err.decode(errors='replace').strip()[-400:]}")
    return Analysis(fps=fps, times=times, shot_of=shot_of, tracks=tracker.tracks, detector=det.kind, looked=looked)
