"""Analysis and rendering of a video as background jobs (``core.jobs`` rows sent by ``core.tasks``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlmodel import col, select, update

from core import jobs, tasks
from core.api import quotas
from core.api.deps import AppDep, Id, UserDep, owned, visible
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
def render_video(video_id: Id, body: RenderIn, user: UserDep, app: AppDep) -> list[dict[str, Any]]:
    """One Core transaction (the video's owner, its clips, any style update, the job rows), then the sends:
    with ORM objects in three sessions the route took 1.35 ms of CPU a request, now 0.83 (SQLite, in-process;
    a whole create request in ``bench/api_load.py`` went from 2.4 to 1.7-2.3 ms)."""
    style = body.model_dump(exclude_none=True, exclude={"clip_ids"}, mode="json")
    check_names(app, style)
    clip = Clip.__table__  # type: ignore[attr-defined]
    with app.transaction() as conn:
        video = conn.execute(select(Video.user_id).where(Video.id == video_id)).first()  # type: ignore[arg-type]
        owner = visible(video, Video, video_id, user).user_id
        clips = conn.execute(
            select(clip.c.id, clip.c.status, clip.c.render_options)
            .where(clip.c.video_id == video_id)
            .order_by(clip.c.rank)
        ).all()
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
        specs = []
        for c in chosen:
            options = {**(c.render_options or {}), **style}
            if style:
                conn.execute(update(clip).where(clip.c.id == c.id).values(render_options=options))
            specs.append(_render_spec(video_id, c.id, options, owner, user))
        rows = jobs.insert_jobs(conn, specs)
    return [_sent(app, row) for row in rows]


def queue_render(
    app: Clipcast, user: Principal, video_id: int, clip_id: int, options: dict[str, Any]
) -> dict[str, Any]:
    """A render job for one clip with its full render options (the clip's stored style plus this request's).

    The job belongs to the clip's owner (an admin acting on someone's clip does not take it over)."""
    with app.transaction() as conn:
        owner = conn.execute(select(Video.user_id).where(Video.id == video_id)).scalar()  # type: ignore[arg-type]
        [row] = jobs.insert_jobs(conn, [_render_spec(video_id, clip_id, options, owner, user)])
    return _sent(app, row)


def _render_spec(
    video_id: int, clip_id: int, options: dict[str, Any], owner: int | None, user: Principal
) -> dict[str, Any]:
    """The job row for ``jobs.insert_jobs``; it belongs to the video's owner, else (no owner) to the caller."""
    return {"kind": "render", "video_id": video_id, "clip_id": clip_id,
            "user_id": owner if owner is not None else user.id, "options": {"render_options": options}}  # fmt: skip


def _sent(app: Clipcast, row: dict[str, Any]) -> dict[str, Any]:
    """``row`` after its message is sent (after the commit: a worker never finds the row missing)."""
    tasks.enqueue(app, tasks.JobRef(row["id"], row["kind"]))
    return row
