"""The single scheduler process (``clipcast scheduler``): APScheduler 3.x turning time into work.

Posting times live in the database; this process only dispatches. Its jobs (fixed ids, ``replace_existing``,
``coalesce``, a raised ``misfire_grace_time``, in-memory job store: never shared):

* ``dispatch-due-posts`` (every ``scheduler.dispatch_interval`` s): claims due ``scheduled`` posts, marks them
  dispatched and creates their publish jobs in one transaction (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, a
  conditional ``UPDATE ... WHERE dispatched_at IS NULL`` on SQLite), then sends the messages.
* ``sweep`` (every ``scheduler.sweep_interval`` s): ``core.sweeper.sweep`` re-drives jobs and posts whose owner
  died and re-sends jobs whose message was lost (a reconciler comparing job rows with the broker's queues);
  ``publish_post`` claims the post itself, so that can never upload twice.
* ``posting-schedules``: ``core.schedules.run_schedules``.
* ``watched-sources``: polls each due source; a new item becomes an analyze/process job, recorded in
  ``SourceItemSeen`` (unique per source and item) in the same transaction, so it is never processed twice.
* ``token-refresh``: ``core.accounts.refresh_due_tokens``.
* ``post-metrics``: ``core.analytics.collect.scheduler_tick`` (samples of published posts, per its schedule).

Exactly one scheduler is active: it holds a lease (a Redis key with a TTL when Redis is configured, else a
PostgreSQL advisory lock, else a file lock next to the SQLite database). A second process waits as a standby and
takes over when the lease is free.
"""

from __future__ import annotations

import fcntl
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from core.errors import ClipcastError, InputError
from core.logging import get_logger
from core.models import Job, Post, SourceItemSeen, WatchedSource, utcnow

log = get_logger("clipcast.scheduler")


def _is_postgres(app: Any) -> bool:
    return app.db_url.startswith(("postgresql", "postgres"))


# ----------------------------------------------------------------------------------------------- dispatch


def dispatch_due(
    app: Any, *, now: datetime | None = None, limit: int = 100, send: Callable[[Any, Job], None] | None = None
) -> list[int]:
    """Claim due posts and send one publish job each; returns the claimed post ids.

    Safe to run from several processes at once: a post is claimed by exactly one of them.
    """
    now = now or utcnow()
    claimed: list[tuple[int, Job]] = []
    with app.session() as s:
        if _is_postgres(app):
            rows = s.connection().execute(
                text(
                    "SELECT id FROM post WHERE status = 'scheduled' AND scheduled_at <= :now"
                    " AND dispatched_at IS NULL ORDER BY scheduled_at LIMIT :limit FOR UPDATE SKIP LOCKED"
                ),
                {"now": now, "limit": limit},
            )
            ids = [r[0] for r in rows]
            if ids:
                s.connection().execute(
                    text("UPDATE post SET dispatched_at = :now WHERE id = ANY(:ids)"), {"now": now, "ids": ids}
                )
        else:
            candidates = s.exec(
                select(Post.id)
                .where(Post.status == "scheduled", col(Post.scheduled_at) <= now)
                .where(col(Post.dispatched_at).is_(None))
                .order_by(col(Post.scheduled_at))
                .limit(limit)
            ).all()
            ids = []
            for post_id in candidates:
                res = s.connection().execute(
                    text(
                        "UPDATE post SET dispatched_at = :now WHERE id = :id AND status = 'scheduled'"
                        " AND dispatched_at IS NULL"
                    ),
                    {"now": now, "id": post_id},
                )
                if res.rowcount == 1:
                    ids.append(post_id)
        for post_id in ids:
            post = s.get(Post, post_id)
            job = Job(
                kind="publish",
                user_id=post.user_id if post else None,
                clip_id=post.clip_id if post else None,
                options={"post_id": post_id},
            )
            s.add(job)
            claimed.append((post_id, job))
        s.flush()
    if claimed:
        from core import tasks

        sender = send or tasks.enqueue
        for post_id, job in claimed:
            try:
                sender(app, job)
            except Exception as exc:  # the row stays queued: the sweeper's reconciler sends it
                log.error("could not send a publish message", post_id=post_id, job_id=job.id, error=repr(exc))
        log.info("dispatched due posts", count=len(claimed))
    return [post_id for post_id, _ in claimed]


def _dispatch_tick(app: Any) -> None:
    dispatch_due(app)


