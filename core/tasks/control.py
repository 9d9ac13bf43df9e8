"""Retrying a job: the row goes back to ``queued`` and its message is sent again."""

from __future__ import annotations

from typing import Any

from core import jobs
from core.errors import ClipcastError
from core.models import JobStatus


def retry_job(app: Any, job_id: int) -> Any:
    """Re-queue a failed (or cancelled) job from the stage that failed.

    Finished stages are not redone: transcripts are cached by audio hash, rendered clips are skipped by their
    render hash, a post with a remote id is only checked. A process job that failed in ``render`` re-queues only
    the clips that did not render.
    """
    import core.tasks as tasks  # the package's enqueue, so tests and tools may replace it in one place

    job = jobs.get_job(app, job_id)
    if job.status not in (JobStatus.FAILED, JobStatus.CANCELLED):
        raise ClipcastError(
            f"job {job_id} is {job.status}; only failed or cancelled jobs can be retried",
            "wait for it to finish, or cancel it first",
        )
    kids = jobs.children(app, job_id) if job.kind == "process" else []
    if job.kind == "process" and job.stage == "render" and kids:
        for child in kids:
            if child.status in (JobStatus.FAILED, JobStatus.CANCELLED):
                _requeue_row(app, child.id)  # type: ignore[arg-type]
                tasks.enqueue(app, jobs.get_job(app, child.id))  # type: ignore[arg-type]
        jobs.update_job(
            app,
            job_id,
            status=JobStatus.RUNNING,
            error=None,
            finished_at=None,
            cancel_requested=False,
            message="retrying clips that failed",
        )
        jobs.refresh_parent(app, job_id)
        return jobs.get_job(app, job_id)
    _requeue_row(app, job_id)
    tasks.enqueue(app, jobs.get_job(app, job_id))
    return jobs.get_job(app, job_id)


def _requeue_row(app: Any, job_id: int) -> None:
    jobs.update_job(
        app,
        job_id,
        status=JobStatus.QUEUED,
        error=None,
        finished_at=None,
        cancel_requested=False,
        owner=None,
        lease_until=None,
        message=f"retry requested (stage {jobs.get_job(app, job_id).stage or 'start'})",
    )
