"""Silence and filler removal: which parts of a clip to keep, and how source times map onto the cut clip.

A pause is cut only where the words leave a gap AND the audio is quiet (when an audio scan is given), so a
laugh or music the recogniser did not transcribe is kept. Filler words ("um", "uh", configurable) are cut
when asked. Times are seconds of the source unless a name says ``out``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.contracts import Word

if TYPE_CHECKING:
    from core.media.audio_scan import Levels

Interval = tuple[float, float]

_PUNCT = re.compile(r"[^\w']+")


def normalise(text: str) -> str:
    """Lower-case word without punctuation: how fillers are compared."""
    return _PUNCT.sub("", text.lower())


#: Shortest time a word is on screen, s: the recogniser returns some words with zero length (a start equal to
#: its end) and captions would otherwise skip them ("do it right now" read "it right now").
MIN_WORD = 0.12


def give_words_time(words: Sequence[Word], minimum: float = MIN_WORD) -> list[Word]:
    """Words in order, each at least ``minimum`` s long where its neighbours allow: a short word takes the
    silence around it first, then up to half of each neighbouring word (never reordering words)."""
    out = [w.model_copy() for w in words]
    for i, w in enumerate(out):
        if w.end - w.start >= minimum:
            continue
        prev = out[i - 1] if i > 0 else None
        nxt = out[i + 1] if i + 1 < len(out) else None
        lo = max(0.0, (prev.start + prev.end) / 2 if prev else w.start - minimum)
        hi = (nxt.start + nxt.end) / 2 if nxt else w.end + minimum
        lo, hi = min(lo, w.start), max(hi, w.end)
        centre = (w.start + w.end) / 2
        start = max(lo, min(centre - minimum / 2, hi - minimum))
        end = min(hi, start + minimum)
        w.start, w.end = round(start, 3), round(end, 3)
        if prev is not None and prev.end > w.start:
            prev.end = w.start
        if nxt is not None and nxt.start < w.end:
            nxt.start = w.end
            nxt.end = max(nxt.end, nxt.start)
    return out


def without_fillers(words: Sequence[Word], fillers: Sequence[str]) -> list[Word]:
    """The words that are not fillers (what captions show once the fillers are cut)."""
    filler_set = {normalise(f) for f in fillers}
    return [w for w in words if normalise(w.text) not in filler_set]


def _subtract(base: Interval, holes: Sequence[Interval]) -> list[Interval]:
    out: list[Interval] = []
    cur = base[0]
    for a, b in sorted(holes):
        if b <= cur or a >= base[1]:
            continue
        if a > cur:
            out.append((cur, a))
        cur = max(cur, b)
    if cur < base[1]:
        out.append((cur, base[1]))
    return out


def _intersect(a: Sequence[Interval], b: Sequence[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for x0, x1 in a:
        for y0, y1 in b:
            lo, hi = max(x0, y0), min(x1, y1)
            if hi > lo:
                out.append((lo, hi))
    return sorted(out)


def _merge(intervals: Sequence[Interval], join: float = 0.0) -> list[Interval]:
    out: list[Interval] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1] + join:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def keep_segments(
    start: float,
    end: float,
    words: Sequence[Word],
    *,
    silences: Sequence[Interval] | None = None,
    remove_silence: bool = True,
    min_silence: float = 0.6,
    pad: float = 0.12,
    fillers: Sequence[str] = (),
    min_keep: float = 0.25,
    long_silence: float = 2.0,
    levels: Levels | None = None,
) -> list[Interval]:
    """The source intervals of ``[start, end]`` to keep, in order.

    ``silences`` are quiet stretches from the audio level (``detect_silences``); None means "not measured" and
    the word gaps decide alone. ``pad`` seconds of each pause stay on either side so speech is not clipped.
    Kept pieces shorter than ``min_keep`` are dropped (a 3-frame flash helps nobody). A quiet stretch of at
    least ``long_silence`` s is cut even where the recogniser stretched a word over it (it does, at pauses).
    ``levels`` (the audio's level): filler cuts move their edges to the quietest point nearby.
    """
    inside = [w for w in words if w.end > start and w.start < end]
    filler_set = {normalise(f) for f in fillers}
    spoken = without_fillers(inside, fillers)
    cuts: list[Interval] = []
    if remove_silence:
        edges = [start, *(x for w in spoken for x in (w.start, w.end)), end]
        # Gaps between consecutive spoken words, plus the lead-in and the tail.
        gaps = [(edges[i], edges[i + 1]) for i in range(0, len(edges) - 1, 2)] if spoken else [(start, end)]
        gaps = [(a, b) for a, b in gaps if b - a >= min_silence]
        if silences is not None:
            gaps = _intersect(gaps, [(a, b) for a, b in silences if b - a >= min_silence])
            gaps += [(max(a, start), min(b, end)) for a, b in silences if b - a >= long_silence]
            gaps = [(a, b) for a, b in _merge(gaps) if b - a >= min_silence]
        for a, b in gaps:
            lo = a if a <= start else a + pad
            hi = b if b >= end else b - pad
            if hi - lo > 0.05:
                cuts.append((lo, hi))
    if filler_set:
        cuts += _filler_cuts(inside, filler_set, start, end, levels)
    kept = _subtract((start, end), _merge(cuts))
    # A short piece is dropped only when no spoken word is centred in it ("is" between a filler and a pause).
    kept = [(a, b) for a, b in kept if b - a >= min_keep or any(a <= (w.start + w.end) / 2 <= b for w in spoken)]
    return kept or [(start, end)]


def _filler_cuts(
    words: Sequence[Word],
    filler_set: set[str],
    start: float,
    end: float,
    levels: Levels | None = None,
    pad: float = 0.04,
    reach: float = 0.4,
    snap: float = 0.15,
) -> list[Interval]:
    """Each filler's times widened by up to ``reach`` s into the gaps either side, never closer than ``pad`` s
    to the spoken words around it.

    Never into a neighbouring word: recognisers let a filler's times overlap its neighbours, and cutting the
    overlap took a word with it ("is really simple" → "simple"). Wider than the filler's own times: a prompted
    Whisper often stamps a filler with zero length at the end of the gap its sound fills. ``reach`` bounds
    how much of a pause goes with it (pauses are silence removal's business). With ``levels``, each edge then
    moves to the quietest point within ``snap`` s (the recogniser's times around fillers are often 0.1-0.3 s
    off; measured on espeak-ng fillers, the cut otherwise kept the start of the "um" and clipped "the").
    """
    from core.media.filler_edges import filler_span, phrases

    spans = phrases(levels) if levels is not None else []
    cuts: list[Interval] = []
    for i, w in enumerate(words):
        if normalise(w.text) not in filler_set:
            continue
        before = [x for x in words[:i] if normalise(x.text) not in filler_set]
        after = [x for x in words[i + 1 :] if normalise(x.text) not in filler_set]
        if spans and (heard := filler_span(spans, w, before[-1] if before else None,
                                           after[0] if after else None, start, end)):  # fmt: skip
            cuts.append(heard)
            continue
        lo_bound = max(start, before[-1].end) if before else start
        hi_bound = min(end, after[0].start) if after else end
        lo = max(lo_bound, min(w.start, max(lo_bound + pad, w.start - reach)))
        hi = min(hi_bound, max(w.end, min(hi_bound - pad, w.end + reach)))
        if levels is not None:
            lo = levels.quietest(lo - snap, lo + snap) or lo
            hi = levels.quietest(hi - snap, hi + snap) or hi
        if hi > lo:
            cuts.append((lo, hi))
    return cuts


def truncate(segments: Sequence[Interval], seconds: float) -> list[Interval]:
    """The first ``seconds`` of kept time (a platform's longest clip)."""
    out: list[Interval] = []
    left = seconds
    for a, b in segments:
        if left <= 0:
            break
        out.append((a, min(b, a + left)))
        left -= out[-1][1] - a
    return out


@dataclass(frozen=True)
class Timeline:
    """Source intervals placed one after the other: the clip's output timeline."""

    segments: tuple[Interval, ...]

    @classmethod
    def of(cls, segments: Sequence[Interval]) -> Timeline:
        return cls(tuple((float(a), float(b)) for a, b in segments))

    @property
    def duration(self) -> float:
        return sum(b - a for a, b in self.segments)

    @property
    def start(self) -> float:
        return self.segments[0][0]

    @property
    def end(self) -> float:
        return self.segments[-1][1]

    def to_out(self, t: float, *, snap: str = "none") -> float | None:
        """Output time of source time ``t``; inside a cut: None, or the cut's position with ``snap='cut'``."""
        offset = 0.0
        for a, b in self.segments:
            if t < a:
                return offset if snap == "cut" else None
            if t <= b:
                return offset + (t - a)
            offset += b - a
        return offset if snap == "cut" else None

    def to_source(self, out: float) -> float:
        """Source time shown at output time ``out`` (clamped to the timeline)."""
        offset = 0.0
        for a, b in self.segments:
            if out <= offset + (b - a):
                return a + max(0.0, out - offset)
            offset += b - a
        return self.end

    def retime_words(self, words: Sequence[Word]) -> list[Word]:
        """Words that survive the cuts, with times on the output timeline (a word clipped by a cut is squeezed)."""
        out: list[Word] = []
        for w in words:
            if w.end <= self.start or w.start >= self.end:
                continue
            s = self.to_out(max(w.start, self.start), snap="cut")
            e = self.to_out(min(w.end, self.end), snap="cut")
            assert s is not None and e is not None
            if e - s < 0.02:  # the word fell entirely inside a cut (a removed filler)
                continue
            out.append(Word(text=w.text, start=round(s, 3), end=round(e, 3), probability=w.probability))
        return out
