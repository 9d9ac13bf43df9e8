"""Where a filler's sound really is, read from the audio level rather than from the recogniser's times.

Around fillers the recogniser's word times run 0.1-0.4 s late (tiny.en on espeak-ng stamped "uh" over the
start of the next word "open", and a zero-length "Um" at the end of the pause its sound filled), so a cut at
those times kept the filler and clipped the next word; a re-transcription still heard 4 of 6 cut fillers.

The clip's audio is split into *phrases*: runs of voiced hops (level above a threshold set from the clip's
own loud speech and its floor) joined across dips shorter than ``JOIN`` s (the stops inside a word). A
spoken filler is set off by short pauses, so it is a phrase of its own, lying after the previous word's
phrase and before the phrase where the next word's sound begins. The cut runs from the middle of the pause
before it to the middle of the pause after it (at most ``REACH`` s into each pause), so it never enters a
neighbour's voiced sound. When the audio shows no such phrase (a filler run into its neighbours with no
pause) the answer is None and the caller keeps to the recogniser's times.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core.contracts import Word
from core.media.audio_scan import Levels

Interval = tuple[float, float]

#: Dips shorter than this (s) join two voiced runs into one phrase: plosives and stops inside a word.
JOIN = 0.08
#: Voiced runs shorter than this (s) are clicks, not speech.
MIN_RUN = 0.03
#: A hop is voiced when its level lies less than this (dB) below the clip's loud speech (95th percentile)...
DROP_DB = 30.0
#: ...and a hop this far (dB) under loud speech is never a pause: a window that is nearly all speech.
GAP_DB = 12.0
#: How much earlier than its recognised start (s) a word's sound may begin (recognisers run late here).
LATE = 0.45
#: How much later than its recognised start (s) a word's sound may begin.
EARLY = 0.1
#: The most of a pause (s) that goes with a filler on each side; longer pauses are silence removal's business.
REACH = 0.4


def phrases(levels: Levels) -> list[Interval]:
    """Voiced phrases (start, end) in seconds of the file, in order."""
    if len(levels.rms) == 0:
        return []
    db = 20 * np.log10(np.maximum(levels.rms, 1.0) / 32768.0)
    loud, floor = float(np.percentile(db, 95)), float(np.percentile(db, 10))
    # ...and above the middle between that and the floor (a noisy recording's pauses are not digital silence),
    # but never more than GAP_DB below loud speech (a window with hardly a pause has its floor in speech).
    voiced = db > min(loud - GAP_DB, max(loud - DROP_DB, (loud + floor) / 2))
    edges = np.flatnonzero(np.diff(np.concatenate([[0], voiced.astype(np.int8), [0]])))
    runs: list[Interval] = []
    for a, b in edges.reshape(-1, 2):
        t0, t1 = float(levels.start + a * levels.hop), float(levels.start + b * levels.hop)
        if runs and t0 - runs[-1][1] < JOIN:
            runs[-1] = (runs[-1][0], t1)
        else:
            runs.append((t0, t1))
    return [(round(a, 3), round(b, 3)) for a, b in runs if b - a >= MIN_RUN]


def filler_span(
    spans: Sequence[Interval],
    filler: Word,
    prev: Word | None,
    nxt: Word | None,
    start: float,
    end: float,
) -> Interval | None:
    """The source interval to cut for ``filler`` between the spoken words ``prev`` and ``nxt`` (None at the
    clip's edges), or None when the audio shows no phrase of its own for it."""
    # The previous word's phrase: the last one beginning by its start (+ EARLY). The next word's: the last
    # one beginning by its start + EARLY, if it begins no more than LATE before it; else the first after.
    first = -1
    if prev is not None:
        first = max((i for i, (a, _) in enumerate(spans) if a <= prev.start + EARLY), default=-1)
    last = len(spans)
    if nxt is not None:
        onsets = [i for i, (a, _) in enumerate(spans) if nxt.start - LATE <= a <= nxt.start + EARLY]
        last = onsets[-1] if onsets else next((i for i, (a, _) in enumerate(spans) if a > nxt.start), len(spans))
    lo_t, hi_t = filler.start - LATE, filler.end + EARLY
    mine = [i for i in range(first + 1, last) if spans[i][1] > lo_t and spans[i][0] < hi_t]
    if not mine:
        return None
    a, b = spans[mine[0]][0], spans[mine[-1]][1]
    before = spans[mine[0] - 1][1] if mine[0] > 0 else start
    after = spans[mine[-1] + 1][0] if mine[-1] + 1 < len(spans) else end
    lo = max(start, (before + a) / 2, a - REACH)
    hi = min(end, (b + after) / 2, b + REACH)
    return (round(lo, 3), round(hi, 3)) if hi > lo else None
