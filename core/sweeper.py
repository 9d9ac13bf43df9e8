"""The sweeper: nothing unfinished stays without an owner, and no job row stays without a message.

Run by the scheduler every ``scheduler.sweep_interval`` seconds (so also in embedded mode, where ``clipcast serve``
runs the scheduler in-process). One sweep:

1. **Dead owners.** An owner whose lease ran out is dead (a live process renews all its leases together,
   ``core.leases``). Everything it held is released: its running jobs go back to ``queued``; its posts keep their
   state and checkpoint and lose only the owner.
2. **Lost messages (the reconciler).** A ``queued`` job with no message in the broker (Redis restarted without
   its data, a send that failed during an outage, a message held by a worker whose Redis heartbeat stopped) is
   sent again from its row, once it was created more than ``grace`` seconds ago (a row written just before its
   message is not lost; a job released or retried later is not new and does not wait). A message fetched by a
   worker counts as live while that worker's Redis heartbeat is fresh, so a job whose lease lapsed in a live but
   slow process is not sent to a second one; once the heartbeat is ``heartbeat_timeout`` old, it is sent again
   (Dramatiq itself would hand it on only at a random maintenance). Duplicates are harmless: a job's owner check drops a
   second message.
3. **Orphan posts.** An ``uploading`` or ``processing`` post with no owner and no unfinished publish job (its
   CLI was killed, its job ended) gets a publish job, which resumes it from its checkpoint.

So a ``kill -9`` anywhere is repaired within about ``max(worker.lease_seconds, worker.heartbeat_timeout) +
scheduler.sweep_interval`` (40 s by default).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select

from core.contracts import PostStatus
from core.logging import get_logger
from core.models import Job, JobStatus, Post, utcnow

log = get_logger("clipcast.sweeper")

#: Seconds a queued job may go without a message before it counts as lost.
GRACE = 5.0


@dataclass
class Sweep:
    dead_owners: list[str] = field(default_factory=list)
    requeued: list[int] = field(default_factory=list)
    resent: list[int] = field(default_factory=list)
    new_jobs: list[int] = field(default_factory=list)
    broker_unreadable: bool = False


def sweep(
    app: Any,
    *,
    now: datetime | None = None,
    grace: float = GRACE,
    send: Callable[[Any, Job], Any] | None = None,
) -> Sweep:
    from core import tasks

    now = now or utcnow()
    send = send or tasks.send
    report = Sweep()
    report.dead_owners, report.requeued = _release_dead_owners(app, now)
    live = live_job_ids(app)
    if live is None:
        report.broker_unreadable = True
    else:
        report.resent = _resend_lost(app, now - timedelta(seconds=grace), live, set(report.requeued), send)
    report.new_jobs = _adopt_orphan_posts(app, send)
    if report.dead_owners or report.resent or report.new_jobs:
        log.warning(
            "sweeper re-drove unowned work",
            dead_owners=report.dead_owners,
            requeued=report.requeued,
            resent=report.resent,
            new_publish_jobs=report.new_jobs,
        )
    return report


def _release_dead_owners(app: Any, now: datetime) -> tuple[list[str], list[int]]:
    with app.session() as s:
        dead = set(s.exec(select(Job.owner).where(col(Job.owner).is_not(None), col(Job.lease_until) < now)))
        dead |= set(s.exec(select(Post.owner).where(col(Post.owner).is_not(None), col(Post.lease_until) < now)))
    if not dead:
        return [], []
    with app.session() as s:
        requeued = [
            j.id
            for j in s.exec(select(Job).where(col(Job.owner).in_(dead), Job.status == JobStatus.RUNNING))
            if j.id is not None
        ]
        s.exec(  # type: ignore[call-overload]
            update(Job)
            .where(col(Job.owner).in_(dead), Job.status == JobStatus.RUNNING)
            .values(status=JobStatus.QUEUED, message="its worker stopped; sent again", updated_at=now)
        )
        s.exec(update(Job).where(col(Job.owner).in_(dead)).values(owner=None, lease_until=None))  # type: ignore[call-overload]
        s.exec(update(Post).where(col(Post.owner).in_(dead)).values(owner=None, lease_until=None))  # type: ignore[call-overload]
    return sorted(d for d in dead if d), requeued


def _resend_lost(app: Any, cutoff: datetime, live: set[int], freed: set[int], send: Callable[..., Any]) -> list[int]:
    with app.session() as s:
        rows = list(s.exec(select(Job).where(Job.status == JobStatus.QUEUED, col(Job.owner).is_(None))))
    resent = []
    for job in rows:
        if job.id in live:  # a live worker (fresh heartbeat) holds its message: it runs it
            continue
        if job.id not in freed and _aware(job.created_at) > cutoff:  # just written: its message may be on its way
            continue
        if send(app, job) is not False:
            resent.append(job.id)  # type: ignore[arg-type]
    return resent


def _adopt_orphan_posts(app: Any, send: Callable[..., Any]) -> list[int]:
    from core import jobs

    with app.session() as s:
        posts = list(
            s.exec(
                select(Post).where(
                    col(Post.status).in_([PostStatus.UPLOADING, PostStatus.PROCESSING]), col(Post.owner).is_(None)
                )
            )
        )
        if not posts:
            return []
        unfinished = s.exec(
            select(Job).where(Job.kind == "publish", col(Job.status).in_([JobStatus.QUEUED, JobStatus.RUNNING]))
        )
        driven = {int(j.options.get("post_id") or 0) for j in unfinished}
    created = []
    for post in posts:
        if post.id in driven:
            continue
        job = jobs.create_job(
            app, "publish", clip_id=post.clip_id, user_id=post.user_id, options={"post_id": post.id, "adopted": True}
        )
        jobs.update_job(app, job.id, message=f"resuming post {post.id} ({post.status}) left without an owner")  # type: ignore[arg-type]
        send(app, job)
        created.append(job.id)  # type: ignore[arg-type]
    return created  # type: ignore[return-value]


def _aware(at: datetime) -> datetime:
    from core.leases import aware

    return aware(at)


def live_job_ids(app: Any) -> set[int] | None:
    """Job ids that have a message the broker will deliver; None when the broker cannot be read.

    Redis keeps every message (queued, delayed, fetched but unacknowledged) in ``<ns>:<queue>.msgs`` and
    ``<ns>:<queue>.DQ.msgs`` until it is acknowledged; messages fetched by a worker whose heartbeat is older than
    ``heartbeat_timeout`` do not count (that worker is dead; Dramatiq would requeue them only at its next random
    maintenance). Without Redis, the ``Messages`` middleware counts this process's live messages.
    """
    from dramatiq import Message
    from dramatiq.brokers.stub import StubBroker

    from core import tasks
    from core.tasks.middleware import Messages

    broker = tasks.setup(app)
    if isinstance(broker, StubBroker):
        counter = next((m for m in broker.middleware if isinstance(m, Messages)), None)
        return counter.job_ids() if counter is not None else None
    ns, client = broker.namespace, broker.client
    try:
        alive = {
            b.decode()
            for b in client.zrangebyscore(
                f"{ns}:__heartbeats__", int(time.time() * 1000) - broker.heartbeat_timeout, "+inf"
            )
        }
        held_by_dead: set[bytes] = set()
        prefix = f"{ns}:__acks__."
        for key in client.scan_iter(match=f"{prefix}*", count=500):
            worker_id = key.decode()[len(prefix) :].split(".", 1)[0]
            if worker_id not in alive:
                held_by_dead |= set(client.smembers(key))
        ids: set[int] = set()
        for queue in tasks.QUEUES:
            for name in (f"{ns}:{queue}.msgs", f"{ns}:{queue}.DQ.msgs"):
                for msg_id, data in client.hgetall(name).items():
                    if msg_id in held_by_dead:
                        continue
                    args = Message.decode(data).args
                    if args:
                        ids.add(int(args[0]))
        return ids
    except Exception as exc:  # Redis away: nothing is re-sent until it is back (sending would fail anyway)
        log.warning("broker unreadable; lost messages are re-sent when it is back", error=repr(exc))
        return None
