"""Analysis: a source → ingest → audio → transcript → candidates → scored clip plan → Clip rows + summary.

Re-running with the same inputs is idempotent: a plan with the same start and end as one of the video's
``proposed`` clips updates that row (its id stays), proposed clips the new plan no longer contains are removed
(or marked rejected when a job or post already points at them), and clips past ``proposed`` (approved,
rendered, published...) are never touched nor duplicated. Reporter stages: ingest, transcribe, select.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
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


@dataclass
class AnalysisResult:
    video: models.Video
    transcript: Transcript
    clips: list[models.Clip]
    summary: Summary | None = None


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
) -> AnalysisResult:
    """Analyze a local path, an http(s) URL, or (int) an existing video id. See the module docstring."""
    from core.pipeline.ingest import ensure_audio, ingest
    from core.pipeline.transcribe import transcribe

    reporter = reporter or NullReporter()
    request = request or default_request(app.settings)
    check_request(request)
    selector = app.selector(llm)  # an unknown or unconfigured --llm fails now, before minutes of transcription
    if callable(getattr(selector, "check_ready", None)):
        selector.check_ready()
    app.stt(stt)
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
        ensure_audio(app, video, reporter=reporter)  # reports an "audio" stage when it extracts
        reporter.stage("transcribe")  # transcribe() announces it too, but not when the transcript is cached
        transcript = transcribe(app, video, backend=stt, language=request.language, reporter=reporter)
        reporter.check_cancelled()
        reporter.stage("select")
        if not transcript.words:
            raise InputError(
                f"no speech was found in {video.title or video.source!r}, so there is nothing to pick clips from",
                "check that the video has audible speech (and the right --stt/language for it)",
            )
        # ask for as many more as the user already acted on: those moments are not proposed again
        settled = _settled_count(app, video.id)
        wider = request.model_copy(update={"clips": min(100, request.clips + settled)})
        plans = select_clips(app, video, transcript, wider, backend=llm, reporter=reporter)
        clips = save_clips(app, video, plans, limit=request.clips)
        summary = _summarize(app, llm, speech_only(transcript, audio_path(app, video)))
    with app.session() as s:
        row = s.get(models.Video, video.id)
        if row is not None:
            row.summary_md = summary.to_markdown() if summary else None
            s.add(row)
            video = row
    log.info("analyzed video", video_id=video.id, clips=len(clips), language=transcript.language)
    return AnalysisResult(video=video, transcript=transcript, clips=clips, summary=summary)


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


def save_clips(app: Any, video: models.Video, plans: list[ClipPlan], *, limit: int | None = None) -> list[models.Clip]:
    """Store plans as the video's proposed clips (ranked 1..n by score, at most ``limit``), idempotently (module
    docstring)."""
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
