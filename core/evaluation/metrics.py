"""Selection quality figures: how a ranked list of clips matches the spans a person labelled.

- A clip **hits** a highlight when it covers at least ``COVER`` (60%) of the highlight AND the highlight fills
  at least ``FILL`` (50%) of the clip: a clip that wraps a highlight in filler, or grabs a sliver of one,
  misses.
- **top-1** / **top-3**: the first clip / one of the first three hits a highlight (videos with highlights).
- **MRR**: mean of 1/rank of the first hitting clip (0 when none hits).
- **recall**: highlights hit by any returned clip, over all highlights.
- **cut in speech**: clips whose start or end falls inside continuous speech (``core.pipeline.pauses``:
  not within 0.05 s of an audio pause of at least 0.15 s), over all clips.
- **boundary error**: for each hitting clip, the mean of |start - highlight start| and |end - highlight end|.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from core.pipeline.pauses import in_continuous_speech

COVER, FILL = 0.6, 0.5


def hits(clip: tuple[float, float], highlight: tuple[float, float]) -> bool:
    inter = max(0.0, min(clip[1], highlight[1]) - max(clip[0], highlight[0]))
    h_len, c_len = highlight[1] - highlight[0], clip[1] - clip[0]
    return h_len > 0 and c_len > 0 and inter / h_len >= COVER and inter / c_len >= FILL


@dataclass
class VideoScore:
    """One video's figures for one ranked list of clips (start, end s)."""

    id: str
    highlights: int
    clips: int
    top1: float = 0.0
    top3: float = 0.0
    rr: float = 0.0
    found: int = 0
    cut: int = 0
    errors: list[float] = field(default_factory=list)
    #: (score, hit) per clip, for the min_score precision table
    scored: list[tuple[float, bool]] = field(default_factory=list)


def score_video(
    vid: str,
    clips: list[tuple[float, float]],
    highlights: list[tuple[float, float]],
    pauses: list[tuple[float, float]],
    duration: float,
    scores: list[float] | None = None,
) -> VideoScore:
    s = VideoScore(id=vid, highlights=len(highlights), clips=len(clips))
    found: set[int] = set()
    first = None
    for rank, clip in enumerate(clips, 1):
        matched = [k for k, h in enumerate(highlights) if hits(clip, h)]
        if matched and first is None:
            first = rank
        for k in matched:
            found.add(k)
        if matched:
            h = highlights[matched[0]]
            s.errors.append((abs(clip[0] - h[0]) + abs(clip[1] - h[1])) / 2)
        if in_continuous_speech(clip[0], pauses, end=duration) or in_continuous_speech(clip[1], pauses, end=duration):
            s.cut += 1
        if scores is not None:
            s.scored.append((scores[rank - 1], bool(matched)))
    if highlights:
        s.top1 = float(first == 1)
        s.top3 = float(first is not None and first <= 3)
        s.rr = 1.0 / first if first else 0.0
    s.found = len(found)
    return s


@dataclass
class Overall:
    videos: int
    highlights: int
    clips: int
    top1: float
    top3: float
    mrr: float
    recall: float
    cut_share: float
    boundary_error: float | None

    def as_dict(self) -> dict[str, Any]:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def overall(scores: list[VideoScore]) -> Overall:
    ranked = [s for s in scores if s.highlights]
    n = max(1, len(ranked))
    errors = [e for s in scores for e in s.errors]
    clips = sum(s.clips for s in scores)
    highlights = sum(s.highlights for s in scores)
    return Overall(
        videos=len(scores),
        highlights=highlights,
        clips=clips,
        top1=sum(s.top1 for s in ranked) / n,
        top3=sum(s.top3 for s in ranked) / n,
        mrr=sum(s.rr for s in ranked) / n,
        recall=sum(s.found for s in scores) / max(1, highlights),
        cut_share=sum(s.cut for s in scores) / max(1, clips),
        boundary_error=sum(errors) / len(errors) if errors else None,
    )


def mean_overall(runs: list[Overall]) -> Overall:
    """The average of several runs (random baselines over many seeds)."""
    errs = [r.boundary_error for r in runs if r.boundary_error is not None]
    first = runs[0]
    return Overall(
        videos=first.videos,
        highlights=first.highlights,
        clips=round(sum(r.clips for r in runs) / len(runs)),
        top1=sum(r.top1 for r in runs) / len(runs),
        top3=sum(r.top3 for r in runs) / len(runs),
        mrr=sum(r.mrr for r in runs) / len(runs),
        recall=sum(r.recall for r in runs) / len(runs),
        cut_share=sum(r.cut_share for r in runs) / len(runs),
        boundary_error=sum(errs) / len(errs) if errs else None,
    )


def precision_table(scores: list[VideoScore], thresholds: tuple[int, ...] = (30, 40, 50, 60, 70, 80, 90)) -> list[dict]:
    """For each ``min_score`` threshold: how many returned clips reach it and the share of those that hit."""
    pairs = [p for s in scores for p in s.scored]
    rows = []
    for t in thresholds:
        kept = [hit for score, hit in pairs if score >= t]
        rows.append(
            {"min_score": t, "clips": len(kept), "precision": round(sum(kept) / len(kept), 3) if kept else None}
        )
    return rows


# ---------------------------------------------------------------------------------------------- baselines


def random_windows(
    rng: random.Random, duration: float, n: int, lo: float, hi: float, max_overlap: float = 0.1
) -> list[tuple[float, float]]:
    """``n`` windows of random length in [lo, hi] s at random places, overlapping by at most ``max_overlap``."""
    out: list[tuple[float, float]] = []
    for _ in range(n * 50):
        if len(out) >= n:
            break
        length = min(duration, rng.uniform(lo, hi))
        start = rng.uniform(0, max(0.0, duration - length))
        w = (start, start + length)
        if all(_overlap(w, o) <= max_overlap for o in out):
            out.append(w)
    return out


def first_windows(duration: float, n: int, length: float) -> list[tuple[float, float]]:
    """The talk's first ``n`` back-to-back windows of ``length`` s: what a clipper without selection posts."""
    out = []
    t = 0.0
    while len(out) < n and t < duration:
        out.append((t, min(duration, t + length)))
        t += length
    return out


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> float:
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    shorter = min(a[1] - a[0], b[1] - b[0])
    return inter / shorter if shorter > 0 else 1.0
