"""The actors: one function per stage, each starting from its job row and skipping what is already done.

Every actor claims its row first (``jobs.start_attempt``: this process becomes its owner, with a lease kept
alive by ``core.leases``); a second message for a job that a live owner runs is dropped, and the sweeper re-sends
the job if that owner dies.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from core import jobs
from core.errors import InputError, RetryableError
from core.leases import aware
from core.models import Clip, Job, JobStatus, utcnow
from core.progress import Cancelled
from core.tasks.child import analyze_in_child, analyze_inline
from core.tasks.slots import queue_slot
from core.tasks.stages import stage_function
from core.tasks.state import _state, current_app


def _claim(app: Any, job_id: int, actor: str, *, count: bool = True) -> Job | None:
    """The job row claimed for this message, or None. A job a live process owns gets this message back after
    that owner's lease (so a worker redelivered a dead worker's message carries on then, without a sweeper)."""
    try:
        return jobs.start_attempt(app, job_id, count=count)
    except jobs.JobBusy as busy:
        wait = (aware(busy.until) - utcnow()).total_seconds() if busy.until else 1.0
        _state.actors[actor].send_with_options(args=(job_id,), delay=int(max(0.5, wait + 0.5) * 1000))
        return None


def analyze_job(job_id: int) -> None:
    """Analyze a video (ingest → transcribe → select); a ``process`` job then fans out one render per clip."""
    app = current_app()
    job = _claim(app, job_id, "analyze")
    if job is None:
        return
    reporter = jobs.JobReporter(app, job_id)
    try:
        if not (job.options.get("analysis_done") and job.video_id):
            with queue_slot(app, "analyze", reporter):
                reporter.check_cancelled()
                if app.settings.worker.isolate_analyze:
                    outcome = analyze_in_child(app, job_id, reporter)
                else:
                    outcome = analyze_inline(app, job_id, reporter)
            job = jobs.update_job(
                app,
                job_id,
                video_id=outcome["video_id"],
                options={**job.options, "analysis_done": True, "clip_ids": outcome["clip_ids"]},
            )
        if job.kind == "process" or job.options.get("render"):
            _fan_out(app, job)
        else:
            jobs.succeed(app, job_id, f"{len(job.options.get('clip_ids', []))} clips proposed")
    except Cancelled:
        jobs.mark_cancelled(app, job_id)


def _fan_out(app: Any, job: Job) -> None:
    """One render child job per clip (created once: a redelivered message finds them) and their messages."""
    from core.tasks.broker import send

    assert job.id is not None
    clip_ids = job.options.get("clip_ids")
    if clip_ids is None:
        with app.session() as s:
            clip_ids = [c.id for c in s.exec(select(Clip).where(Clip.video_id == job.video_id))]
    with app.session() as s:
        rejected = {c.id for c in s.exec(select(Clip).where(col(Clip.id).in_(clip_ids))) if c.status == "rejected"}
    clip_ids = [c for c in clip_ids if c not in rejected]
    existing = {k.clip_id: k for k in jobs.children(app, job.id)}
    jobs.update_job(app, job.id, stage="render", progress=0.0, message=f"rendering {len(clip_ids)} clips")
    if not clip_ids:
        jobs.succeed(app, job.id, "no clips to render")
        return
    for clip_id in clip_ids:
        child = existing.get(clip_id)
        if child is None:
            child = jobs.create_job(
                app,
                "render",
                video_id=job.video_id,
                clip_id=clip_id,
                user_id=job.user_id,
                options={"parent_id": job.id, "render_options": job.options.get("render_options") or {}},
            )
        if child.status == JobStatus.QUEUED:
            send(app, child)
    jobs.refresh_parent(app, job.id)


def render_job(job_id: int) -> None:
    """Render one clip. ``render_clip`` skips the work when the clip's files match its render hash."""
    app = current_app()
    job = _claim(app, job_id, "render")
    parent = job.options.get("parent_id") if job else jobs.get_job(app, job_id).options.get("parent_id")
    try:
        if job is None:
            return
        if job.clip_id is None:
            raise InputError(f"render job {job_id} has no clip")
        reporter = jobs.JobReporter(app, job_id)
        with queue_slot(app, "render", reporter):
            reporter.stage("render")
            render = stage_function(app, "render")
            render(app, job.clip_id, options=_render_options(job.options.get("render_options")), reporter=reporter)
        jobs.succeed(app, job_id, "clip rendered")
    except Cancelled:
        jobs.mark_cancelled(app, job_id)
    finally:
        if parent and (job is None or jobs.get_job(app, job_id).status in jobs.FINAL):
            jobs.refresh_parent(app, int(parent))


def _render_options(raw: dict[str, Any] | None) -> Any:
    if not raw:
        return None
    from core.pipeline.render import RenderOptions

    return RenderOptions(**raw)


def publish_job(job_id: int) -> None:
    """Publish one post (at most one upload), then hand over to ``check_job`` while the platform processes it."""
    app = current_app()
    job = _claim(app, job_id, "publish")
    if job is None:
        return
    post_id = job.options.get("post_id")
    if post_id is None:
        raise InputError(f"publish job {job_id} names no post")
    reporter = jobs.JobReporter(app, job_id)
    try:
        with queue_slot(app, "publish", reporter):
            reporter.stage("publish")
            post = stage_function(app, "publish")(app, int(post_id), reporter=reporter)
        _after_publish(app, job_id, post)
    except Cancelled:
        jobs.mark_cancelled(app, job_id)
    except RetryableError as exc:
        if exc.retry_after is None:
            raise  # the job's retries and backoff
        # a rate-limit window: come back when it has passed, without spending a retry
        jobs.update_job(app, job_id, status=JobStatus.QUEUED, message=f"throttled: {exc}")
        _state.actors["publish"].send_with_options(args=(job_id,), delay=int((exc.retry_after + 0.5) * 1000))


def check_job(job_id: int) -> None:
    """Ask the platform where a post stands; raises ``RetryableError`` (retried with backoff) while processing."""
    app = current_app()
    job = _claim(app, job_id, "check", count=False)
    if job is None:
        return
    jobs.update_job(app, job_id, stage="check", message="checking the post's status")
    post = stage_function(app, "check")(app, int(job.options["post_id"]))
    _after_publish(app, job_id, post)


def _after_publish(app: Any, job_id: int, post: Any) -> None:
    status = str(getattr(post, "status", ""))
    if status == "published":
        jobs.succeed(app, job_id, f"published {post.url or post.remote_id or ''}".strip())
    elif status in ("failed", "cancelled"):
        jobs.fail(app, job_id, post.error or f"post {post.id} {status}")
    elif status == "scheduled":  # deferred (a full publishing window): the dispatcher sends it again then
        jobs.succeed(app, job_id, post.error or f"post {post.id} scheduled again")
    else:  # uploading / processing: poll until the platform says (the job waits queued, owned by nobody)
        jobs.update_job(
            app, job_id, status=JobStatus.QUEUED, stage="check", message=f"post {post.id} is {status}; checking"
        )
        _state.actors["check"].send_with_options(args=(job_id,), delay=int(app.settings.worker.check_delay * 1000))
