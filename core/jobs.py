"""Job rows: the durable record of background work, whatever the broker does with its messages.

State machine: queued → running(stage, percent, message) → succeeded | failed(stage, reason) | cancelled.
Dramatiq messages carry only a job id; the row says what to do and what is already done, so a message delivered
twice (at-least-once) or re-queued after a worker died finds the row and carries on instead of starting over.

A ``process`` job (analyze, then render every clip) fans out into one ``render`` child job per clip; the parent
follows its children (progress = share of clips rendered) and ends when the last child ends.
"""

from __future__ import annotations

import functools
import time
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert
from sqlalchemy.exc import OperationalError
from sqlmodel import col, select, update

from core import leases
from core.errors import ClipcastError, InputError
from core.logging import get_logger
from core.models import Job, JobStatus, utcnow
from core.progress import Cancelled
from core.public_errors import scrub

log = get_logger("clipcast.jobs")

#: Job kinds and the Dramatiq queue each one runs on.
KIND_QUEUE = {"analyze": "analyze", "process": "analyze", "render": "render", "publish": "publish", "check": "publish"}
FINAL = {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED}


class JobBusy(ClipcastError):
    """Another live process owns the job until ``until`` (its lease); this message is early or a duplicate."""

    def __init__(self, job_id: int, owner: str | None, until: datetime | None) -> None:
        super().__init__(f"job {job_id} is running in {owner} (lease until {until})")
        self.until = until


class JobNotFound(InputError):
    def __init__(self, job_id: int) -> None:
        super().__init__(f"there is no job {job_id}", "list jobs with `clipcast jobs`")


def create_job(
    app: Any,
    kind: str,
    *,
    video_id: int | None = None,
    clip_id: int | None = None,
    user_id: int | None = None,
    options: dict[str, Any] | None = None,
) -> Job:
    """A queued job row (not yet sent: call ``core.tasks.enqueue``; the reconciler sends it if nobody does),
    written in its own transaction by ``insert_jobs`` and returned detached."""
    spec = {"kind": kind, "video_id": video_id, "clip_id": clip_id, "user_id": user_id, "options": options}
    with app.transaction() as conn:
        [row] = insert_jobs(conn, [spec])
    return Job.model_validate(row)


@functools.cache
def _job_defaults() -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``Job`` model's column defaults (but ``id``): plain values, and factories to call for each row."""
    fields = {name: f for name, f in Job.model_fields.items() if name != "id" and not f.is_required()}
    fixed = {name: f.default for name, f in fields.items() if f.default_factory is None}
    return fixed, {name: f.default_factory for name, f in fields.items() if f.default_factory is not None}


