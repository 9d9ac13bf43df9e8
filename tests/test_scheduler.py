"""Dispatching due posts exactly once (SQLite, PostgreSQL with concurrent dispatchers, two scheduler
processes on Redis) and the single-scheduler lease."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml
from sqlmodel import select

from core import scheduler
from core.app import Clipcast
from core.config import SchedulerSettings, Settings, WorkerSettings
from core.models import Clip, Job, Post, SocialAccount, Video, utcnow

ROOT = Path(__file__).resolve().parent.parent


def seed_posts(app: Clipcast, due: int, later: int = 2) -> list[int]:
    """``due`` posts whose time has come and ``later`` ones in an hour; returns the due ids."""
    now = utcnow()
    with app.session() as s:
        account = SocialAccount(platform="youtube", name="main", remote_id=uuid.uuid4().hex)
        video = Video(source="x.mp4", sha256=uuid.uuid4().hex)
        s.add_all([account, video])
        s.flush()
        clip = Clip(video_id=video.id, start=0, end=10, video_key="renders/1.mp4")
        s.add(clip)
        s.flush()
        rows = [
            Post(clip_id=clip.id, account_id=account.id, scheduled_at=now - timedelta(seconds=i)) for i in range(due)
        ]
        rows += [
            Post(clip_id=clip.id, account_id=account.id, scheduled_at=now + timedelta(hours=1)) for _ in range(later)
        ]
        s.add_all(rows)
        s.flush()
        return [p.id for p in rows[:due]]


def collect() -> tuple[list[tuple[int, int]], Any]:
    sent: list[tuple[int, int]] = []
    lock = threading.Lock()

    def send(_app: Any, job: Job) -> None:
        with lock:
            sent.append((job.options["post_id"], job.id))

    return sent, send


def test_due_posts_are_dispatched_once_on_sqlite(app: Clipcast) -> None:
    due = seed_posts(app, 5)
    sent, send = collect()
    assert sorted(scheduler.dispatch_due(app, send=send)) == sorted(due)
    assert scheduler.dispatch_due(app, send=send) == []
    assert sorted(p for p, _ in sent) == sorted(due)
    with app.session() as s:
        jobs = list(s.exec(select(Job).where(Job.kind == "publish")))
        later = list(s.exec(select(Post).where(Post.dispatched_at == None)))  # noqa: E711
    assert sorted(j.options["post_id"] for j in jobs) == sorted(due)
    assert len(later) == 2  # not due yet
    # A job whose message was lost is sent again (the same job) by the sweeper's reconciler, after its grace.
    from core.sweeper import sweep

    assert sweep(app, send=send, grace=60).resent == []
    resent = sweep(app, send=send, now=utcnow() + timedelta(seconds=61), grace=60).resent
    assert sorted(resent) == sorted(j.id for j in jobs)
    assert len(sent) == 10 and scheduler.dispatch_due(app, send=send, now=utcnow() + timedelta(minutes=31)) == []


def test_concurrent_dispatchers_on_postgresql_claim_each_post_once(postgres_url: str, tmp_path: Path) -> None:
    app = Clipcast(Settings(data_dir=tmp_path / "data", database_url=postgres_url))
    due = seed_posts(app, 120)
    sent, send = collect()
    claimed: list[list[int]] = [[], []]

    def dispatcher(slot: int) -> None:
        while True:
            got = scheduler.dispatch_due(app, limit=7, send=send)
            claimed[slot] += got
            if not got:
                return

    threads = [threading.Thread(target=dispatcher, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed[0] + claimed[1]) == sorted(due)  # every due post, none twice
    assert not set(claimed[0]) & set(claimed[1])
    assert claimed[0] and claimed[1]  # both really took part
    assert sorted(p for p, _ in sent) == sorted(due)
    with app.session() as s:
        assert len(list(s.exec(select(Job).where(Job.kind == "publish")))) == 120


def test_lease_admits_one_scheduler(app: Clipcast, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = scheduler.Lease(app), scheduler.Lease(app)
    assert first.kind == "file"
    assert first.acquire() and not second.acquire()
    first.release()
    assert second.acquire()
    second.release()

    monkeypatch.setattr(app.settings, "redis_url", redis_url)
    monkeypatch.setattr(app.settings, "worker", WorkerSettings(namespace=f"cc-test-{uuid.uuid4().hex[:8]}"))
    monkeypatch.setattr(app.settings, "scheduler", SchedulerSettings(lock_ttl=1))
    first, second = scheduler.Lease(app), scheduler.Lease(app)
    assert first.kind == "redis"
    assert first.acquire() and not second.acquire()
    assert second.holder() == first.token
    assert first.acquire()  # renewal
    time.sleep(1.3)  # the holder died without releasing: its lease expires
    assert second.acquire() and not first.acquire()
    second.release()


def test_postgres_advisory_lease(postgres_url: str, tmp_path: Path) -> None:
    app = Clipcast(Settings(data_dir=tmp_path / "data", database_url=postgres_url))
    first, second = scheduler.Lease(app), scheduler.Lease(app)
    assert first.kind == "postgresql"
    assert first.acquire() and not second.acquire()
    first.release()
    assert second.acquire()
    second.release()


@pytest.mark.slow
def test_two_scheduler_processes_dispatch_every_due_post_once(redis_url: str, tmp_path: Path) -> None:
    namespace = f"cc-test-{uuid.uuid4().hex[:8]}"
    config = tmp_path / "clipcast.yaml"
    config.write_text(
        yaml.safe_dump({"worker": {"namespace": namespace}, "scheduler": {"dispatch_interval": 0.5, "lock_ttl": 10}})
    )
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "CLIPCAST_DATA_DIR": str(tmp_path / "data"),
        "CLIPCAST_CONFIG": str(config),
    }
    for key in ("DATABASE_URL", "CLIPCAST_SECRET_KEY"):
        env.pop(key, None)
    from core.config import load_settings

    old = {k: os.environ.get(k) for k in ("REDIS_URL", "CLIPCAST_DATA_DIR", "CLIPCAST_CONFIG")}
    os.environ.update({k: env[k] for k in old})
    try:
        app = Clipcast(load_settings())
    finally:
        for k, v in old.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    due = seed_posts(app, 15)
    cmd = [sys.executable, "-c", "from core.cli import main; main()", "scheduler"]
    procs = [
        subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(2)
    ]
    lines: list[list[str]] = [[], []]
    readers = [threading.Thread(target=lambda i=i: lines[i].extend(procs[i].stdout), daemon=True) for i in range(2)]
    for r in readers:
        r.start()
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:  # both running: one active (dispatching), one standing by
            with app.session() as s:
                pending = s.exec(select(Post).where(Post.dispatched_at == None, Post.id.in_(due))).all()  # noqa: E711
            if not pending and any("standing by" in line for out in lines for line in out):
                break
            time.sleep(0.3)
        assert not pending
        time.sleep(1.5)  # a few more ticks of both processes
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(timeout=30)
        for r in readers:
            r.join(timeout=5)
        outputs = ["".join(out) for out in lines]
    client = redis.Redis.from_url(redis_url)
    try:
        messages = [json.loads(m) for m in client.hgetall(f"{namespace}:publish.msgs").values()]
        job_ids = [m["args"][0] for m in messages]
        with app.session() as s:
            jobs = {j.id: j.options["post_id"] for j in s.exec(select(Job).where(Job.kind == "publish"))}
        assert sorted(jobs.values()) == sorted(due)  # one publish job per post
        assert sorted(job_ids) == sorted(jobs)  # one message per job
        assert sum("standing by" in out for out in outputs) == 1, outputs  # exactly one was active
    finally:
        keys = list(client.scan_iter(f"{namespace}:*"))
        if keys:
            client.delete(*keys)


def test_scheduler_jobs_have_fixed_ids_coalesce_and_a_misfire_grace(app: Clipcast) -> None:
    lease = scheduler.Lease(app)
    sched = scheduler.build_scheduler(app, lease, blocking=False)
    ids = {job.id for job in sched.get_jobs()} - {"post-metrics"}  # tested in test_analytics_collect.py
    assert ids == {
        "dispatch-due-posts",
        "sweep",
        "posting-schedules",
        "watched-sources",
        "token-refresh",
        "scheduler-lease",
    }
    assert sched._job_defaults == {"coalesce": True, "max_instances": 1, "misfire_grace_time": 300}
    assert type(sched).__name__ == "BackgroundScheduler"
    assert type(scheduler.build_scheduler(app, lease)).__name__ == "BlockingScheduler"


def test_a_standby_scheduler_takes_over_when_the_active_one_stops(app: Clipcast) -> None:
    app.settings.scheduler.dispatch_interval = 0.2
    due = seed_posts(app, 1)
    stops = [threading.Event(), threading.Event()]
    first = threading.Thread(target=scheduler.run, args=(app,), kwargs={"stop": stops[0]})
    first.start()
    time.sleep(1.0)
    second = threading.Thread(target=scheduler.run, args=(app,), kwargs={"stop": stops[1], "standby_poll": 0.2})
    second.start()
    try:
        time.sleep(1.0)
        with app.session() as s:
            assert s.get(Post, due[0]).dispatched_at is not None  # the active one dispatched it
        stops[0].set()
        first.join(timeout=10)
        late = seed_posts(app, 1, later=0)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with app.session() as s:
                if s.get(Post, late[0]).dispatched_at is not None:
                    break
            time.sleep(0.1)
        with app.session() as s:
            assert s.get(Post, late[0]).dispatched_at is not None  # the standby took over
            assert len(list(s.exec(select(Job).where(Job.kind == "publish")))) == 2
    finally:
        for stop in stops:
            stop.set()
        first.join(timeout=10)
        second.join(timeout=10)
        from core import tasks

        tasks.stop_embedded_worker()
