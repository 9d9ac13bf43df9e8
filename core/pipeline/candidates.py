"""Candidate windows: whole talk units, or runs of whole sentences inside one unit (``core.pipeline.units``).

Sentences come from the words' punctuation (``.?!``) and from pauses (a gap of ``PAUSE_BREAK`` s between the
words, or an audio pause of ``AUDIO_BREAK`` s when the 16 kHz WAV is known, ends a sentence even without
punctuation, since recognisers often drop it). A window never straddles two units (topics) and never spans a
gap longer than ``MAX_GAP`` s. The number of windows grows linearly with the talk: each unit gives itself and
at most ``MAX_PER_START`` runs per sentence inside it, and units are bounded by the length limits. Overlapping
windows are allowed: the selector scores them all and ``core.pipeline.select`` de-duplicates the winners.
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
#: An audio pause (s) between two words that ends a sentence even without punctuation.
AUDIO_BREAK = 0.6
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
    #: pause before the first word and after the last one (s): the audio's when known, else the word gap
    gap_before: float = 0.0
    gap_after: float = 0.0

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


def split_sentences(
    transcript: Transcript, *, pause_break: float = PAUSE_BREAK, pauses: list[tuple[float, float]] | None = None
) -> list[Sentence]:
    """Sentences of the transcript; ``pauses`` (audio pauses, ``core.pipeline.pauses``) refine the gaps."""
    words = clean_words(transcript)
    gaps = word_gaps(words, pauses or [])
    sentences: list[Sentence] = []
    current = Sentence(gap_before=float("inf"))
    for i, word in enumerate(words):
        current.words.append(word)
        nxt = words[i + 1] if i + 1 < len(words) else None
        ends = bool(_END.search(word.text.strip()))
        gap = gaps[i] if nxt is not None else float("inf")
        paused = nxt is not None and (nxt.start - word.end >= pause_break or (pauses and gap >= AUDIO_BREAK))
        if ends or paused or nxt is None:
            current.complete = ends
            current.gap_after = gap
            sentences.append(current)
            current = Sentence(gap_before=gap)
    return sentences


def word_gaps(words: list[Word], pauses: list[tuple[float, float]]) -> list[float]:
    """The pause after each word (s): the longest audio pause whose middle lies between the middles of the word
    and the next (recognisers stretch words over pauses, so their times alone miss them), or the plain gap
    between the word times when that is longer (or there is no audio)."""
    mids = [(a + b) / 2 for a, b in pauses]
    out: list[float] = []
    k = 0
    for i, word in enumerate(words):
        if i + 1 >= len(words):
            out.append(float("inf"))
            continue
        nxt = words[i + 1]
        lo, hi = (word.start + word.end) / 2, (nxt.start + nxt.end) / 2
        while k < len(mids) and mids[k] < lo:
            k += 1
        best = max(0.0, nxt.start - word.end)
        j = k
        while j < len(mids) and mids[j] <= hi:
            best = max(best, pauses[j][1] - pauses[j][0])
            j += 1
        out.append(best)
    return out


def core_candidates(transcript: Transcript, request: SelectionRequest, *, max_gap: float = MAX_GAP) -> list[Candidate]:
    """Each talk unit that fits ``request``'s bounds, and every run of whole sentences inside one unit that fits
    and contains no gap over ``max_gap`` s. A unit longer than the maximum without any sentence end inside it
    (run-on speech) gets windows of whole words (``_fallback``). No window straddles two units: a talk whose
    units are all shorter than ``min_seconds`` has no candidates (``explain_empty`` says so)."""
    from core.pipeline.pauses import find_pauses
    from core.pipeline.select import current_audio
    from core.pipeline.units import talk_units

    sentences = split_sentences(transcript, pauses=find_pauses(current_audio()))
    out: list[Candidate] = []
    for unit in talk_units(sentences):
        runs = _runs(unit, request, max_gap, source="core")
        if not runs and unit[-1].end - unit[0].start > request.max_seconds:
            runs = _fallback(unit, request, max_gap)
        out += runs
    return out


def _runs(sentences: list[Sentence], request: SelectionRequest, max_gap: float, *, source: str) -> list[Candidate]:
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
            clean_end = last.complete or last.gap_after >= PAUSE_BREAK or j == len(sentences) - 1
            if duration >= request.min_seconds and clean_end:
                words = [w for s in sentences[i : j + 1] for w in s.words]
                out.append(Candidate(start=first.start, end=last.end, text=join_words(words), source=source))
                found += 1
                if found >= MAX_PER_START:
                    break
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
