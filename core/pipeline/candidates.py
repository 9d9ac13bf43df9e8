"""Candidate windows: stretches of the talk that start at a sentence start and end at a sentence end.

Sentences come from the words' punctuation (``.?!``) and from pauses (a gap of ``PAUSE_BREAK`` s or more ends a
sentence even without punctuation, since recognisers often drop it). A window never spans a gap longer than
``MAX_GAP`` s: a clip that contains a long silence is not worth posting. Overlapping windows are allowed: the
selector scores them all and the validation in ``core.pipeline.select`` de-duplicates the winners.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any

import structlog

from core.contracts import Candidate, SelectionRequest, Transcript, Word

log = structlog.get_logger("clipcast.candidates")

#: A gap between words (s) that ends a sentence even without punctuation.
PAUSE_BREAK = 1.0
#: The longest gap between words (s) a candidate window may contain.
MAX_GAP = 3.0
#: Most windows starting at one sentence (keeps very long talks bounded: O(sentences x this)).
MAX_PER_START = 12

_END = re.compile(r"[.?!…]+[\"')\]]*$")


@dataclass
class Sentence:
    """A run of words ending on punctuation or a pause. ``complete``: it ends on ``.?!``."""

    words: list[Word] = field(default_factory=list)
    complete: bool = False

    @property
    def start(self) -> float:
        return self.words[0].start

    @property
    def end(self) -> float:
        return self.words[-1].end

    @property
    def text(self) -> str:
        return join_words(self.words)


def join_words(words: list[Word]) -> str:
    """Whisper words carry their leading space (" Hello.", and "%" glued to " 90"): joined as they are. Words
    from recognisers that never carry spaces are joined with spaces."""
    if any(w.text[:1].isspace() for w in words):
        text = "".join(w.text for w in words)
    else:
        text = " ".join(w.text for w in words)
    return re.sub(r"\s+", " ", text).strip()


def clean_words(transcript: Transcript) -> list[Word]:
    """Timed, non-empty words in time order (ends never before starts)."""
    words = [w for w in transcript.words if w.text.strip()]
    words.sort(key=lambda w: w.start)
    return [w if w.end >= w.start else w.model_copy(update={"end": w.start}) for w in words]


def split_sentences(transcript: Transcript, *, pause_break: float = PAUSE_BREAK) -> list[Sentence]:
    words = clean_words(transcript)
    sentences: list[Sentence] = []
    current = Sentence()
    for i, word in enumerate(words):
        current.words.append(word)
        nxt = words[i + 1] if i + 1 < len(words) else None
        ends = bool(_END.search(word.text.strip()))
        paused = nxt is not None and nxt.start - word.end >= pause_break
        if ends or paused or nxt is None:
            current.complete = ends
            sentences.append(current)
            current = Sentence()
    return sentences


def core_candidates(transcript: Transcript, request: SelectionRequest, *, max_gap: float = MAX_GAP) -> list[Candidate]:
    """Every window of whole sentences between ``request.min_seconds`` and ``max_seconds`` long that ends on a
    sentence end (punctuation, or the pause before a long silence) and contains no gap over ``max_gap`` s."""
    sentences = split_sentences(transcript)
    inner_gaps = [_max_inner_gap([s]) for s in sentences]  # each sentence's own longest gap, computed once
    out: list[Candidate] = []
    for i, first in enumerate(sentences):
        found = 0
        for j in range(i, len(sentences)):
            last = sentences[j]
            if j > i and last.start - sentences[j - 1].end > max_gap:
                break
            if inner_gaps[j] > max_gap:
                break
            duration = last.end - first.start
            if duration > request.max_seconds:
                break
            nxt = sentences[j + 1] if j + 1 < len(sentences) else None
            clean_end = last.complete or nxt is None or nxt.start - last.end >= PAUSE_BREAK
            if duration >= request.min_seconds and clean_end:
                words = [w for s in sentences[i : j + 1] for w in s.words]
                out.append(Candidate(start=first.start, end=last.end, text=join_words(words), source="core"))
                found += 1
                if found >= MAX_PER_START:
                    break
    if not out:
        out = _fallback(sentences, request, max_gap)
    return out


def _max_inner_gap(sentences: list[Sentence]) -> float:
    words = [w for s in sentences for w in s.words]
    return max((b.start - a.end for a, b in itertools.pairwise(words)), default=0.0)


def _fallback(sentences: list[Sentence], request: SelectionRequest, max_gap: float) -> list[Candidate]:
    """Talks without usable sentence ends (one run-on sentence longer than ``max_seconds``): windows of whole
    words, ``max_seconds`` long at most, starting at each sentence start and then every ``min_seconds``."""
    words = [w for s in sentences for w in s.words]
    if not words:
        return []
    out: list[Candidate] = []
    starts = sorted({s.start for s in sentences})
    t = words[0].start
    while t < words[-1].end:
        starts.append(t)
        t += request.min_seconds
    for start in sorted(set(starts)):
        inside: list[Word] = []
        for w in words:
            if w.start < start:
                continue
            if w.end - start > request.max_seconds or (inside and w.start - inside[-1].end > max_gap):
                break
            inside.append(w)
        if inside and inside[-1].end - inside[0].start >= request.min_seconds:
            out.append(Candidate(start=inside[0].start, end=inside[-1].end, text=join_words(inside), source="core"))
    return out


def plugin_candidates(manager: Any, transcript: Transcript, request: SelectionRequest) -> list[Candidate]:
    """Candidates from ``clip_candidates`` hook implementations. Dicts are accepted and validated; a
    plugin's source name defaults to the plugin's registered name."""
    out: list[Candidate] = []
    for impl in manager.hook.clip_candidates.get_hookimpls():
        kwargs = {"transcript": transcript, "request": request}
        try:
            result = impl.function(**{k: v for k, v in kwargs.items() if k in impl.argnames}) or []
            found = [item if isinstance(item, Candidate) else Candidate.model_validate(item) for item in result]
        except Exception as exc:  # one plugin's bug must not stop the selection: its windows are skipped
            log.warning(
                "clip_candidates plugin failed; its windows are skipped", plugin=impl.plugin_name, error=repr(exc)
            )
            continue
        for cand in found:
            if cand.source == "core":
                cand = cand.model_copy(update={"source": impl.plugin_name})
            if cand.end > cand.start:
                out.append(cand)
    return out


def gather_candidates(manager: Any, transcript: Transcript, request: SelectionRequest) -> list[Candidate]:
    """The core's sentence windows plus every plugin's, without exact duplicates."""
    seen: set[tuple[float, float]] = set()
    out: list[Candidate] = []
    for cand in [*core_candidates(transcript, request), *plugin_candidates(manager, transcript, request)]:
        key = (round(cand.start, 2), round(cand.end, 2))
        if key not in seen:
            seen.add(key)
            out.append(cand)
    return out
