"""Talk units: the paragraphs a talk is made of, where a topic or a beat starts. Clips never straddle two.

A unit boundary falls before a sentence that follows a clearly longer pause than the talk's usual pause between
sentences: the pauses are split in two groups where the variance between them is largest (Otsu's rule on the
talk's own sentence gaps, so a fast and a slow speaker both work), and a boundary pause must also reach
``UNIT_PAUSE`` s and ``PAUSE_RATIO`` times the median gap (audio pauses when the WAV is known, see
``core.pipeline.candidates.split_sentences``). Talks spoken without such pauses still get
units: a unit longer than ``LONG_UNIT`` s is split where the vocabulary changes most (TextTiling-style cosine of
the ``WINDOW`` sentences either side), recursively. A unit shorter than ``SHORT_UNIT`` s (a lone "Great." after
a long pause) joins the neighbour whose words it shares most, unless a silence over ``MAX_GAP`` s separates them.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter

from core.pipeline.candidates import MAX_GAP, Sentence


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


UNIT_PAUSE = 0.55
PAUSE_RATIO = 1.3
LONG_UNIT = 75.0
SHORT_UNIT = 5.0
WINDOW = 3

_WORD = re.compile(r"[a-z]+")
_COMMON = _wordset(
    """
    a an the and or but so of to in on at for with from by as is are was were be been it its this that these
    those i you he she we they me my your our their his her them us not no do does did have has had will would
    can could just very really then there here what which who when where how if about into out up down over
    than too also all some any one
    """
)


def talk_units(sentences: list[Sentence]) -> list[list[Sentence]]:
    """The talk's sentences grouped into units (see the module docstring); every sentence is in exactly one."""
    if len(sentences) <= 1:
        return [sentences] if sentences else []
    # long silences (a break, a video) say nothing about paragraph pauses: capped, they cannot skew the split
    gaps = [min(s.gap_before, MAX_GAP) for s in sentences[1:] if math.isfinite(s.gap_before)]
    threshold = max(UNIT_PAUSE, PAUSE_RATIO * statistics.median(gaps), _otsu(gaps)) if gaps else float("inf")
    units: list[list[Sentence]] = [[sentences[0]]]
    for s in sentences[1:]:
        if s.gap_before >= threshold:
            units.append([s])
        else:
            units[-1].append(s)
    units = [part for unit in units for part in _split_long(unit)]
    return _merge_short(units)


def _otsu(values: list[float]) -> float:
    """The cut between the short and the long pauses that maximises the variance between the two groups."""
    ordered = sorted(values)
    n = len(ordered)
    if n < 4:
        return 0.0
    total = sum(ordered)
    best, cut, left = -1.0, 0.0, 0.0
    for i in range(1, n):
        left += ordered[i - 1]
        w0, w1 = i / n, (n - i) / n
        m0, m1 = left / i, (total - left) / (n - i)
        between = w0 * w1 * (m0 - m1) ** 2
        if between > best and ordered[i] > ordered[i - 1]:
            best, cut = between, (ordered[i - 1] + ordered[i]) / 2
    return cut


def _bag(sentences: list[Sentence]) -> Counter[str]:
    return Counter(w for s in sentences for w in _WORD.findall(s.text.lower()) if w not in _COMMON and len(w) > 2)


def cosine(a: Counter[str], b: Counter[str]) -> float:
    dot = sum(v * b.get(t, 0) for t, v in a.items())
    na = math.sqrt(sum(v * v for v in a.values()))
    nb = math.sqrt(sum(v * v for v in b.values()))
    return dot / (na * nb) if na and nb else 0.0


def _duration(unit: list[Sentence]) -> float:
    return unit[-1].end - unit[0].start


def _split_long(unit: list[Sentence]) -> list[list[Sentence]]:
    if _duration(unit) <= LONG_UNIT or len(unit) < 4:
        return [unit]
    best, best_k = -1.0, 0
    for k in range(2, len(unit) - 1):
        left, right = unit[max(0, k - WINDOW) : k], unit[k : k + WINDOW]
        if _duration(unit[:k]) < 15 or _duration(unit[k:]) < 15:
            continue
        shift = 1 - cosine(_bag(left), _bag(right)) + min(1.0, unit[k].gap_before)
        if shift > best:
            best, best_k = shift, k
    if not best_k:
        return [unit]
    return _split_long(unit[:best_k]) + _split_long(unit[best_k:])


def _merge_short(units: list[list[Sentence]]) -> list[list[Sentence]]:
    out = list(units)
    changed = True
    while changed and len(out) > 1:
        changed = False
        for i, unit in enumerate(out):
            if _duration(unit) >= SHORT_UNIT:
                continue
            near_prev = i > 0 and unit[0].gap_before <= MAX_GAP
            near_next = i + 1 < len(out) and unit[-1].gap_after <= MAX_GAP
            if not (near_prev or near_next):
                continue  # alone between long silences: a unit of its own
            prev = cosine(_bag(unit), _bag(out[i - 1])) if near_prev else -1.0
            nxt = cosine(_bag(unit), _bag(out[i + 1])) if near_next else -1.0
            if nxt > prev or (nxt == prev and i + 1 < len(out)):  # ties: a lone opener belongs to what follows
                out[i : i + 2] = [unit + out[i + 1]]
            else:
                out[i - 1 : i + 1] = [out[i - 1] + unit]
            changed = True
            break
    return out
