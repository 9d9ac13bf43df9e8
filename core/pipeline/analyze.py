"""Analysis: a source → ingest → audio → transcript → candidates → scored clip plan → Clip rows + summary.

Re-running with the same inputs is idempotent: a plan with the same start and end as one of the video's
``proposed`` clips updates that row (its id stays), proposed clips the new plan no longer contains are removed
(or marked rejected when a job or post already points at them) and listed in ``AnalysisResult.replaced``, so
the caller can say what it replaced; clips past ``proposed`` (approved, rendered, published...) are never
touched nor duplicated. No clip at all always comes with a reason (``AnalysisResult.why_empty``). With the
default request, long videos get ``selection.clips_per_hour`` clips per hour of speech (at most
``MAX_AUTO_CLIPS``). Reporter stages: ingest, transcribe, select.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from sqlmodel import select

from core import models
from core.contracts import ClipPlan, SelectionRequest, Summary, Transcript
from core.errors import ClipcastError, InputError
from core.pipeline.select import MAX_OVERLAP, audio_path, check_request, overlap_share, select_clips, speech_only
from core.progress import NullReporter, Reporter
from core.usage import usage_context

# a lazy proxy: resolves the logging set-up at each call, not at import (core.logging.get_logger binds early)
log = structlog.get_logger("clipcast.analyze")


#: The most clips a long video gets by default (``selection.clips_per_hour``).
MAX_AUTO_CLIPS = 20


@dataclass
class Replaced:
    """A proposed clip of an earlier analysis that this one removed (or rejected, when something points at it)."""

    id: int
    start: float
    end: float
    title: str
    rejected: bool


@dataclass
class AnalysisResult:
    video: models.Video
    transcript: Transcript
    clips: list[models.Clip]
    summary: Summary | None = None
    why_empty: str = ""
    replaced: list[Replaced] = field(default_factory=list)


def default_request(settings: Any) -> SelectionRequest:
    sel = settings.selection
    return SelectionRequest(clips=sel.clips, min_seconds=sel.min_seconds, max_seconds=sel.max_seconds)


def analyze(
    app: Any,
    source: str | Path | int,
    request: SelectionRequest | None = None,
    *,
    stt: str | None = None,
    llm: str | None = None,
    user_id: int | None = None,
    reporter: Reporter | None = None,
    scale_clips: bool | None = None,
) -> AnalysisResult:
    """Analyze a local path, an http(s) URL, or (int) an existing video id. See the module docstring.

    ``scale_clips``: grow the clip count with the speech's length (default: only when ``request`` is None)."""
    from core.pipeline.ingest import ensure_audio, ingest
    from core.pipeline.transcribe import transcribe

    reporter = reporter or NullReporter()
    scale_clips = request is None if scale_clips is None else scale_clips
    request = request or default_request(app.settings)
    check_request(request)
    selector = app.selector(llm)  # an unknown or unconfigured --llm fails now, before minutes of transcription
    if callable(getattr(selector, "check_ready", None)):
        selector.check_ready()
    speech_to_text = app.stt(stt)
    if isinstance(source, int) and not isinstance(source, bool):
        reporter.stage("ingest")
        with app.session() as s:
            video = s.get(models.Video, source)
        if video is None:
            raise InputError(f"there is no video with id {source}", "list videos with the API or ingest it first")
    else:
        video = ingest(app, source, user_id=user_id, reporter=reporter)
    reporter.check_cancelled()
    with usage_context(user_id=video.user_id if video.user_id is not None else user_id, video_id=video.id):
        ensure_audio(app, video, reporter=reporter, warm=speech_to_text.warm)  # an "audio" stage when it extracts
        reporter.stage("transcribe")  # transcribe() announces it too, but not when the transcript is cached
        transcript = transcribe(app, video, backend=stt, language=request.language, reporter=reporter)
        reporter.check_cancelled()
        reporter.stage("select")
        if not transcript.words:
            raise InputError(
                f"no speech was found in {video.title or video.source!r}, so there is nothing to pick clips from",
                "check that the video has audible speech (and the right --stt/language for it)",
            )
        speech = transcript.words[-1].end - transcript.words[0].start
        if request.min_seconds > speech:
            raise InputError(
                f"the shortest clip asked for ({request.min_seconds:g} s) is longer than all the speech in "
                f"{video.title or video.source!r} ({speech:.0f} s)",
                f"ask for shorter clips, e.g. --min {max(1, int(speech // 3))}",
            )
        if scale_clips:
            per_hour = round(speech / 3600 * app.settings.selection.clips_per_hour)
            request = request.model_copy(update={"clips": max(request.clips, min(MAX_AUTO_CLIPS, per_hour))})
        # ask for as many more as the user already acted on: those moments are not proposed again
        settled = _settled_count(app, video.id)
        wider = request.model_copy(update={"clips": min(100, request.clips + settled)})
        plans = select_clips(app, video, transcript, wider, backend=llm, reporter=reporter)
        replaced: list[Replaced] = []
        clips = save_clips(app, video, plans, limit=request.clips, replaced=replaced)
        why = "" if clips else explain_empty(app, video, transcript, request, plans, settled)
        summary = _summarize(app, llm, speech_only(transcript, audio_path(app, video)))
    with app.session() as s:
        row = s.get(models.Video, video.id)
        if row is not None:
            row.summary_md = summary.to_markdown() if summary else None
            s.add(row)
            video = row
    log.info("analyzed video", video_id=video.id, clips=len(clips), language=transcript.language)
    if replaced:
        log.info("replaced proposed clips of an earlier analysis", video_id=video.id, clips=[r.id for r in replaced])
    return AnalysisResult(
        video=video, transcript=transcript, clips=clips, summary=summary, why_empty=why, replaced=replaced
    )


