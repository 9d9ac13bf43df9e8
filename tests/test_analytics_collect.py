"""Metrics collection: the sample schedule, storing samples, quotas and throttling, and a collector killed
in the middle of storing a sample (no duplicate, no gap longer than one interval after the restart)."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fakes.analytics_env import published_post
from fakes.publish_env import LOOPBACK, SECRET_KEY, make_account, make_app
from fakes.youtube_server import YouTubeFake
from sqlmodel import func, select

from core.analytics.collect import collect_due, current_slot, next_slot, slot_offsets
from core.config import AnalyticsSettings
from core.models import AiUsage, PostMetric, PostMetricSummary

TESTS = Path(__file__).resolve().parent
T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
H = timedelta(hours=1)


def growing(step: int = 100):
    counter = itertools.count(1)
    return lambda: next(counter) * step


@pytest.fixture
def yt():
    with YouTubeFake() as fake:
        yield fake


def test_schedule_is_dense_early_then_daily_then_weekly():
    cfg = AnalyticsSettings()
    offsets = slot_offsets(cfg)
    assert offsets[:3] == [2 * H, 4 * H, 6 * H] and 48 * H in offsets and 50 * H not in offsets
    assert [o for o in offsets if 48 * H < o <= timedelta(days=5)] == [timedelta(days=d) for d in (3, 4, 5)]
    assert offsets[-2:] == [timedelta(days=77), timedelta(days=84)]  # weekly after day 28, none after day 90
    assert current_slot(offsets, 90 * timedelta(minutes=1)) is None
    assert current_slot(offsets, 5 * H) == 4 * H and next_slot(offsets, 4 * H) == 6 * H
    assert next_slot(offsets, offsets[-1]) is None
    with pytest.raises(ValueError):
        AnalyticsSettings(daily_until_days=100, stop_after_days=90)


def test_the_scheduler_runs_the_collection(tmp_path, yt, monkeypatch):
    from core import scheduler

    app = make_app(tmp_path, {"youtube": yt.options()}, scheduler={"metrics_interval": 120})
    sched = scheduler.build_scheduler(app, scheduler.Lease(app), blocking=False)
    job = sched.get_job("post-metrics")
    assert job is not None and job.trigger.interval == timedelta(seconds=120)
    ran: list[object] = []
    monkeypatch.setattr("core.analytics.collect.collect_due", lambda a: ran.append(a))
    scheduler._collect_metrics(app)
    app.settings.analytics.enabled = False
    scheduler._collect_metrics(app)
    assert ran == [app]  # once: analytics.enabled false stops it


def test_collection_stores_series_summary_and_quota(tmp_path, yt):
    app = make_app(tmp_path, {"youtube": yt.options()}, analytics={"spacing_seconds": 0})
    account_id = make_account(app, "youtube", yt.issue())
    ids = [published_post(app, account_id, f"v{i}", T0 - i * 30 * timedelta(minutes=1)) for i in range(3)]
    for i in range(3):
        yt.stats[f"v{i}"] = {"views": growing(), "likes": 5, "comments": 1, "shares": 0,
                             "avg_view_seconds": 12.0, "avg_view_percent": 40.0}  # fmt: skip
    assert collect_due(app, now=T0).fetched == 0  # nobody is 2 hours old yet
    runs = [T0 + k * 2 * H for k in range(1, 26)] + [T0 + timedelta(days=d) for d in range(3, 9)]
    for at in runs:  # every 2 hours for 2 days, then daily: 10 minutes past each slot
        collect_due(app, now=at + 10 * timedelta(minutes=1))
    with app.session() as s:
        rows = s.exec(select(PostMetric).where(PostMetric.post_id == ids[0])).all()
        buckets = sorted({r.bucket for r in rows})
        summary = s.get(PostMetricSummary, ids[0])
        units = s.exec(select(func.sum(AiUsage.units)).where(AiUsage.kind == "quota")).one()
    assert len(buckets) == 24 + 6  # every 2 h for 48 h, then days 3..8
    assert len(rows) == len(buckets) * 6  # six metrics per sample
    assert summary.samples == 30 and summary.status == "ok" and summary.latest["avg_view_seconds"] == 12.0
    views = sorted((r.bucket, r.value) for r in rows if r.metric == "views")
    assert views[24][0] == T0 + timedelta(days=3) and all(a[1] < b[1] for a, b in itertools.pairwise(views))
    by_bucket = dict(views)
    day6, day7 = by_bucket[T0 + timedelta(days=6)], by_bucket[T0 + timedelta(days=7)]
    assert day6 < summary.views_7d < day7  # interpolated to exactly 7 days from samples taken 10 minutes late
    assert summary.next_due_at.replace(tzinfo=UTC) == T0 + timedelta(days=9)
    assert units == 3 * 30  # one Data API unit per fetch, recorded as usage


def test_budget_throttling_and_missing_scopes(tmp_path, yt):
    app = make_app(tmp_path, {"youtube": yt.options()}, analytics={"spacing_seconds": 0, "daily_units": {"youtube": 5}})
    account_id = make_account(app, "youtube", yt.issue())
    ids = [published_post(app, account_id, f"v{i}", T0) for i in range(6)]
    for i in range(6):
        yt.stats[f"v{i}"] = {"views": 10}
    old = published_post(app, account_id, "old", T0 - timedelta(days=120))  # first seen after stop_after_days
    report = collect_due(app, now=T0 + 2 * H)
    assert report.fetched == 5 and report.over_budget == ["youtube"]  # the day's budget spreads the rest
    assert collect_due(app, now=T0 + 2.5 * H).fetched == 0
    with app.session() as s:
        done = s.get(PostMetricSummary, old)
    assert done.status == "done" and done.next_due_at is None and done.samples == 0  # never fetched
    yt.throttle = 10
    report = collect_due(app, now=T0 + timedelta(days=1, hours=0.5))  # a new UTC day: budget again
    assert report.throttled == ["youtube"] and report.fetched == 0
    with app.session() as s:
        throttled = [s.get(PostMetricSummary, i) for i in ids]
    waiting = [t for t in throttled if t.status == "throttled"]
    assert len(waiting) == 1 and waiting[0].next_due_at.replace(tzinfo=UTC) == T0 + timedelta(
        days=1, hours=0.5, seconds=1
    )
    yt.throttle, yt.analytics_scope = 0, False
    report = collect_due(app, now=T0 + timedelta(days=1, hours=1))
    assert report.fetched == 4 and report.statuses == {"ok": 4}
    with app.session() as s:
        summary = s.get(PostMetricSummary, ids[0])
    assert "missing scopes: https://www.googleapis.com/auth/yt-analytics.readonly" in summary.detail


COLLECTOR = """
import json, os, sys
from datetime import datetime, timedelta
from core.app import Clipcast
from core.config import Settings
from core.analytics import collect

