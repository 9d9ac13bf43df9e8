"""The default clip selector: no model, no network. Scores windows 0-100 from signals an editor would name.

Signals (each 0-100, in ``sub_scores``):
- ``hook``: the first sentence asks a question, has a number, speaks to "you" or makes a strong claim;
- ``keywords``: how salient the window's words are against the whole talk (TF-IDF over sentences);
- ``completeness``: it ends on a finished sentence;
- ``pace``: speaking rate near a lively 2.5-3.5 words/s;
- ``energy``: loudness against the talk's average (only with the 16 kHz WAV; left out without it);
- ``fillers``: little "um/uh/you know"; ``silence``: little dead air between words.
Titles, captions and hashtags are templated from the clip's own words.
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
import wave
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from clipcast import (
    MAX_OVERLAP,
    Candidate,
    Chapter,
    ClipPlan,
    ClipSelector,
    SelectionRequest,
    Sentence,
    Summary,
    Transcript,
    Word,
    clean_words,
    current_audio,
    hookimpl,
    join_words,
    overlap_share,
    split_sentences,
)


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


STOPWORDS = _wordset(
    """
    a about above after again against all am an and any are as at be because been before being below between
    both but by can could did do does doing down during each few for from further had has have having he her
    here hers him his how i if in into is it its itself just let me more my no nor not now of off on once only
    or other our ours out over own same she should so some such than that the their them then there these they
    this those through to too under until up very was we were what when where which while who whom why will with
    would you your yours yourself ll re ve don didn doesn isn aren wasn weren won t s d m o also get got go
    going gonna one two like well yeah okay ok oh um uh really thing things lot way see know think say said make
    made new next many much even still back want need use used using let's
    """
)
FILLERS = frozenset({"um", "uh", "erm", "er", "ah", "hmm", "mm", "uhm", "basically", "literally"})
FILLER_PAIRS = frozenset({("you", "know"), ("i", "mean"), ("kind", "of"), ("sort", "of")})
CLAIM_WORDS = _wordset(
    """
    never always secret mistake mistakes best worst biggest most every everyone everybody nobody nothing truth
    wrong stop must huge only everything proven shocking surprising incredible important key fail fails failing
    simple easy fastest hardest real
    """
)
NUMBER_WORDS = _wordset(
    """
    two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty hundred thousand
    million billion percent half double triple
    """
)
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")

#: How much each signal weighs in the overall score (renormalised over the signals available).
WEIGHTS = {
    "hook": 0.30,
    "keywords": 0.20,
    "completeness": 0.15,
    "pace": 0.10,
    "energy": 0.10,
    "fillers": 0.075,
    "silence": 0.075,
}


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower().replace("\u2019", "'"))


def content_words(text: str) -> list[str]:
    """Lower-cased words that carry the topic, plurals folded (``bicycles`` and ``bicycle`` are one keyword)."""
    return [stem(t) for t in tokens(text) if t not in STOPWORDS and len(t) > 2 and not t.isdigit()]


@lru_cache(maxsize=65536)
def _word_terms(text: str) -> tuple[str, ...]:
    """``content_words`` of one transcript word, cached: a talk repeats its words, and candidates overlap."""
    return tuple(content_words(text))


@lru_cache(maxsize=65536)
def _word_tokens(text: str) -> tuple[str, ...]:
    return tuple(tokens(text))


def words_terms(words: list[Word]) -> list[str]:
    return [t for w in words for t in _word_terms(w.text)]


def stem(word: str) -> str:
    """A deliberately small plural folding (English); leaves words it is unsure of alone."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and (word.endswith(("ches", "shes")) or (word.endswith("es") and word[-3] in "sxz")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "is", "us")):
        return word[:-1]
    return word


# ------------------------------------------------------------------------------------------------ corpus


class Corpus:
    """Document frequencies over the talk's sentences, for TF-IDF salience."""

    def __init__(self, sentences: list[Sentence]) -> None:
        self.n = max(1, len(sentences))
        self.df: Counter[str] = Counter()
        for s in sentences:
            self.df.update(set(content_words(s.text)))

    def idf(self, term: str) -> float:
        return math.log((1 + self.n) / (1 + self.df.get(term, 0))) + 1.0

    def weights(self, terms: str | list[str]) -> dict[str, float]:
        """TF-IDF of a text (or of its ``content_words`` already split)."""
        counts = Counter(content_words(terms) if isinstance(terms, str) else terms)
        return {t: c * self.idf(t) for t, c in counts.items()}

    def keywords(self, terms: str | list[str], k: int = 3) -> list[str]:
        terms = content_words(terms) if isinstance(terms, str) else terms
        w = self.weights(terms)
        # ties (common in short talks) go to the longer, more specific word, then to the earlier one
        order = {t: i for i, t in reversed(list(enumerate(terms)))}
        return [t for t, _ in sorted(w.items(), key=lambda kv: (-round(kv[1], 6), -len(kv[0]), order[kv[0]]))[:k]]

    def salience(self, terms: str | list[str], k: int = 5) -> float:
        top = sorted(self.weights(terms).values(), reverse=True)[:k]
        return sum(top) / k if top else 0.0