def explain_empty(
    app: Any, video: models.Video, transcript: Transcript, request: SelectionRequest, plans: list, settled: int
) -> str:
    """Why an analysis proposed no clip, in words a user can act on."""
    from core.pipeline.candidates import split_sentences
    from core.pipeline.pauses import find_pauses
    from core.pipeline.units import talk_units

    if plans and settled:
        return (
            f"every moment found is already one of the {settled} clip(s) you approved, rendered or rejected; "
            "those are kept as they are (see them with `clipcast render` / the API)"
        )
    units = talk_units(split_sentences(transcript, pauses=find_pauses(audio_path(app, video))))
    if not units:
        return "no speech was found, so there is nothing to pick clips from"
    lengths = sorted(u[-1].end - u[0].start for u in units)
    return (
        f"no part of the talk fits {request.min_seconds:g}-{request.max_seconds:g} s: its {len(units)} unit(s) "
        f"last {lengths[0]:.0f}-{lengths[-1]:.0f} s, and a clip never straddles two; "
        f"try --min {max(1, int(lengths[-1] * 0.8))}"
    )


def _summarize(app: Any, llm: str | None, transcript: Transcript) -> Summary | None:
    """The summary is a by-product: when it fails, the clips (already saved) still stand and a warning says why."""
    try:
        return app.selector(llm).summarize(transcript)
    except ClipcastError as exc:
        log.warning("summary failed; clips were saved without one", error=str(exc))
        return None


def _settled_count(app: Any, video_id: int | None) -> int:
    with app.session() as s:
        rows = s.exec(select(models.Clip.status).where(models.Clip.video_id == video_id)).all()
    return sum(1 for status in rows if status != models.ClipStatus.PROPOSED)


def save_clips(
    app: Any,
    video: models.Video,
    plans: list[ClipPlan],
    *,
    limit: int | None = None,
    replaced: list[Replaced] | None = None,
) -> list[models.Clip]:
    """Store plans as the video's proposed clips (ranked 1..n by score, at most ``limit``), idempotently (module
    docstring). Proposed clips of an earlier analysis that are dropped are appended to ``replaced``."""
    with app.session() as s:
        existing = s.exec(select(models.Clip).where(models.Clip.video_id == video.id)).all()
        proposed = {(round(c.start, 2), round(c.end, 2)): c for c in existing if c.status == models.ClipStatus.PROPOSED}
        settled = [c for c in existing if c.status != models.ClipStatus.PROPOSED]
        kept: list[models.Clip] = []
        rank = 0
        for plan in plans:
            if any(overlap_share(plan, c) > MAX_OVERLAP for c in settled):
                continue  # the user already acted on this moment
            if limit is not None and rank >= limit:
                break
            rank += 1
            row = proposed.pop((round(plan.start, 2), round(plan.end, 2)), None) or models.Clip(
                video_id=video.id, user_id=video.user_id, start=plan.start, end=plan.end
            )
            row.rank = rank
            row.start, row.end = plan.start, plan.end
            row.score = plan.score
            row.sub_scores = dict(plan.sub_scores)
            row.reason = plan.reason
            row.title = plan.title
            row.caption = plan.caption
            row.hashtags = list(plan.hashtags)
            row.platform_captions = dict(plan.platform_captions)
            row.text = plan.text
            row.updated_at = models.utcnow()
            s.add(row)
            kept.append(row)
        for stale in proposed.values():
            if replaced is not None and stale.id is not None:
                rejected = _referenced(s, stale.id)
                replaced.append(Replaced(stale.id, stale.start, stale.end, stale.title, rejected))
            if _referenced(s, stale.id):
                stale.status = models.ClipStatus.REJECTED
                stale.reason = (stale.reason + " (superseded by a newer analysis)").strip()
                s.add(stale)
            else:
                s.delete(stale)
        s.flush()
        for row in kept:
            s.refresh(row)
    return kept


def _referenced(s: Any, clip_id: int | None) -> bool:
    if clip_id is None:
        return False
    job = s.exec(select(models.Job.id).where(models.Job.clip_id == clip_id)).first()
    post = s.exec(select(models.Post.id).where(models.Post.clip_id == clip_id)).first()
    return job is not None or post is not None


def write_transcript(app: Any, video: models.Video, transcript: Transcript) -> Path:
    """The transcript as JSON under ``<data_dir>/transcripts/`` (for people and scripts; the database row is the
    cache of record)."""
    path = Path(app.settings.data_dir) / "transcripts" / f"video-{video.id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.part")
    tmp.write_text(json.dumps(transcript.model_dump(mode="json"), indent=1, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)
    return path