def _sweep_tick(app: Any) -> None:
    from core.sweeper import sweep

    sweep(app)


# -------------------------------------------------------------------------------------------- watched sources


@dataclass
class PollReport:
    source_id: int
    new_jobs: list[int] = field(default_factory=list)
    error: str | None = None


def source_due(source: WatchedSource, now: datetime) -> bool:
    if not source.enabled:
        return False
    if source.last_polled_at is None:
        return True
    last = source.last_polled_at if source.last_polled_at.tzinfo else source.last_polled_at.replace(tzinfo=UTC)
    if source.cron:
        from apscheduler.triggers.cron import CronTrigger

        nxt = CronTrigger.from_crontab(source.cron, timezone=UTC).get_next_fire_time(None, last + timedelta(seconds=1))
        return nxt is not None and nxt <= now
    return now - last >= timedelta(minutes=source.interval_minutes or 15)


def add_source(
    app: Any,
    kind: str,
    target: str,
    *,
    preset: dict[str, Any] | None = None,
    interval_minutes: float | None = 15,
    cron: str | None = None,
    user_id: int | None = None,
) -> WatchedSource:
    """Register a watched source after checking its kind, target, preset (``core.sources``) and cron. This is
    the administrator's path (CLI): a folder is still held to ``sources.folder_roots``."""
    from core.sources import check_source

    check_source(app, app.plugins.backend("source", kind), target, preset or {}, is_admin=True)
    if cron:
        from core.schedules import trigger

        trigger(cron, "UTC")
    with app.session() as s:
        row = WatchedSource(
            kind=kind,
            target=target,
            preset=dict(preset or {}),
            interval_minutes=interval_minutes,
            cron=cron,
            user_id=user_id,
        )
        s.add(row)
        s.flush()
        s.refresh(row)
        return row


def poll_source(
    app: Any, source: WatchedSource, *, now: datetime | None = None, send: Callable[[Any, Job], None] | None = None
) -> PollReport:
    """Poll one source now; every item not seen before becomes a job (created and sent once)."""
    assert source.id is not None
    now = now or utcnow()
    from core.sources import item_allowed

    report = PollReport(source.id)
    cls = app.plugins.backend("source", source.kind)
    try:
        _recheck(app, cls, source)
        backend = cls(cls.Options.model_validate(source.preset.get("options") or {}))
        backend.bind(app.settings)
        items = [i for i in backend.poll(source.target) if item_allowed(app.settings, cls, source.target, i.location)]
    except Exception as exc:
        report.error = str(exc) if isinstance(exc, ClipcastError) else f"{type(exc).__name__} (see the server log)"
        log.warning(
            "watched source failed",
            source_id=source.id,
            kind=source.kind,
            error=report.error,
            exc_info=not isinstance(exc, ClipcastError),
        )
        _touch(app, source.id, now, report.error)
        return report
    with app.session() as s:
        seen = set(s.exec(select(SourceItemSeen.item_id).where(SourceItemSeen.source_id == source.id)))
        first_poll = source.last_polled_at is None
    fresh = [item for item in items if item.id not in seen]
    backfill = source.preset.get("backfill", None if source.kind == "folder" else 0)
    skip = set()
    if first_poll and backfill is not None:
        skip = {item.id for item in fresh[int(backfill) :]}  # older entries of a feed are history, not news
    preset = source.preset
    kind = "process" if preset.get("render", True) else "analyze"
    request = {k: preset[k] for k in ("clips", "min_seconds", "max_seconds", "language") if k in preset}
    created: list[Job] = []
    for item in fresh:
        job = None
        try:
            with app.session() as s:
                if item.id not in skip:
                    job = Job(
                        kind=kind,
                        user_id=source.user_id,
                        options={
                            "source": item.location,
                            "title": item.title,
                            "request": request or None,
                            "render_options": preset.get("render_options") or {},
                            "accounts": preset.get("accounts") or [],
                            "watched_source_id": source.id,
                        },
                    )
                    s.add(job)
                    s.flush()
                s.add(SourceItemSeen(source_id=source.id, item_id=item.id, job_id=job.id if job else None))
        except IntegrityError:
            continue  # another poll recorded it first
        if job is not None:
            created.append(job)
    _touch(app, source.id, now, None)
    from core import tasks

    for job in created:
        (send or tasks.enqueue)(app, job)
        report.new_jobs.append(job.id)  # type: ignore[arg-type]
    if created:
        log.info("watched source found new items", source_id=source.id, kind=source.kind, jobs=report.new_jobs)
    return report


