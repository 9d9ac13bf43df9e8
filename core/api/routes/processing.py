"""Analysis and rendering of a video as background jobs (``core.jobs`` rows sent by ``core.tasks``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlmodel import col, select

from core import jobs, tasks
from core.api import quotas
from core.api.deps import AppDep, Id, UserDep, owned
from core.api.errors import Conflict
from core.api.render_checks import check_names
from core.api.schemas import AnalyzeIn, JobOut, RenderIn
from core.app import Clipcast
from core.errors import InputError
from core.models import Clip, ClipStatus, Job, Video
from core.users import Principal

router = APIRouter(prefix="/api/videos", tags=["videos"])


def start_analysis(
    app: Clipcast, user: Principal, video: Video | None, options: dict[str, Any], *, source: str | None = None
) -> JobOut:
    """Quota check, then an analyze (or process, with ``render``) job for ``video`` — or for a checked URL
    ``source`` that the worker downloads first — sent to the workers."""
    owner = video.user_id if video is not None and video.user_id is not None else user.id  # admins act for owners
    with app.session() as s:
        quotas.check_processing(s, app.settings, owner, video)
    sel = app.settings.selection
    request = {
        "clips": options.get("clips") or sel.clips,
        "min_seconds": options.get("min_seconds") or sel.min_seconds,
        "max_seconds": options.get("max_seconds") or sel.max_seconds,
        "language": options.get("language"),
    }
    if request["min_seconds"] > request["max_seconds"]:
        raise InputError(
            f"min_seconds {request['min_seconds']} exceeds max_seconds {request['max_seconds']}",
            "give both bounds, or bounds consistent with the configured selection defaults",
        )
    for section in ("stt", "llm"):
        if options.get(section):  # an unknown backend is a 400 now, not a failed job later
            app.plugins.backend(section, options[section])
    job_options: dict[str, Any] = {"request": request, "stt": options.get("stt"), "llm": options.get("llm")}
    kind = "analyze"
    if options.get("render"):
        kind = "process"
        job_options["render_options"] = {k: v for k, v in (options.get("style") or {}).items() if v is not None}
    if video is None:
        job_options["source"] = source
    job = jobs.create_job(app, kind, video_id=video.id if video else None, user_id=owner, options=job_options)
    tasks.enqueue(app, job)
    return JobOut.model_validate(job)


@router.post(
    "/{video_id}/analyze",
    response_model=JobOut,
    status_code=202,
    summary="Queue analysis (transcribe + select clips); with `render: true` also render them",
    responses={429: {"description": "a daily quota (minutes or LLM cost) is used up"}},
)
def analyze_video(video_id: Id, body: AnalyzeIn, user: UserDep, app: AppDep) -> JobOut:
    with app.session() as s:
        video = owned(s, Video, video_id, user)
        busy = s.exec(
            select(Job).where(
                Job.video_id == video_id,
                col(Job.kind).in_(("analyze", "process")),
                col(Job.status).in_(("queued", "running")),
            )
        ).first()
    if busy is not None:
        raise Conflict(f"job {busy.id} is already analyzing this video", f"follow it at /api/jobs/{busy.id}/events")
    options = body.model_dump(exclude_none=True)
    if body.style is not None:
        options["style"] = body.style.model_dump(exclude_none=True, mode="json")
        check_names(app, options["style"])
    return start_analysis(app, user, video, options)


@router.post(
    "/{video_id}/render",
    response_model=list[JobOut],
    status_code=202,
    summary="Queue rendering of clips (default: every approved clip) with style options",
)
def render_video(video_id: Id, body: RenderIn, user: UserDep, app: AppDep) -> list[JobOut]:
    style = body.model_dump(exclude_none=True, exclude={"clip_ids"}, mode="json")
    check_names(app, style)
    with app.session() as s:
        owner = owned(s, Video, video_id, user).user_id
        clips = list(s.exec(select(Clip).where(Clip.video_id == video_id).order_by(col(Clip.rank))).all())
        if body.clip_ids is not None:
            known = {c.id: c for c in clips}
            missing = [i for i in body.clip_ids if i not in known]
            if missing:
                raise InputError(f"clips {missing} are not clips of video {video_id}")
            chosen = [known[i] for i in dict.fromkeys(body.clip_ids)]
        else:
            chosen = [c for c in clips if c.status == ClipStatus.APPROVED]
            if not chosen:
                raise InputError(
                    f"video {video_id} has no approved clips",
                    "approve clips first (POST /api/clips/{id}/approve) or list them in clip_ids",
                )
        rejected = [c.id for c in chosen if c.status == ClipStatus.REJECTED]
        if rejected:
            raise InputError(f"clips {rejected} are rejected", "approve them before rendering")
        todo = []
        for clip in chosen:
            if style:
                clip.render_options = {**(clip.render_options or {}), **style}
                s.add(clip)
            todo.append((clip.id, dict(clip.render_options or {})))
    return [queue_render(app, user, video_id, clip_id, options, owner=owner) for clip_id, options in todo]


def queue_render(
    app: Clipcast,
    user: Principal,
    video_id: int,
    clip_id: int,
    options: dict[str, Any],
    *,
    owner: int | None = None,
) -> JobOut:
    """A render job for one clip with its full render options (the clip's stored style plus this request's).

    The job belongs to the clip's owner (an admin acting on someone's clip does not take it over); ``owner`` is
    the video's user id when the caller has already read the video, else it is looked up."""
    if owner is None:
        with app.session() as s:
            video = s.get(Video, video_id)
            owner = video.user_id if video is not None else None
    owner = owner if owner is not None else user.id
    job = jobs.create_job(
        app, "render", video_id=video_id, clip_id=clip_id, user_id=owner, options={"render_options": options}
    )
    tasks.enqueue(app, job)
    return JobOut.model_validate(job)