cfg = json.loads(sys.argv[1])
app = Clipcast(Settings(**cfg["settings"]))
t0, step = datetime.fromisoformat(cfg["t0"]), timedelta(minutes=cfg["step_minutes"])
if cfg.get("die_after_inserts"):
    original, done = collect._insert_ignoring_duplicates, [0]
    def insert_then_die(*args):
        added = original(*args)   # the samples are written, the transaction is not committed...
        done[0] += 1
        if done[0] == cfg["die_after_inserts"]:
            os._exit(137)         # ...and the process dies
        return added
    collect._insert_ignoring_duplicates = insert_then_die
for tick in range(cfg["first"], cfg["last"] + 1):
    collect.collect_due(app, now=t0 + tick * step)
    with open(cfg["progress"], "w") as f:
        f.write(str(tick))
"""


@pytest.mark.slow  # two real collector processes (~4 s of imports each)
def test_killed_collector_leaves_no_duplicates_and_no_gaps(tmp_path, yt):
    options = yt.options()
    minutes = timedelta(minutes=1)
    published = {f"v{i}": T0 - i * 25 * minutes for i in range(4)}
    schedule = {"spacing_seconds": 0, "early_hours": 12, "early_every_minutes": 60}  # hourly for 12 h
    app = make_app(tmp_path, {"youtube": options}, analytics=schedule)
    account_id = make_account(app, "youtube", yt.issue())
    ids = {vid: published_post(app, account_id, vid, at) for vid, at in published.items()}
    for vid in published:
        yt.stats[vid] = {"views": growing(), "likes": 3}
    progress = tmp_path / "progress"
    cfg = {
        "settings": {"data_dir": str(tmp_path / "data"), "secret_key": SECRET_KEY, "publishers": {"youtube": options},
                     "analytics": schedule, "ingest": LOOPBACK.model_dump()},
        "t0": T0.isoformat(), "step_minutes": 20, "progress": str(progress), "first": 1, "last": 42,
    }  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(TESTS)}
    run = [sys.executable, "-c", COLLECTOR]
    first = subprocess.run(
        [*run, json.dumps({**cfg, "die_after_inserts": 20})], env=env, capture_output=True, timeout=90
    )
    assert first.returncode == 137, first.stderr.decode()[-2000:]
    killed_at = int(progress.read_text()) + 1  # the tick that was running when the process died
    restart = killed_at + 2  # the restarted scheduler's first run comes 40 minutes later
    second = subprocess.run([*run, json.dumps({**cfg, "first": restart})], env=env, capture_output=True, timeout=90)
    assert second.returncode == 0, second.stderr.decode()[-2000:]

    offsets = slot_offsets(AnalyticsSettings(**schedule))
    end = T0 + 42 * 20 * minutes
    with app.session() as s:
        rows = s.exec(select(PostMetric)).all()
    keys = [(r.post_id, r.bucket, r.metric) for r in rows]
    assert len(keys) == len(set(keys))  # no duplicate samples
    taken = {(r.post_id, r.bucket): r.taken_at for r in rows}
    assert all(r.taken_at == taken[(r.post_id, r.bucket)] for r in rows)  # each slot was sampled once
    down_from, down_to = T0 + (killed_at - 1) * 20 * minutes, T0 + restart * 20 * minutes
    missed_total = 0
    for vid, at in published.items():
        got = sorted({r.bucket.replace(tzinfo=UTC) for r in rows if r.post_id == ids[vid]})
        expected = [at + o for o in offsets if at + o <= end]
        assert set(got) <= set(expected) and got[-1] == expected[-1]
        missed = [b for b in expected if b not in got]
        # at most the one slot that fell inside the downtime: no gap longer than one interval beyond the spacing
        assert len(missed) <= 1, (vid, missed)
        assert all(down_from <= b <= down_to for b in missed), (vid, missed, down_from, down_to)
        missed_total += len(missed)
    assert len(rows) > 0 and missed_total <= len(published)


def test_recording_the_same_slot_twice_keeps_one_sample_on_postgresql(tmp_path, postgres_url):
    from core.analytics.collect import record
    from core.contracts import PostMetrics
    from core.models import Post, SocialAccount

    app = make_app(tmp_path, {}, database_url=postgres_url)
    with app.session() as s:
        account = SocialAccount(platform="folder", remote_id="outbox")
        s.add(account)
        s.flush()
        account_id = account.id
    post_id = published_post(app, account_id, "pg-1", T0, platform="folder")
    with app.session() as s:
        post = s.get(Post, post_id)
    for views in (10, 11):  # a repeated run after a crash: the second write of the slot is skipped
        added = record(app, post, PostMetrics(values={"views": views, "likes": 1}), taken_at=T0 + 2 * H,
                       bucket=T0 + 2 * H, next_due=T0 + 4 * H, units=1)  # fmt: skip
    assert added == 0
    with app.session() as s:
        rows = s.exec(select(PostMetric)).all()
        summary = s.get(PostMetricSummary, post_id)
    assert sorted((r.metric, r.value) for r in rows) == [("likes", 1.0), ("views", 10.0)] and summary.samples == 1
