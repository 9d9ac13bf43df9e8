"""The two-pass selection shared by the model-backed selectors (OpenAI, Gemini).

Pass 1 (cheap): the transcript is cut into chunks of at most ``chunk_chars`` characters (each repeating the last
``CHUNK_OVERLAP`` sentences of the previous one as context); each chunk is sent with the candidate windows (talk
units and sentence runs inside them) that start inside it, and the model scores every window 0-100.
Pass 2 (detailed): the best ``shortlist x clips`` windows, de-duplicated, go out with their exact words; the
model returns score, sub-scores, reason, title, caption, hashtags and per-platform captions, and may tighten the
window: its times are snapped to the nearest sentence boundaries inside it (``snap_to_sentences``). Summaries
work the same way: long transcripts are summarised chunk by chunk, then the chunk summaries are merged.

Answers that are not valid JSON for the schema are asked again with a stricter prompt (``strict.md``) up to
``json_retries`` times, then fail with ``LLMOutputError``. Rate limits and server errors are retried by the SDKs
(``max_retries``); what still fails becomes a ``RetryableError`` (workers retry) or a ``PermanentError`` for
refused credentials and bad requests. Prompts are Markdown files with ``$name`` placeholders; a file of the same
name in ``prompts_dir`` replaces the built-in one.
"""

from __future__ import annotations

import abc
import json
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import structlog
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from clipcast import (
    MAX_OVERLAP,
    Candidate,
    Chapter,
    ClipcastError,
    ClipPlan,
    ClipSelector,
    ConfigError,
    SelectionRequest,
    Sentence,
    Summary,
    Transcript,
    add_secret,
    join_words,
    overlap_share,
    split_sentences,
)

# a lazy proxy: resolves the logging set-up at each call, not at import (core.logging.get_logger binds early)
log = structlog.get_logger("clipcast.llm")
PROMPTS = Path(__file__).parent / "prompts"
#: Sentences of the previous part repeated at the top of the next one, so a window near a cut keeps its context.
CHUNK_OVERLAP = 3
T = TypeVar("T", bound=BaseModel)


class LLMOutputError(ClipcastError):
    """The model kept answering with something that is not the JSON we asked for."""


class InvalidOutput(Exception):
    """One answer that did not validate (internal: triggers the stricter retry)."""


# ----------------------------------------------------------------------------------------------- schemas
# Plain fields only (no dicts, no numeric bounds): OpenAI's strict structured outputs and Gemini's JSON schema
# both accept these; bounds are enforced here after parsing.


class WindowScore(BaseModel):
    id: int
    score: float


class WindowScores(BaseModel):
    scores: list[WindowScore]


class SubScores(BaseModel):
    hook: float
    value: float
    emotion: float
    shareability: float


class PlatformCaptions(BaseModel):
    tiktok: str
    youtube: str
    instagram: str


class DetailedClip(BaseModel):
    id: int
    start: float
    end: float
    score: float
    sub_scores: SubScores
    reason: str
    title: str
    caption: str
    hashtags: list[str]
    platform_captions: PlatformCaptions


class DetailedClips(BaseModel):
    clips: list[DetailedClip]


class ChapterOut(BaseModel):
    start: float
    title: str


class SummaryOut(BaseModel):
    summary: str
    chapters: list[ChapterOut]


# ----------------------------------------------------------------------------------------------- options


class LLMOptions(BaseModel):
    """Options every model-backed selector shares. ``timeout`` is seconds per HTTP request."""

    model_config = ConfigDict(extra="forbid")
    api_key: SecretStr | None = Field(None, description="API key; default from the provider's environment variable")
    base_url: str | None = Field(None, description="API base URL (a proxy, or a compatible local server)")
    model: str = ""
    timeout: float = Field(120.0, gt=0, description="seconds per request")
    max_retries: int = Field(2, ge=0, le=10, description="SDK retries on rate limits, timeouts and 5xx")
    json_retries: int = Field(2, ge=0, le=5, description="re-asks with a stricter prompt after invalid JSON")
    chunk_chars: int = Field(12000, ge=1000, description="transcript characters per cheap-pass request")
    max_windows: int = Field(80, ge=5, description="most candidate windows scored per transcript chunk")
    shortlist: int = Field(3, ge=1, le=10, description="windows sent to the detailed pass, per clip asked")
    temperature: float | None = Field(0.2, ge=0, le=2)
    prompts_dir: Path | None = Field(None, description="directory of prompt files overriding the built-in ones")


@dataclass
class Call:
    """One model call's result: the parsed answer (None when invalid), tokens and the raw text."""

    parsed: BaseModel | None
    input_tokens: int
    output_tokens: int
    text: str = ""
    error: str = ""


