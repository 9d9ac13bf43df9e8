"""The default clip selector: no model, no network. Scores talk units 0-100 the way an editor judges a moment.

A candidate is a whole talk unit or a run of whole sentences inside one (``core.pipeline.candidates``). Its
sub-scores (0-100 each, in ``sub_scores``), all by position or by share of the clip's sentences, so that none
grows with length:

- ``hook``: the first sentence grabs (a question, a bold claim, a number, a story opening, words to "you"),
  counted only as far as ``substance`` follows it; a hook with nothing behind it is a trap, not a highlight;
- ``substance``: what the body delivers: numbers that measure a result, a story (people doing things in the
  past tense), a turn ("but", "instead", "until");
- ``payoff``: the last sentences land: a takeaway ("so...", an imperative), a contrast ("not X, Y"), a short
  closing line;
- ``arc``: setup, turn and payoff all present;
- ``standalone``: the opening does not lean on earlier context ("as I said", "this slide", "and...");
- ``filler``: the share of sentences that are greeting, mic check, housekeeping, sponsor, recap, Q&A logistics,
  hedging or a trailing anecdote; it is subtracted (weight ``FILLER_PENALTY``), never added.

What a score means (measured on the development set, docs/evaluation.md): 70+ opens with a hook, delivers
substance and lands a payoff; 50-70 has two of the three; under 40 is filler or context. Titles, captions,
hashtags and chapters come from ``plugins.llm.postwords``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from clipcast import (
    MAX_OVERLAP,
    Candidate,
    ClipPlan,
    ClipSelector,
    SelectionRequest,
    Sentence,
    Summary,
    Transcript,
    current_audio,
    find_pauses,
    hookimpl,
    overlap_share,
    split_sentences,
    talk_units,
)
from plugins.llm.cues import Cues, sentence_cues
from plugins.llm.postwords import Corpus, plan_words, summarize_units

#: How much each signal weighs in the overall score (renormalised over the weights given).
WEIGHTS = {"hook": 0.25, "substance": 0.25, "payoff": 0.25, "arc": 0.10, "standalone": 0.15}
#: Points taken off per unit share of filler sentences (a clip that is all filler loses this many).
FILLER_PENALTY = 75.0
#: Points taken off a run of sentences cut out of a unit that would itself fit the length bounds: a clip is the
#: whole unit unless the unit is too long (a part must be clearly better to win).
PART_PENALTY = 8.0


@dataclass
class Scored:
    candidate: Candidate
    sentences: list[Sentence]
    cues: list[Cues]
    sub: dict[str, float]
    reason: str
    score: float = 0.0


def _clamp(x: float) -> float:
    return max(0.0, min(100.0, x))


class HeuristicSelector(ClipSelector):
    name = "heuristic"
    description = "offline scoring of talk units: hook, substance, payoff, standalone, filler (default, no model)"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        weights: dict[str, float] = Field(
            default_factory=dict, description=f"override signal weights; names: {', '.join(WEIGHTS)}"
        )
        filler_penalty: float = Field(
            FILLER_PENALTY, ge=0, le=200, description="points off for a clip made only of filler sentences"
        )

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
        sentences = split_sentences(transcript, pauses=find_pauses(current_audio()))
        if not sentences or not candidates:
            return []
        cues = {id(s): sentence_cues(s.text) for s in sentences}
        starts = [s.start for s in sentences]
        units = {id(x): unit for unit in talk_units(sentences) for x in unit}
        weights = {**WEIGHTS, **self.options.weights}
        scored = []
        for cand in candidates:
            inside = _within(sentences, starts, cand)
            if not inside:
                continue
            s = score_sentences(cand, inside, [cues[id(x)] for x in inside], self.options.filler_penalty)
            used = {k: w for k, w in weights.items() if w > 0}
            total = sum(used.values()) or 1.0
            raw = sum(s.sub[k] * w for k, w in used.items()) / total
            unit = units.get(id(inside[0]), inside)
            part = inside[0] is not unit[0] or inside[-1] is not unit[-1]
            fits = request.min_seconds <= unit[-1].end - unit[0].start <= request.max_seconds
            penalty = PART_PENALTY if part and fits and units.get(id(inside[-1])) is unit else 0.0
            s.score = round(_clamp(raw - s.sub["filler"] * self.options.filler_penalty / 100 - penalty), 1)
            scored.append(s)
        scored.sort(key=lambda s: (s.score, -s.candidate.start), reverse=True)
        corpus = Corpus(sentences)
        plans: list[ClipPlan] = []
        for s in scored:
            if any(overlap_share(s.candidate, p) > MAX_OVERLAP for p in plans):
                continue
            plans.append(self._plan(s, corpus))
            if len(plans) >= request.clips * 2:  # keep a few more than asked: validation may drop some
                break
        return plans

    def _plan(self, s: Scored, corpus: Corpus) -> ClipPlan:
        words = plan_words([x.text for x in s.sentences], corpus)
        return ClipPlan(
            start=s.candidate.start,
            end=s.candidate.end,
            score=s.score,
            sub_scores={k: round(v, 1) for k, v in s.sub.items()},
            reason=s.reason,
            text=" ".join(x.text for x in s.sentences),
            **words,
        )

    # --------------------------------------------------------------------------------------- summarize

    def summarize(self, transcript: Transcript) -> Summary:
        sentences = split_sentences(transcript, pauses=find_pauses(current_audio()))
        if not sentences:
            return Summary(summary="No speech was found in this video.", chapters=[])
        duration = transcript.duration or sentences[-1].end
        return summarize_units(talk_units(sentences), duration, Corpus(sentences))


# ----------------------------------------------------------------------------------------------- scoring


def _share(flags: list[bool]) -> float:
    return sum(flags) / len(flags) if flags else 0.0


def score_sentences(cand: Candidate, sents: list[Sentence], cues: list[Cues], filler_penalty: float) -> Scored:
    """Sub-scores and a reason for one candidate (see the module docstring)."""
    first, last = cues[0], cues[-1]
    body = cues[1:] or cues
    tail = cues[-2:] if len(cues) > 2 else cues[-1:]
    opening = []
    hook = 0.0
    if first.question:
        hook, opening = hook + 45, [*opening, "a question"]
    if first.claim or first.contrast:
        hook, opening = hook + 35, [*opening, "a bold claim"]
    if first.result or first.number:
        hook, opening = hook + 30, [*opening, "a number"]
    if first.story:
        hook, opening = hook + 25, [*opening, "a story"]
    if first.payoff and not first.question:  # an imperative or "here is why" opening
        hook, opening = hook + 20, [*opening, "a direct call"]
    if first.you:
        hook += 10
    hook = _clamp(hook)

    result = _share([c.result for c in body])
    numbers = _share([c.number for c in body])
    story = _share([c.story for c in body])
    turn = any(c.turn or c.contrast for c in body)
    substance = _clamp(
        100 * min(1.0, 2.5 * result) * 0.45
        + 100 * min(1.0, 2 * story) * 0.35
        + 100 * min(1.0, 2 * numbers) * 0.1
        + (10 if turn else 0)
    )

    payoff_cue = next((c for c in reversed(tail) if c.payoff or c.contrast), None)
    punchline = len(cues) > 2 and last.words <= 10 and not last.filler and not last.question
    payoff = _clamp((70 if payoff_cue else 0) + (40 if punchline else 0))

    arc = 100.0 if (hook > 0 or first.story) and turn and payoff > 0 else (50.0 if payoff > 0 and turn else 0.0)
    standalone = 40.0 if first.dangling else 100.0

    weights = [2.0] + [1.0] * (len(cues) - 1)  # the opening counts double: that is what viewers hear first
    filler = sum(w for w, c in zip(weights, cues, strict=True) if c.filler) / sum(weights)
    hook_eff = hook * min(1.0, substance / 60)

    sub = {
        "hook": round(hook_eff, 1),
        "substance": round(substance, 1),
        "payoff": round(payoff, 1),
        "arc": arc,
        "standalone": standalone,
        "filler": round(100 * filler, 1),
    }
    return Scored(cand, sents, cues, sub, _reason(sents, cues, opening, hook, substance, payoff_cue, punchline, filler))


def _reason(
    sents: list[Sentence],
    cues: list[Cues],
    opening: list[str],
    hook: float,
    substance: float,
    payoff_cue: Cues | None,
    punchline: bool,
    filler: float,
) -> str:
    kinds = sorted({k for c in cues for k in c.filler}, key=lambda k: -sum(k in c.filler for c in cues))
    if filler >= 0.5:
        return f"mostly {' and '.join(kinds[:2])}: filler an editor would cut"
    parts = []
    if opening and substance >= 30:
        parts.append("opens with " + " and ".join(opening[:2]))
    elif opening:
        parts.append("opens with " + " and ".join(opening[:2]) + " but nothing concrete follows")
    t0 = sents[0].start
    pairs = list(zip(sents[1:], cues[1:], strict=False))
    what = next((f"a number {s.start - t0:.0f} s later" for s, c in pairs if c.result), None) or next(
        (f"a story {s.start - t0:.0f} s in" for s, c in pairs if c.story), None
    )
    if what and substance >= 30:
        parts.append(("pays it off with " if parts else "builds on ") + what)
    if payoff_cue is not None:
        parts.append("ends on " + ("a contrast" if payoff_cue.contrast else "a takeaway"))
    elif punchline:
        parts.append("ends on a short closing line")
    if cues[0].dangling:
        parts.append("but its opening leans on earlier context")
    if kinds and filler > 0:
        parts.append(f"some {kinds[0]}")
    return (", ".join(parts) or "no hook, substance or payoff found").capitalize()


def _within(sentences: list[Sentence], starts: list[float], cand: Candidate, slack: float = 0.05) -> list[Sentence]:
    import bisect

    lo = bisect.bisect_left(starts, cand.start - slack)
    hi = bisect.bisect_right(starts, cand.end + slack)
    return [x for x in sentences[lo:hi] if x.end <= cand.end + slack]


@hookimpl
def register_llm_backends(register: Any) -> None:
    register(HeuristicSelector)