# ------------------------------------------------------------------------------------------------- audio


@dataclass
class Loudness:
    """RMS level in dBFS per 100 ms frame of a 16-bit WAV."""

    frame: float
    db: np.ndarray

    def mean_db(self, start: float, end: float) -> float | None:
        a, b = int(start / self.frame), max(int(start / self.frame) + 1, math.ceil(end / self.frame))
        seg = self.db[a:b]
        seg = seg[seg > -60]  # speech frames only: pauses would drag every window down
        return float(seg.mean()) if seg.size else None


@lru_cache(maxsize=4)
def _loudness_cached(path: str, _mtime: float, frame: float = 0.1) -> Loudness | None:
    try:
        with wave.open(path, "rb") as w:
            if w.getsampwidth() != 2:
                return None
            rate, channels = w.getframerate(), w.getnchannels()
            data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32)
    except (OSError, wave.Error, EOFError):
        return None
    if channels > 1:
        data = data[: len(data) // channels * channels].reshape(-1, channels).mean(axis=1)
    step = max(1, int(rate * frame))
    n = len(data) // step
    if n == 0:
        return None
    frames = data[: n * step].reshape(n, step) / 32768.0
    rms = np.sqrt(np.mean(frames**2, axis=1))
    return Loudness(frame=frame, db=20 * np.log10(np.maximum(rms, 1e-6)))


def loudness(path: Path | None) -> Loudness | None:
    """Frame levels of a WAV, or None when there is no usable file (the energy signal is then left out)."""
    if path is None or not Path(path).is_file():
        return None
    return _loudness_cached(str(path), Path(path).stat().st_mtime)


# ----------------------------------------------------------------------------------------------- scoring


def _clamp(x: float) -> float:
    return max(0.0, min(100.0, x))


@dataclass
class Scored:
    candidate: Candidate
    words: list[Word]
    sentences: list[Sentence]
    sub: dict[str, float]
    notes: dict[str, str]
    score: float = 0.0


class HeuristicSelector(ClipSelector):
    name = "heuristic"
    description = "offline scoring from hooks, keywords, pace, loudness and completeness (default, no model)"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        weights: dict[str, float] = Field(
            default_factory=dict, description=f"override signal weights; names: {', '.join(WEIGHTS)}"
        )
        max_gap: float = Field(0.5, ge=0, description="word gaps longer than this (s) count as silence")

        @field_validator("weights")
        @classmethod
        def _known(cls, value: dict[str, float]) -> dict[str, float]:
            unknown = sorted(set(value) - set(WEIGHTS))
            if unknown:
                raise ValueError(f"unknown signal(s) {', '.join(unknown)}; known: {', '.join(WEIGHTS)}")
            if any(v < 0 for v in value.values()):
                raise ValueError("weights must not be negative")
            return value

    # ------------------------------------------------------------------------------------------ select

    def select(self, transcript: Transcript, candidates: list[Candidate], request: SelectionRequest) -> list[ClipPlan]:
        sentences = split_sentences(transcript)
        if not sentences or not candidates:
            return []
        corpus = Corpus(sentences)
        level = loudness(current_audio())
        talk_db = level.mean_db(0, transcript.duration or sentences[-1].end) if level else None
        words = clean_words(transcript)
        starts = ([w.start for w in words], [x.start for x in sentences])
        scored = [self._score(c, words, sentences, starts, corpus, level, talk_db) for c in candidates]
        scored = [s for s in scored if s.words]
        top = max((s.sub["keywords_raw"] for s in scored), default=0.0) or 1.0
        weights = {**WEIGHTS, **self.options.weights}
        for s in scored:
            s.sub["keywords"] = _clamp(100 * s.sub.pop("keywords_raw") / top)
            used = {k: w for k, w in weights.items() if k in s.sub and w > 0}
            total = sum(used.values()) or 1.0
            s.score = round(sum(s.sub[k] * w for k, w in used.items()) / total, 1)
        scored.sort(key=lambda s: (s.score, -s.candidate.start), reverse=True)
        typical = {k: float(np.median(values)) for k in WEIGHTS if (values := [s.sub[k] for s in scored if k in s.sub])}
        # keep a few more than asked: validation may merge or drop some
        plans: list[ClipPlan] = []
        for s in scored:
            if any(overlap_share(s.candidate, p) > MAX_OVERLAP for p in plans):
                continue
            plans.append(self._plan(s, corpus, typical))
            if len(plans) >= request.clips * 2:
                break
        return plans

    def _score(
        self,
        cand: Candidate,
        words: list[Word],
        sentences: list[Sentence],
        starts: tuple[list[float], list[float]],
        corpus: Corpus,
        level: Loudness | None,
        talk_db: float | None,
    ) -> Scored:
        inside = _within(words, starts[0], cand)
        sents = _within(sentences, starts[1], cand)
        if not sents and inside:
            sents = [Sentence(words=inside, complete=False)]
        sub: dict[str, float] = {}
        notes: dict[str, str] = {}
        if not inside:
            return Scored(cand, inside, sents, sub, notes)
        duration = max(0.1, cand.end - cand.start)

        # hook: the first sentence carries it; "you" in the second still counts a little
        first = sents[0].text
        first_tokens = tokens(first)
        second_tokens = tokens(sents[1].text) if len(sents) > 1 else []
        feats = []
        hook = 0.0
        if first.rstrip().endswith("?"):
            hook += 40
            feats.append("a question")
        if re.search(r"\d", first) or any(t in NUMBER_WORDS for t in first_tokens):
            hook += 25
            feats.append("a number")
        if {"you", "your", "you're", "yourself"} & set(first_tokens):
            hook += 25
            feats.append('"you"')
        elif {"you", "your", "you're"} & set(second_tokens):
            hook += 12
            feats.append('"you"')
        claims = sorted(CLAIM_WORDS & set(first_tokens + second_tokens))
        if claims:
            hook += 20 if CLAIM_WORDS & set(first_tokens) else 10
            feats.append(f'a strong claim ("{claims[0]}")')
        sub["hook"] = _clamp(hook)
        notes["hook"] = f"opens with {', '.join(feats)}" if feats else ""

        sub["keywords_raw"] = corpus.salience(words_terms(inside))  # the note is written in _plan (winners only)

        last = sents[-1]
        ends_clean = last.complete and abs(last.end - inside[-1].end) < 0.05
        sub["completeness"] = 100.0 if ends_clean else 50.0
        notes["completeness"] = "a complete thought" if ends_clean else ""

        gaps = [b.start - a.end for a, b in itertools.pairwise(inside)]
        dead = sum(g for g in gaps if g > self.options.max_gap)
        speech = max(0.1, duration - dead)
        rate = len(inside) / speech
        sub["pace"] = _clamp(100 - 45 * max(0.0, abs(rate - 3.0) - 0.5))
        notes["pace"] = f"lively pace ({rate:.1f} words/s)"

        if level is not None and talk_db is not None:
            db = level.mean_db(cand.start, cand.end)
            if db is not None:
                sub["energy"] = _clamp(50 + (db - talk_db) * 10)
                notes["energy"] = f"louder than the talk's average ({db - talk_db:+.1f} dB)"

        toks = [t for w in inside for t in _word_tokens(w.text)]
        fillers = sum(t in FILLERS for t in toks) + sum(p in FILLER_PAIRS for p in itertools.pairwise(toks))
        share = fillers / max(1, len(toks))
        sub["fillers"] = _clamp(100 * (1 - 5 * share))
        notes["fillers"] = "no filler words" if fillers == 0 else ""
        silence = dead / duration
        sub["silence"] = _clamp(100 * (1 - 2.5 * silence))
        notes["silence"] = "no dead air" if silence < 0.05 else ""
        return Scored(cand, inside, sents, sub, notes)

    def _plan(self, s: Scored, corpus: Corpus, typical: dict[str, float]) -> ClipPlan:
        text = join_words(s.words)
        keywords = corpus.keywords(words_terms(s.words), 3)
        s.notes["keywords"] = "salient words: " + ", ".join(keywords)
        hashtags = [f"#{k}" for k in keywords]
        title = _title(s.sentences[0].text if s.sentences else text)
        caption = _shorten(" ".join(x.text for x in s.sentences[:2]) or text, 150)
        tags = " ".join(hashtags)
        sub = {k: round(v, 1) for k, v in s.sub.items()}
        return ClipPlan(
            start=s.candidate.start,
            end=s.candidate.end,
            score=s.score,
            sub_scores=sub,
            reason=_reason(s, typical),
            title=title,
            caption=caption,
            hashtags=hashtags,
            platform_captions={
                "tiktok": f"{title} {tags}".strip(),
                "youtube": f"{title} #shorts",
                "instagram": f"{caption}\n\n{tags}".strip(),
            },
            text=text,
        )

    # --------------------------------------------------------------------------------------- summarize

    def summarize(self, transcript: Transcript) -> Summary:
        sentences = split_sentences(transcript)
        if not sentences:
            return Summary(summary="No speech was found in this video.", chapters=[])
        corpus = Corpus(sentences)
        duration = transcript.duration or sentences[-1].end
        groups = chapter_groups(sentences, duration)
        chapters = [
            Chapter(start=0.0 if i == 0 else round(group[0].start, 1), title=_chapter_title(group, corpus))
            for i, group in enumerate(groups)
        ]
        # one representative sentence per chapter (the most salient), at most six, in the talk's order
        best = [max(g, key=lambda x: (len(tokens(x.text)) >= 4, corpus.salience(x.text, 4))) for g in groups]
        if len(best) > 6:
            best = sorted(
                sorted(best, key=lambda x: corpus.salience(x.text, 4), reverse=True)[:6], key=lambda x: x.start
            )
        summary = " ".join(_shorten(x.text, 200) for x in best)
        return Summary(summary=summary, chapters=chapters)


# --------------------------------------------------------------------------------------------- chapters


def chapter_groups(sentences: list[Sentence], duration: float, window: int = 3) -> list[list[Sentence]]:
    """Split sentences where the vocabulary changes (cosine similarity of the ``window`` sentences either side,
    TextTiling-style) or a long pause falls; chapters last at least max(5 s, duration / 20)."""
    n = len(sentences)
    if n < 2:
        return [sentences]
    min_len = max(5.0, duration / 20)
    bags = [Counter(content_words(s.text)) for s in sentences]
    shift: list[tuple[float, int]] = []
    for k in range(1, n):
        left = sum((bags[i] for i in range(max(0, k - window), k)), Counter())
        right = sum((bags[i] for i in range(k, min(n, k + window))), Counter())
        gap = sentences[k].start - sentences[k - 1].end
        score = (1 - _cosine(left, right)) + min(1.0, gap / 2.0)
        shift.append((score, k))
    cuts: list[int] = []
    max_chapters = max(1, min(20, int(duration / min_len)))
    threshold = 1.0  # no shared vocabulary at all, or shared vocabulary plus a clear pause
    for score, k in sorted(shift, reverse=True):
        if len(cuts) + 1 >= max_chapters or score < threshold:
            break
        t = sentences[k].start
        bounds = [0.0, *(sentences[c].start for c in cuts), duration]
        if all(abs(t - b) >= min_len for b in bounds):
            cuts.append(k)
    cuts.sort()
    edges = [0, *cuts, n]
    return [sentences[a:b] for a, b in itertools.pairwise(edges)]


def _cosine(a: Counter[str], b: Counter[str]) -> float:
    dot = sum(a[t] * b.get(t, 0) for t in a)
    na = math.sqrt(sum(v * v for v in a.values()))
    nb = math.sqrt(sum(v * v for v in b.values()))
    return dot / (na * nb) if na and nb else 0.0


def _chapter_title(group: list[Sentence], corpus: Corpus) -> str:
    words = corpus.keywords(" ".join(s.text for s in group), 3)
    if not words:
        return _title(group[0].text, 40)
    words = [w.capitalize() if i == 0 else w for i, w in enumerate(words)]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


# ------------------------------------------------------------------------------------------------- text


def _shorten(text: str, limit: int) -> str:
    text = text.strip()
    if len(text) <= limit:
        return text
    words = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:").split()
    while len(words) > 1 and words[-1].lower().strip(",;:") in STOPWORDS:  # not "...review the schedule for the…"
        words.pop()
    return " ".join(words).rstrip(",;:") + "…"


def _title(sentence: str, limit: int = 70) -> str:
    title = _shorten(sentence.strip().rstrip("."), limit)
    return title[:1].upper() + title[1:]


#: Absence of flaws (no fillers, no dead air) is named only when nothing more telling stands out.
_PLAIN = {"fillers": 0.3, "silence": 0.3, "completeness": 0.6}


def _reason(s: Scored, typical: dict[str, float]) -> str:
    """Name the signals where this clip stands out from the typical candidate (then the strongest ones)."""
    ranked = sorted(
        (k for k in s.sub if s.notes.get(k) and s.sub[k] >= 60),
        key=lambda k: ((s.sub[k] - typical.get(k, 0.0)) + 0.1 * s.sub[k]) * WEIGHTS.get(k, 0.05) * _PLAIN.get(k, 1),
        reverse=True,
    )
    parts = [s.notes[k] for k in ranked[:3]]
    return "; ".join(parts) if parts else "best available window, no strong signal"


def _within(items: list[Any], starts: list[float], cand: Candidate, slack: float = 0.05) -> list[Any]:
    """Items (words or sentences, sorted by start) lying inside the candidate; bisect keeps long talks fast."""
    lo = bisect.bisect_left(starts, cand.start - slack)
    hi = bisect.bisect_right(starts, cand.end + slack)
    return [x for x in items[lo:hi] if x.end <= cand.end + slack]


@hookimpl
def register_llm_backends(register: Any) -> None:
    register(HeuristicSelector)
