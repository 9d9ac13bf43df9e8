"""The in-process worker for installs without Redis (``clipcast serve``)."""

from __future__ import annotations

from typing import Any

import dramatiq
from sqlalchemy import update
from sqlmodel import col, select

from core.logging import get_logger
from core.models import Job, JobStatus
from core.tasks.state import _state

log = get_logger("clipcast.tasks")


def start_embedded_worker(app: Any, *, threads: int = 4, resume: bool = True) -> list[dramatiq.Worker]:
    """Start the embedded worker pools once.

    ``resume`` re-sends the job rows left queued or running (their messages died with the previous process): only
    the process that owns the installation's work (``clipcast serve``) should do that, or two processes would run
    the same jobs (a duplicate would be dropped by the job's owner check, but wastes a turn).
    """
    from core.tasks.broker import QUEUES, setup
    from core.tasks.pools import make_pools

    broker = setup(app)
    with _state.lock:
        if _state.workers:
            return _state.workers
        pools = make_pools(broker, app.settings, set(QUEUES), threads)
        for pool in pools:
            pool.start()
        _state.workers = pools
    if resume:  # the installation's owner process (`clipcast serve`): it also clears its predecessors' scratch
        from core import scratch

        scratch.start_cleaner(app)
        resume_unfinished(app)
    return pools


def stop_embedded_worker() -> None:
    with _state.lock:
        for pool in _state.workers:
            pool.stop()
        _state.workers = []


def resume_unfinished(app: Any) -> list[int]:
    """Re-send jobs left queued or running (the embedded broker kept their messages in memory only).

    Without Redis this process is the installation's only job runner, so jobs another process owned are its
    predecessor's: their leases are released at once instead of waiting for them to run out."""
    from core import leases
    from core.tasks.broker import send

    with app.session() as s:
        s.exec(  # type: ignore[call-overload]
            update(Job)
            .where(col(Job.owner).is_not(None), col(Job.owner) != leases.me())
            .values(owner=None, lease_until=None)
        )
    with app.session() as s:
        rows = list(s.exec(select(Job).where(col(Job.status).in_([JobStatus.QUEUED, JobStatus.RUNNING]))))
    sent = []
    for job in rows:
        if job.kind == "process" and job.stage == "render" and job.options.get("analysis_done"):
            continue  # its render children are re-sent themselves
        if send(app, job):
            sent.append(job.id)
    if sent:
        log.info("re-sent unfinished jobs", count=len(sent))
    return sent