def _recheck(app: Any, cls: Any, source: WatchedSource) -> None:
    """The rules of ``core.sources`` again at poll time, as for the row's owner (YAML rows: the administrator)."""
    from core.models import User
    from core.sources import check_source

    is_admin = True
    if source.user_id is not None:
        with app.session() as s:
            owner = s.get(User, source.user_id)
            is_admin = bool(owner and owner.is_admin)
    check_source(app, cls, source.target, source.preset, is_admin=is_admin)


def _touch(app: Any, source_id: int, now: datetime, error: str | None) -> None:
    with app.session() as s:
        row = s.get(WatchedSource, source_id)
        row.last_polled_at, row.last_error = now, error
        s.add(row)


def poll_sources(
    app: Any, *, now: datetime | None = None, send: Callable[[Any, Job], None] | None = None
) -> list[PollReport]:
    """Poll every enabled source whose interval or cron says it is due."""
    now = now or utcnow()
    with app.session() as s:
        rows = list(s.exec(select(WatchedSource).where(WatchedSource.enabled == True)))  # noqa: E712
    return [poll_source(app, row, now=now, send=send) for row in rows if source_due(row, now)]


def sync_yaml_sources(app: Any) -> int:
    """Create or update the YAML's ``sources:`` (matched by kind and target)."""
    for cfg in app.settings.sources.watch:
        app.plugins.backend("source", cfg.kind)
        with app.session() as s:
            row = s.exec(
                select(WatchedSource).where(WatchedSource.kind == cfg.kind, WatchedSource.target == cfg.target)
            ).first() or WatchedSource(kind=cfg.kind, target=cfg.target)
            row.interval_minutes, row.cron, row.preset, row.enabled = (
                cfg.interval_minutes,
                cfg.cron,
                cfg.preset,
                cfg.enabled,
            )
            s.add(row)
    return len(app.settings.sources.watch)


def refresh_tokens(app: Any) -> int:
    from core.accounts import refresh_due_tokens

    return refresh_due_tokens(app)


# ---------------------------------------------------------------------------------------------------- lease