def insert_jobs(conn: Connection, specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Queued job rows written in the caller's Core transaction, returned as dicts of every column (``id``
    included), as ``paged(rows=True)`` returns them, in the order of ``specs``.

    Each spec holds ``kind`` and any of ``video_id``, ``clip_id``, ``user_id``, ``options``; every other column
    takes the ``Job`` model's default. Why not ORM objects: building a ``Job`` and flushing it cost a render
    request 0.36 of its 1.35 ms in the route (SQLite, in-process), a Core INSERT a third of that.
    """
    fixed, factories = _job_defaults()
    rows = []
    for spec in specs:
        if spec["kind"] not in KIND_QUEUE:
            raise InputError(f"unknown job kind {spec['kind']!r}", f"use one of: {', '.join(KIND_QUEUE)}")
        made = {name: make() for name, make in factories.items()}
        rows.append({**fixed, **made, **spec, "options": dict(spec.get("options") or {})})
    table = Job.__table__  # type: ignore[attr-defined]
    ids = conn.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows).scalars().all()
    return [{**row, "id": job_id} for row, job_id in zip(rows, ids, strict=True)]


def get_job(app: Any, job_id: int) -> Job:
    with app.session() as s:
        job = s.get(Job, job_id)
        if job is None:
            raise JobNotFound(job_id)
        return job


def list_jobs(
    app: Any, *, status: str | None = None, kind: str | None = None, user_id: int | None = None, limit: int = 50
) -> list[Job]:
    with app.session() as s:
        q = select(Job).order_by(col(Job.id).desc()).limit(limit)
        if status:
            q = q.where(Job.status == status)
        if kind:
            q = q.where(Job.kind == kind)
        if user_id is not None:
            q = q.where(Job.user_id == user_id)
        return list(s.exec(q))


def children(app: Any, parent_id: int) -> list[Job]:
    """Render jobs a process job fanned out (linked through ``options.parent_id``)."""
    with app.session() as s:
        parent = s.get(Job, parent_id)
        q = select(Job).where(Job.kind == "render", col(Job.id) > parent_id)
        if parent is not None and parent.video_id is not None:
            q = q.where(Job.video_id == parent.video_id)  # indexed: children carry the parent's video
        return [j for j in s.exec(q) if j.options.get("parent_id") == parent_id]


def update_job(app: Any, job_id: int, **fields: Any) -> Job:
    with app.session() as s:
        job = s.get(Job, job_id)
        if job is None:
            raise JobNotFound(job_id)
        for key, value in fields.items():
            if key in ("error", "message") and isinstance(value, str):
                value = scrub(value, app.settings)  # the studio shows these: no server directories in them
            setattr(job, key, value)
        job.updated_at = utcnow()
        s.add(job)
        return job


def start_attempt(app: Any, job_id: int, *, count: bool = True) -> Job | None:
    """Claim the job for this process and mark it running; None when there is nothing to do (finished or
    cancelled). ``JobBusy`` when another live process owns it (a duplicate, or a message redelivered before the
    dead owner's lease ran out). A job ``running`` whose lease ran out is taken over: its previous worker died.
    ``count``: add an attempt.
    """
    with app.session() as s:
        job = s.get(Job, job_id)
        if job is None:
            log.warning("message for a job that does not exist", job_id=job_id)
            return None
        if job.status in FINAL:
            return None
        if job.cancel_requested:
            job.status, job.finished_at, job.message = JobStatus.CANCELLED, utcnow(), "cancelled before it started"
            s.add(job)
            return None
    values: dict[str, Any] = {"status": JobStatus.RUNNING, "error": None}
    if count:
        values["attempts"] = Job.attempts + 1
    if not leases.claim(app, Job, job_id, where=col(Job.status).not_in(list(FINAL)), **values):
        job = get_job(app, job_id)
        if job.status in FINAL:
            return None
        raise JobBusy(job_id, job.owner, job.lease_until)
    leases.claimed_here(job_id)
    job = get_job(app, job_id)
    if job.started_at is None:
        job = update_job(app, job_id, started_at=utcnow())
    return job


def succeed(app: Any, job_id: int, message: str = "done", **fields: Any) -> Job:
    job = update_job(
        app, job_id, status=JobStatus.SUCCEEDED, progress=100.0, message=message, finished_at=utcnow(), **fields
    )
    app.emit("job.succeeded", job_id=job_id, video_id=job.video_id, clip_id=job.clip_id)
    return job


def fail(app: Any, job_id: int, reason: str, *, stage: str | None = None) -> Job:
    fields: dict[str, Any] = {"status": JobStatus.FAILED, "error": reason, "finished_at": utcnow()}
    if stage:
        fields["stage"] = stage
    job = update_job(app, job_id, **fields)
    app.emit("job.failed", job_id=job_id, video_id=job.video_id, data={"stage": job.stage, "reason": reason})
    return job


def mark_cancelled(app: Any, job_id: int, message: str = "cancelled") -> Job:
    job = update_job(app, job_id, status=JobStatus.CANCELLED, message=message, finished_at=utcnow())
    app.emit("job.cancelled", job_id=job_id, video_id=job.video_id)
    return job


def cancel_job(app: Any, job_id: int) -> Job:
    """Ask a job (and its render children) to stop. Queued jobs stop at once; running ones at their next check
    (between steps, and the ffmpeg wrapper kills a running ffmpeg within ~0.25 s)."""
    job = get_job(app, job_id)
    if job.status in FINAL:
        return job
    targets = [job, *(c for c in children(app, job_id) if c.status not in FINAL)]
    for target in targets:
        if target.status == JobStatus.QUEUED:
            mark_cancelled(app, target.id, "cancelled before it started")  # type: ignore[arg-type]
            update_job(app, target.id, cancel_requested=True)  # type: ignore[arg-type]
        else:
            update_job(app, target.id, cancel_requested=True, message="cancelling")  # type: ignore[arg-type]
    if job.kind == "process" and job.stage == "render":
        refresh_parent(app, job_id)  # all its clips may have been queued: then it is cancelled now
    return get_job(app, job_id)


def refresh_parent(app: Any, parent_id: int) -> Job:
    """Recompute a process job from its render children: progress, and the end state once all have ended."""
    parent = get_job(app, parent_id)
    kids = children(app, parent_id)
    if parent.status in FINAL or not kids:
        return parent
    done = [k for k in kids if k.status == JobStatus.SUCCEEDED]
    ended = [k for k in kids if k.status in FINAL]
    if len(ended) < len(kids):
        # Conditional: a sibling's refresh that saw every child ended may have finished the parent since our
        # read, and this older count must not overwrite its final message ("2 of 3" on a succeeded job).
        with app.transaction() as conn:
            conn.execute(
                update(Job)
                .where(col(Job.id) == parent_id, col(Job.status).not_in([s.value for s in FINAL]))
                .values(
                    stage="render",
                    progress=100.0 * len(done) / len(kids),
                    message=f"{len(done)} of {len(kids)} clips rendered",
                    updated_at=utcnow(),
                )
            )
        return get_job(app, parent_id)
    failed = [k for k in kids if k.status == JobStatus.FAILED]
    if failed:
        reasons = "; ".join(f"clip {k.clip_id}: {k.error}" for k in failed)
        return fail(app, parent_id, f"{len(failed)} of {len(kids)} clips failed to render: {reasons}", stage="render")
    if any(k.status == JobStatus.CANCELLED for k in kids):
        return mark_cancelled(app, parent_id)
    return succeed(app, parent_id, f"{len(kids)} clips rendered")


class JobReporter:
    """``core.progress.Reporter`` that writes to the job row.

    Progress writes are throttled to one every ``interval`` seconds (default 0.5) plus every stage change, so a
    chatty ffmpeg does not hammer the database; ``check_cancelled`` reads the row at most as often.
    """

    def __init__(self, app: Any, job_id: int, *, interval: float = 0.5) -> None:
        self.app = app
        self.job_id = job_id
        self.interval = interval
        self.current_stage = ""
        self._last_write = 0.0
        self._last_check = 0.0
        self._cancelled = False

    def stage(self, name: str) -> None:
        self.current_stage = name
        self._last_write = time.monotonic()
        update_job(self.app, self.job_id, stage=name, progress=0.0, message="")
        self.app.emit("job.stage", job_id=self.job_id, data={"stage": name})

    def progress(self, percent: float, message: str = "") -> None:
        now = time.monotonic()
        if now - self._last_write < self.interval and percent < 100:
            return
        self._last_write = now
        try:
            update_job(self.app, self.job_id, progress=round(max(0.0, min(100.0, percent)), 1), message=message[:500])
        except OperationalError as exc:  # a database lock held too long: progress is a hint, the work goes on
            log.warning("progress write skipped", job_id=self.job_id, error=str(exc).splitlines()[0])

    def check_cancelled(self) -> None:
        now = time.monotonic()
        if not self._cancelled and now - self._last_check >= self.interval:
            self._last_check = now
            with self.app.session() as s:
                job = s.get(Job, self.job_id)
                self._cancelled = bool(job is None or job.cancel_requested)
        if self._cancelled:
            raise Cancelled(f"job {self.job_id} was cancelled")


def wait_for_job(app: Any, job_id: int, *, timeout: float = 600, poll: float = 0.2) -> Job:
    """Block until the job ends (succeeded, failed or cancelled); ``TimeoutError`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        job = get_job(app, job_id)
        if job.status in FINAL:
            return job
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id} still {job.status} ({job.stage} {job.progress:.0f}%) after {timeout} s")
        time.sleep(poll)
