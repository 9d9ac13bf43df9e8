"""Who is talking, frame by frame: audio energy aligned with each face's mouth motion.

A face talks when its mouth moves *while there is voice*: for every frame, each track's mouth motion
(``core.media.tracks``) is averaged over the voiced frames of a window around it (``WINDOW`` s), less that
face's own motion in the shot's unvoiced frames (a listener who nods or chews moves in silence too). The face
with the highest score is the speaker; when the runner-up scores at least ``BOTH`` of it, both are talking
(cross-talk, or a quicker exchange than the window); with no voice in the window, or no mouth that moves more
than ``MIN_MOTION`` grey levels above its own baseline (a voice from off screen), nobody is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.media.audio_scan import Levels
from core.media.tracks import Analysis, Track

#: Seconds of frames (centred) a score averages over.
WINDOW = 1.5
#: The runner-up's share of the best score above which both faces count as talking.
BOTH = 0.6
#: Lowest score (grey levels per pixel per frame, above the face's silent baseline) that counts as talking.
MIN_MOTION = 0.8
#: Least voiced time in a window for anyone to be talking, s.
MIN_VOICE = 0.25

BOTH_TALK = -1  # a frame's label when both faces talk


@dataclass(frozen=True)
class Speakers:
    """Per frame: a track id, ``BOTH_TALK``, or None (nobody, or no voice); ``voiced`` share per frame."""

    labels: list[int | None]
    voiced: list[float]
    scores: dict[int, list[float]]


def voiced_share(levels: Levels | None, times: list[float], fps: float, silence_db: float) -> list[float]:
    """Share of each frame's interval whose audio level is above ``silence_db`` (dBFS)."""
    if levels is None or not len(levels.rms):
        return [0.0] * len(times)
    db = 20 * np.log10(np.maximum(levels.rms, 1e-3) / 32768.0)
    loud = db > silence_db
    out = []
    for t in times:
        a = int(max(0.0, t - 0.5 / fps) / levels.hop)
        b = max(a + 1, int((t + 0.5 / fps) / levels.hop))
        seg = loud[a:b]
        out.append(float(seg.mean()) if len(seg) else 0.0)
    return out


def _baseline(track: Track, frames: list[int], voiced: list[float]) -> float:
    quiet = [track.motion[i] for i in frames if i in track.motion and voiced[i] < 0.2]
    if len(quiet) >= 3:
        return float(np.median(quiet))
    allm = [track.motion[i] for i in frames if i in track.motion]
    return float(np.percentile(allm, 20)) if allm else 0.0


def active_speakers(analysis: Analysis, levels: Levels | None, *, silence_db: float = -35.0) -> Speakers:
    """Label every frame of ``analysis`` with who talks (module docstring)."""
    n = len(analysis.times)
    voiced = voiced_share(levels, analysis.times, analysis.fps, silence_db)
    half = max(1, round(WINDOW * analysis.fps / 2))
    labels: list[int | None] = [None] * n
    scores: dict[int, list[float]] = {}
    for shot in sorted(set(analysis.shot_of)):
        frames = analysis.shot_frames(shot)
        tracks = analysis.stable_tracks(shot)
        base = {t.id: _baseline(t, frames, voiced) for t in tracks}
        for t in tracks:
            scores[t.id] = [0.0] * n
        lo_shot, hi_shot = frames[0], frames[-1]
        for i in frames:
            lo, hi = max(lo_shot, i - half), min(hi_shot, i + half)
            window = range(lo, hi + 1)
            voice = sum(voiced[j] for j in window) / analysis.fps
            if voice < MIN_VOICE:
                continue
            ranked = []
            for t in tracks:
                if i not in t.boxes:
                    continue
                num = sum(t.motion.get(j, 0.0) * voiced[j] for j in window)
                den = sum(voiced[j] for j in window if j in t.motion)
                s = (num / den - base[t.id]) if den > 0 else 0.0
                scores[t.id][i] = s
                ranked.append((s, t.id))
            ranked.sort(reverse=True)
            if not ranked or ranked[0][0] < MIN_MOTION:
                continue
            if len(ranked) > 1 and ranked[1][0] >= BOTH * ranked[0][0]:
                labels[i] = BOTH_TALK
            else:
                labels[i] = ranked[0][1]
    return Speakers(labels=labels, voiced=voiced, scores=scores)