class Lease:
    """Only one active scheduler: a Redis key with TTL, a PostgreSQL advisory lock, or a file lock."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.ttl = app.settings.scheduler.lock_ttl
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.held = False
        self._redis: Any = None
        self._conn: Any = None
        self._file: Any = None
        url = app.settings.redis_url or os.environ.get("REDIS_URL")
        if url:
            import redis

            self._redis = redis.Redis.from_url(url)
            self.key = f"{app.settings.worker.namespace}:scheduler:lease"

    @property
    def kind(self) -> str:
        return "redis" if self._redis else "postgresql" if _is_postgres(self.app) else "file"

    def acquire(self) -> bool:
        """Take or renew the lease; False while another scheduler holds it."""
        if self._redis is not None:
            ms = int(self.ttl * 1000)
            if self.held:
                renewed = self._redis.eval(
                    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2])"
                    " else return 0 end",
                    1,
                    self.key,
                    self.token,
                    ms,
                )
                self.held = bool(renewed)
            else:
                self.held = bool(self._redis.set(self.key, self.token, nx=True, px=ms))
            return self.held
        if self.held:
            return True
        if _is_postgres(self.app):
            from core import db

            if self._conn is None:
                self._conn = db.get_engine(self.app.db_url).connect()
            got = self._conn.execute(text("SELECT pg_try_advisory_lock(hashtext('clipcast-scheduler'))")).scalar()
            self._conn.commit()
            self.held = bool(got)
            return self.held
        path = Path(self.app.settings.data_dir) / "scheduler.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+")  # noqa: SIM115 (held for the life of the scheduler)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._file, self.held = handle, True
        return True

    def holder(self) -> str | None:
        if self._redis is not None:
            value = self._redis.get(self.key)
            return value.decode() if value else None
        return None

    def release(self) -> None:
        if self._redis is not None and self.held:
            self._redis.eval(
                "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end",
                1,
                self.key,
                self.token,
            )
        if self._conn is not None:
            if self.held:  # pooled connections outlive close(): unlock explicitly
                self._conn.execute(text("SELECT pg_advisory_unlock(hashtext('clipcast-scheduler'))"))
                self._conn.commit()
            self._conn.close()
            self._conn = None
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
        self.held = False


# ------------------------------------------------------------------------------------------------ process


def build_scheduler(app: Any, lease: Lease, *, blocking: bool = True) -> Any:
    """The APScheduler instance with its five jobs plus the lease renewal."""
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler

    cfg = app.settings.scheduler
    cls = BlockingScheduler if blocking else BackgroundScheduler
    sched = cls(
        timezone=UTC,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": cfg.misfire_grace_time},
    )

    def guarded(name: str, fn: Callable[[Any], Any]) -> Callable[[], None]:
        def run() -> None:
            if not lease.held:
                return
            try:
                fn(app)
            except Exception as exc:  # one bad tick must not stop the scheduler
                log.error("scheduler job failed", job=name, error=repr(exc))

        return run

    def renew() -> None:
        if not lease.acquire():
            log.error("lost the scheduler lease; another scheduler took over, stopping")
            sched.shutdown(wait=False)

    first = datetime.now(UTC)
    plan = [
        ("dispatch-due-posts", _dispatch_tick, cfg.dispatch_interval),
        ("sweep", _sweep_tick, cfg.sweep_interval),
        ("posting-schedules", _run_schedules, cfg.schedules_interval),
        ("watched-sources", poll_sources, cfg.sources_interval),
        ("token-refresh", refresh_tokens, cfg.token_refresh_interval),
        ("post-metrics", _collect_metrics, cfg.metrics_interval),
    ]
    for job_id, fn, seconds in plan:
        sched.add_job(
            guarded(job_id, fn), "interval", seconds=seconds, id=job_id, replace_existing=True, next_run_time=first
        )
    sched.add_job(renew, "interval", seconds=max(1.0, lease.ttl / 3), id="scheduler-lease", replace_existing=True)
    return sched


def _collect_metrics(app: Any) -> None:
    from core.analytics.collect import scheduler_tick

    scheduler_tick(app)


def _run_schedules(app: Any) -> None:
    from core.schedules import run_schedules

    for outcome in run_schedules(app):
        if outcome.outcome == "posted":
            log.info("schedule slot filled", schedule_id=outcome.schedule_id, post_id=outcome.post_id)
        elif outcome.outcome in ("empty", "missed", "no-account", "reconnect"):
            log.warning(
                "schedule slot not filled",
                schedule_id=outcome.schedule_id,
                outcome=outcome.outcome,
                detail=outcome.detail,
            )


def run(app: Any, *, stop: threading.Event | None = None, standby_poll: float | None = None) -> None:
    """Run the scheduler until ``stop`` is set (or a signal arrives). Waits as standby while another is active."""
    from core.schedules import sync_yaml_schedules

    stop = stop or threading.Event()
    lease = Lease(app)
    standby_poll = standby_poll or max(1.0, lease.ttl / 3)
    said = False
    try:
        while not stop.is_set():
            if not lease.acquire():
                if not said:
                    log.warning("another scheduler is active; standing by", lease=lease.kind, holder=lease.holder())
                    said = True
                stop.wait(standby_poll)
                continue
            log.info("scheduler active", lease=lease.kind, pid=os.getpid())
            try:
                sync_yaml_schedules(app)
                sync_yaml_sources(app)
            except InputError as exc:
                log.error("configured schedules/sources are invalid", error=str(exc))
            sched = build_scheduler(app, lease, blocking=False)
            sched.start()
            while not stop.is_set() and sched.running and lease.held:
                stop.wait(0.5)
            if sched.running:
                sched.shutdown(wait=True)
            said = False
    finally:
        lease.release()


def main_loop(app: Any) -> None:
    """``clipcast scheduler``: run until SIGINT/SIGTERM."""
    import signal

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    run(app, stop=stop)


def start_background(app: Any) -> Callable[[], None]:
    """Run the scheduler in a thread of this process (``clipcast serve`` without Redis); returns its stop function.

    The lease still applies: a ``clipcast scheduler`` elsewhere on the same database makes this one a standby.
    """
    stop = threading.Event()
    thread = threading.Thread(target=run, args=(app,), kwargs={"stop": stop}, daemon=True, name="clipcast-scheduler")
    thread.start()

    def halt() -> None:
        stop.set()
        thread.join(timeout=15)

    return halt
