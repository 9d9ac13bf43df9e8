"""The broker and its actors: Redis when ``redis_url`` (or ``REDIS_URL``) is set, else an in-process StubBroker."""

from __future__ import annotations

import os
from typing import Any, NamedTuple

import dramatiq
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import Retries

from core.errors import PermanentError
from core.logging import get_logger
from core.models import Job
from core.progress import Cancelled
from core.tasks import actors
from core.tasks.heartbeat import Heartbeat
from core.tasks.middleware import JobState, Messages
from core.tasks.state import _state

log = get_logger("clipcast.tasks")

QUEUES = ("analyze", "render", "publish")


class JobRef(NamedTuple):
    """What a message needs of a job row, for callers holding the row as a dict (``jobs.insert_jobs``)."""

    id: int
    kind: str


def setup(app: Any) -> dramatiq.Broker:
    """Build the broker for ``app``'s settings, declare the actors on it and make it Dramatiq's global broker."""
    from core.tasks.embedded import stop_embedded_worker

    with _state.lock:
        if _state.app is app and _state.broker is not None:
            return _state.broker
        stop_embedded_worker()
        broker = _make_broker(app.settings)
        _state.app, _state.broker = app, broker
        _state.actors = _declare_actors(broker, app.settings)
        dramatiq.set_broker(broker)
        return broker


def _make_broker(settings: Any) -> dramatiq.Broker:
    url = settings.redis_url or os.environ.get("REDIS_URL")
    if url:
        from dramatiq.brokers.redis import RedisBroker

        broker: dramatiq.Broker = RedisBroker(
            url=url,
            namespace=settings.worker.namespace,
            heartbeat_timeout=int(settings.worker.heartbeat_timeout * 1000),
            maintenance_chance=settings.worker.maintenance_chance,
        )
        broker.add_middleware(Heartbeat(settings.worker.heartbeat_timeout))
    else:
        broker = StubBroker()
        broker.emit_after("process_boot")  # without this, time limits silently do nothing in-process
    broker.add_middleware(JobState(), before=Retries)  # "after" hooks run in reverse: this one sees Retries' verdict
    broker.add_middleware(Messages())
    return broker


def _declare_actors(broker: dramatiq.Broker, settings: Any) -> dict[str, dramatiq.Actor]:
    w = settings.worker
    retry = {
        "max_retries": w.max_retries,
        "min_backoff": int(w.min_backoff * 1000),
        "max_backoff": int(w.max_backoff * 1000),
        "throws": (PermanentError, Cancelled),
    }

    def declare(fn: Any, queue: str, **options: Any) -> dramatiq.Actor:
        return dramatiq.Actor(fn, broker=broker, actor_name=fn.__name__, queue_name=queue, priority=0, options=options)

    return {
        "analyze": declare(actors.analyze_job, "analyze", time_limit=int(w.analyze_time_limit * 1000), **retry),
        "render": declare(actors.render_job, "render", time_limit=int(w.render_time_limit * 1000), **retry),
        # Retrying publish_job is safe: publish_post claims the post (core.leases), saves the remote id before
        # anything else and, on a second delivery, checks or resumes from the checkpoint instead of starting over.
        "publish": declare(actors.publish_job, "publish", time_limit=int(w.publish_time_limit * 1000), **retry),
        "check": declare(
            actors.check_job,
            "publish",
            time_limit=120_000,
            **{**retry, "max_retries": 40, "min_backoff": int(w.check_delay * 1000), "max_backoff": 300_000},
        ),
    }


def actor_name(kind: str) -> str:
    """The actor that runs a job kind (a ``process`` job starts on the analyze actor)."""
    return "analyze" if kind in ("analyze", "process") else kind


def send(app: Any, job: Job | JobRef, *, delay_ms: int | None = None, actor: str | None = None) -> bool:
    """Send a job's message; False (logged) when the broker cannot be reached.

    The job row stays ``queued`` then, and the reconciler (``core.sweeper``) sends it once the broker is back:
    a row is never lost for want of a message, and a caller never fails after its row was written.
    """
    setup(app)
    try:
        _state.actors[actor or actor_name(job.kind)].send_with_options(args=(job.id,), delay=delay_ms)
    except Exception as exc:  # redis.ConnectionError, TimeoutError...: the reconciler re-sends from the row
        log.warning("broker unavailable; the job stays queued and is sent later", job_id=job.id, error=repr(exc))
        return False
    return True


def enqueue(app: Any, job: Job | JobRef, *, delay_ms: int | None = None) -> None:
    """Send a job's message to its queue (starting the embedded worker when there is no Redis)."""
    from core.tasks.embedded import start_embedded_worker

    broker = setup(app)
    if isinstance(broker, StubBroker) and not _state.workers:
        start_embedded_worker(app, resume=False)  # only `clipcast serve` re-sends unfinished rows at start
    send(app, job, delay_ms=delay_ms)


def is_embedded(app: Any) -> bool:
    return isinstance(setup(app), StubBroker)
