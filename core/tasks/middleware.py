"""Dramatiq middleware: job rows follow their messages (``JobState``); live messages are counted (``Messages``)."""

from __future__ import annotations

import collections
import threading
from typing import Any

from dramatiq.middleware import Middleware, TimeLimitExceeded
from pydantic import ValidationError

from core import jobs, leases
from core.errors import ClipcastError, validation_summary
from core.logging import get_logger
from core.models import Job, JobStatus
from core.progress import Cancelled
from core.tasks.state import _state

log = get_logger("clipcast.tasks")


class JobState(Middleware):
    """Writes a message's outcome to its job row: retrying (with the last error) or failed (stage + reason).

    Either way the row's lease is released in the same write, so the sweeper never mistakes a job waiting for
    its retry for one whose worker died. A publish job that fails for good also lets its post go
    (``core.pipeline.publish.abandon``): nothing stays ``uploading`` without an owner.
    """

    def after_process_message(self, broker: Any, message: Any, *, result: Any = None, exception: Any = None) -> None:
        if not message.args or _state.app is None:
            return
        app, job_id = _state.app, int(message.args[0])
        if not leases.take_claimed_here(job_id):
            return  # this message did not run the job (finished already, or owned by another live process)
        if exception is None:
            leases.release(app, Job, job_id)
            return
        reason = _reason(exception, message)
        try:
            job = jobs.get_job(app, job_id)
        except ClipcastError:
            return
        if job.status in jobs.FINAL:
            leases.release(app, Job, job_id)
            return
        if isinstance(exception, Cancelled):
            jobs.mark_cancelled(app, job_id)
        elif message.failed:
            jobs.fail(app, job_id, reason)
            log.warning("job failed", job_id=job_id, stage=job.stage, reason=reason)
            if job.kind == "publish" and job.options.get("post_id"):
                from core.pipeline.publish import abandon

                abandon(app, int(job.options["post_id"]), reason)
        elif message.actor_name == "check_job":
            jobs.update_job(app, job_id, message=f"still processing on the platform; checking again ({reason})")
            leases.release(app, Job, job_id, status=JobStatus.QUEUED)
            return
        else:
            retries = message.options.get("retries", 0)
            note = f"attempt {job.attempts} failed; retry {retries} scheduled"
            jobs.update_job(app, job_id, error=reason, message=note)
            leases.release(app, Job, job_id, status=JobStatus.QUEUED)
            return
        leases.release(app, Job, job_id)
        parent = job.options.get("parent_id")
        if parent:
            jobs.refresh_parent(app, int(parent))

    def after_skip_message(self, broker: Any, message: Any) -> None:
        if message.args and _state.app is not None:
            jobs.fail(_state.app, int(message.args[0]), "the message was skipped by the broker (too old)")


def _reason(exc: BaseException, message: Any) -> str:
    if isinstance(exc, TimeLimitExceeded):
        limit = message.options.get("time_limit") or _actor_time_limit(message.actor_name)
        return f"took longer than the time limit ({limit / 1000:.0f} s) and was stopped"
    if isinstance(exc, ClipcastError):
        return str(exc)
    if isinstance(exc, ValidationError):  # its str() quotes the input values: name the keys and problems only
        return f"invalid options: {validation_summary(exc)}"
    return f"{type(exc).__name__}: {exc}"


def _actor_time_limit(actor_name: str) -> int:
    for actor in _state.actors.values():
        if actor.actor_name == actor_name:
            return int(actor.options.get("time_limit", 0))
    return 0


class Messages(Middleware):
    """Counts this process's live messages per job id (sent, not yet acknowledged): the embedded broker keeps
    its messages in memory only, so this is what the reconciler compares job rows with when there is no Redis."""

    def __init__(self) -> None:
        self.live: collections.Counter[int] = collections.Counter()
        self.lock = threading.Lock()

    def _change(self, message: Any, delta: int) -> None:
        if message.args:
            with self.lock:
                self.live[int(message.args[0])] += delta
                if self.live[int(message.args[0])] <= 0:
                    del self.live[int(message.args[0])]

    def after_enqueue(self, broker: Any, message: Any, delay: Any) -> None:
        self._change(message, 1)

    def after_ack(self, broker: Any, message: Any) -> None:
        self._change(message, -1)

    def after_nack(self, broker: Any, message: Any) -> None:
        self._change(message, -1)

    def job_ids(self) -> set[int]:
        with self.lock:
            return set(self.live)