class TwoPassSelector(ClipSelector):
    """Base for model-backed selectors: subclasses implement ``_call`` (one structured request) and ``_setup``."""

    provider: str = ""
    Options = LLMOptions

    def __init__(self, options: BaseModel | None = None) -> None:
        super().__init__(options)
        key = self.options.api_key.get_secret_value() if self.options.api_key else None
        add_secret(key)

    # ------------------------------------------------------------------------------------ provider part

    def check_ready(self) -> None:
        """Raise ``ConfigError`` now (no API key...) rather than after minutes of transcription."""
        _ = self.client  # type: ignore[attr-defined]

    @abc.abstractmethod
    def _call(self, prompt: str, schema: type[BaseModel]) -> Call:
        """Send ``prompt``; return the validated answer or ``Call(parsed=None, error=...)`` for invalid JSON.
        Transport failures raise ``RetryableError``/``PermanentError``."""

    # ------------------------------------------------------------------------------------------ prompts

    def prompt(self, name: str, **values: Any) -> str:
        custom = self.options.prompts_dir
        path = Path(custom) / f"{name}.md" if custom else None
        if path is None or not path.is_file():
            path = PROMPTS / f"{name}.md"
        try:
            template = string.Template(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read prompt file {path}: {exc.strerror}", "check llm prompts_dir")
        return template.safe_substitute(**{k: str(v) for k, v in values.items()})

    def structured(self, prompt: str, schema: type[T]) -> T:
        """Ask until the answer validates (at most ``1 + json_retries`` calls); report usage of every call."""
        error = ""
        attempts = 1 + self.options.json_retries
        for attempt in range(attempts):
            text = prompt if attempt == 0 else prompt + self.prompt("strict", error=error[:300])
            call = self._call(text, schema)
            self._report(call)
            if call.parsed is not None:
                return call.parsed  # type: ignore[return-value]
            error = call.error or "empty answer"
            log.warning("model answer was not valid JSON", provider=self.provider, attempt=attempt + 1, error=error)
        raise LLMOutputError(
            f"{self.provider} model {self.options.model!r} returned invalid JSON {attempts} times in a row "
            f"(last problem: {error[:200]})",
            "try again, pick another model, or use --llm heuristic",
        )

    def _report(self, call: Call) -> None:
        from clipcast import UsageRecord, estimate_cost

        self.report_usage(
            UsageRecord(
                provider=self.provider,
                model=self.options.model,
                kind="llm",
                input_tokens=call.input_tokens,
                output_tokens=call.output_tokens,
                cost_usd=estimate_cost(self.provider, self.options.model, call.input_tokens, call.output_tokens),
            )
        )

    # ------------------------------------------------------------------------------------------- select

    def select(self, transcript: Transcript, candidates: list[Candidate], request: SelectionRequest) -> list[ClipPlan]:
        sentences = split_sentences(transcript)
        if not sentences or not candidates:
            return []
        chunks = chunk_sentences(sentences, self.options.chunk_chars)
        scores: dict[int, float] = {}
        for n, chunk in enumerate(chunks, 1):
            lo = chunk[0].start if n > 1 else float("-inf")
            hi = chunks[n][0].start if n < len(chunks) else float("inf")
            part = _spread([i for i, c in enumerate(candidates) if lo <= c.start < hi], self.options.max_windows)
            if not part:
                continue
            windows = "\n".join(
                f"{i}: {candidates[i].start:.1f}-{candidates[i].end:.1f} s ({candidates[i].duration:.0f} s)"
                for i in part
            )
            context = chunks[n - 2][-CHUNK_OVERLAP:] if n > 1 else []  # the end of the previous part, for context
            prompt = self.prompt(
                "score_windows",
                part=n,
                parts=len(chunks),
                transcript=transcript_lines([*context, *chunk]),
                windows=windows,
            )
            answer = self.structured(prompt, WindowScores)
            wanted = set(part)
            for item in answer.scores:
                if item.id in wanted:
                    scores[item.id] = _bound(item.score)
        shortlist = _shortlist(candidates, scores, request.clips * self.options.shortlist)
        if not shortlist:
            return []
        windows = "\n\n".join(_window_block(i, candidates[i], transcript) for i in shortlist)
        prompt = self.prompt("detail_clips", windows=windows, language=request.language or transcript.language)
        detailed = self.structured(prompt, DetailedClips)
        plans: list[ClipPlan] = []
        for item in detailed.clips:
            if item.id not in shortlist:
                continue
            cand = candidates[item.id]
            start, end = snap_to_sentences(item.start, item.end, cand, sentences)
            plans.append(
                ClipPlan(
                    start=start,
                    end=end,
                    score=_bound(item.score),
                    sub_scores={k: _bound(v) for k, v in item.sub_scores.model_dump().items()},
                    reason=item.reason.strip(),
                    title=item.title.strip()[:100],
                    caption=item.caption.strip(),
                    hashtags=[_hashtag(h) for h in item.hashtags if _hashtag(h) != "#"],
                    platform_captions={k: v.strip() for k, v in item.platform_captions.model_dump().items()},
                    text=cand.text,
                )
            )
        return plans

    # ---------------------------------------------------------------------------------------- summarize

    def summarize(self, transcript: Transcript) -> Summary:
        sentences = split_sentences(transcript)
        if not sentences:
            return Summary(summary="No speech was found in this video.", chapters=[])
        duration = transcript.duration or sentences[-1].end
        min_chapter = int(max(10, duration / 20))
        language = transcript.language or "en"
        chunks = chunk_sentences(sentences, self.options.chunk_chars)
        if len(chunks) == 1:
            out = self.structured(
                self.prompt(
                    "summarize", transcript=transcript_lines(sentences), language=language, min_chapter=min_chapter
                ),
                SummaryOut,
            )
        else:  # summarise each chunk, then merge the partial summaries (their chapters keep absolute times)
            parts = [
                self.structured(
                    self.prompt(
                        "summarize", transcript=transcript_lines(c), language=language, min_chapter=min_chapter
                    ),
                    SummaryOut,
                )
                for c in chunks
            ]
            merged = "\n".join(
                f"{ch.start:.1f} {ch.title}: " + (p.summary if j == 0 else "")
                for p in parts
                for j, ch in enumerate(p.chapters)
            )
            out = self.structured(
                self.prompt("summarize", transcript=merged, language=language, min_chapter=min_chapter), SummaryOut
            )
        chapters: list[Chapter] = []
        for ch in sorted(out.chapters, key=lambda c: c.start):
            start = min(max(0.0, ch.start), duration)
            if chapters and start - chapters[-1].start < 1:
                continue
            chapters.append(Chapter(start=0.0 if not chapters else round(start, 1), title=ch.title.strip()[:100]))
        return Summary(summary=out.summary.strip(), chapters=chapters)


# ----------------------------------------------------------------------------------------------- helpers


def snap_to_sentences(start: float, end: float, cand: Candidate, sentences: list[Sentence]) -> tuple[float, float]:
    """The model's times moved to the nearest sentence start and end inside the window it was shown (models are
    bad at arithmetic on times); the whole window when the times make no sense."""
    inside = [s for s in sentences if s.start >= cand.start - 0.05 and s.end <= cand.end + 0.05]
    if not inside or not end > start:
        return cand.start, cand.end
    first = min(inside, key=lambda s: abs(s.start - start))
    last = min((s for s in inside if s.end > first.start), key=lambda s: abs(s.end - end), default=inside[-1])
    return first.start, last.end


def chunk_sentences(sentences: list[Sentence], limit: int) -> list[list[Sentence]]:
    """Consecutive sentences whose transcript lines fit in ``limit`` characters (a longer sentence stands alone)."""
    chunks: list[list[Sentence]] = [[]]
    size = 0
    for s in sentences:
        line = len(s.text) + 20
        if chunks[-1] and size + line > limit:
            chunks.append([])
            size = 0
        chunks[-1].append(s)
        size += line
    return chunks


def transcript_lines(sentences: list[Sentence]) -> str:
    return "\n".join(f"[{s.start:.1f}-{s.end:.1f}] {s.text}" for s in sentences)


def _window_block(i: int, cand: Candidate, transcript: Transcript) -> str:
    words = [w for w in transcript.words if w.start >= cand.start - 0.05 and w.end <= cand.end + 0.05]
    timed = " ".join(f"{w.text.strip()}@{w.start:.1f}" for w in words)
    return f"id {i}: {cand.start:.2f}-{cand.end:.2f} s\ntext: {join_words(words) or cand.text}\nword times: {timed}"


def _spread(ids: list[int], limit: int) -> list[int]:
    """At most ``limit`` of a chunk's windows, evenly spread over it: one cheap request per chunk, however many
    overlapping windows the chunk has (long talks have thousands)."""
    if len(ids) <= limit:
        return ids
    step = len(ids) / limit
    return [ids[int(k * step)] for k in range(limit)]


def _shortlist(candidates: list[Candidate], scores: dict[int, float], n: int) -> list[int]:
    picked: list[int] = []
    for i in sorted(scores, key=lambda k: scores[k], reverse=True):
        c = candidates[i]
        if all(overlap_share(c, candidates[j]) <= MAX_OVERLAP for j in picked):
            picked.append(i)
        if len(picked) >= n:
            break
    return picked


def _bound(x: float) -> float:
    return round(max(0.0, min(100.0, float(x))), 1)


def _hashtag(tag: str) -> str:
    return "#" + "".join(ch for ch in tag.strip().lstrip("#") if ch.isalnum() or ch == "_")


def validate_json(schema: type[T], text: str) -> tuple[T | None, str]:
    """Parse ``text`` as ``schema``; tolerates Markdown fences and prose around the object (local models often
    add "Here are the scores:"). Returns (model, "") or (None, problem)."""
    body = text.strip()
    if body.startswith("```"):
        body = body.strip("`")
        body = body.split("\n", 1)[1] if "\n" in body else body
    elif not body.startswith("{") and "{" in body and "}" in body:
        body = body[body.index("{") : body.rindex("}") + 1]
    try:
        return schema.model_validate_json(body), ""
    except ValidationError as exc:
        return None, _short_error(exc)


def _short_error(exc: ValidationError) -> str:
    errs = exc.errors()
    if not errs:
        return str(exc)
    first = errs[0]
    loc = ".".join(str(p) for p in first.get("loc", ())) or "(root)"
    return f"{loc}: {first.get('msg', '')}" + (f" (+{len(errs) - 1} more)" if len(errs) > 1 else "")


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False)
