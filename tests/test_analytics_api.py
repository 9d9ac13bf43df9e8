"""Analytics over HTTP and on the command line: ownership on every by-id route, series and overviews, the
signed webhook receiver, Prometheus gauges, and `clipcast analytics` (table, weights, times, reset)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from api_support import Caller, client, error_of
from fakes.analytics_env import published_post
from typer.testing import CliRunner

from core.analytics import learn
from core.analytics.collect import record
from core.app import Clipcast
from core.config import Settings
from core.contracts import PostMetrics
from core.models import Post, PostMetricSummary, Schedule, SocialAccount, User
from core.users import create_token
from plugins.publishers.webhook import sign

T0 = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
SECRET = "receiver-shared-secret"


@pytest.fixture
def app(tmp_path):
    settings = Settings(
        data_dir=tmp_path / "data",
        secret_key="analytics test key, not a real secret",
        publishers={"webhook": {"url": "https://hooks.example.com/in", "secret": SECRET}},
        analytics={"min_posts": 20, "bootstrap": 30},
    )
    return Clipcast(settings)


def caller(app: Clipcast, name: str, *, admin: bool = False) -> Caller:
    """A user with a token, without hashing a password (these tests are about analytics, not logins)."""
    with app.session() as s:
        user = User(email=f"{name}@example.com", password_hash="-", is_admin=admin)
        s.add(user)
        s.flush()
        _row, token = create_token(s, user, name="test")
        return Caller(user.id, user.email, token)  # type: ignore[arg-type]


@pytest.fixture
def world(app):
    alice, bob, admin = (caller(app, name, admin=name == "admin") for name in ("alice", "bob", "admin"))
    with app.session() as s:
        account = SocialAccount(user_id=alice.id, platform="folder", remote_id="outbox", name="alice-outbox")
        s.add(account)
        s.flush()
        schedule = Schedule(user_id=alice.id, account_id=account.id, cron="0 18 * * *", timezone="Europe/Berlin")
        s.add(schedule)
        s.flush()
        ids = {"account": account.id, "schedule": schedule.id}
    posts = []
    for i in range(24):  # enough posts with 7-day numbers to learn and to suggest times
        at = T0 + i * timedelta(hours=7)
        hook = 30 + (i * 37) % 60
        subs = {"hook": hook, "value": 50 + (i * 13) % 40}
        views_7d = 700 * (1 + hook / 30)
        post_id = published_post(
            app, ids["account"], f"p{i}", at, platform="folder", user_id=alice.id, sub_scores=subs,
            schedule_id=ids["schedule"], views_7d=None if i == 0 else views_7d,
        )  # fmt: skip
        posts.append(post_id)
    with app.session() as s:
        post = s.get(Post, posts[0])
    for day in (1, 7):  # the first post's numbers arrive as collected samples
        views = 100 * day * (1 + 30 / 30)
        taken = T0 + day * timedelta(days=1)
        sample = PostMetrics(values={"views": views, "likes": views / 10})
        record(app, post, sample, taken_at=taken, bucket=taken, next_due=None)
    with app.session() as s:
        ids["clip"] = s.get(Post, posts[0]).clip_id
    ids["post"] = posts[0]
    return {"api": client(app), "alice": alice, "bob": bob, "admin": admin, **ids}


def test_every_by_id_route_checks_ownership(world):
    api, ids = world["api"], world
    paths = [
        ("GET", f"/api/posts/{ids['post']}/metrics"),
        ("GET", f"/api/clips/{ids['clip']}/metrics"),
        ("GET", f"/api/accounts/{ids['account']}/metrics"),
        ("GET", f"/api/schedules/{ids['schedule']}/metrics"),
        ("GET", f"/api/accounts/{ids['account']}/weights"),
        ("DELETE", f"/api/accounts/{ids['account']}/weights"),
        ("GET", f"/api/accounts/{ids['account']}/posting-times"),
        ("GET", f"/api/schedules/{ids['schedule']}/posting-times"),
    ]
    for method, path in paths:
        r = api.request(method, path, headers=world["bob"].headers)
        assert r.status_code == 404 and error_of(r)["code"] == "not_found", (path, r.text)
        missing = api.request(
            method, path.replace(f"/{path.split('/')[3]}/", "/987654/", 1), headers=world["bob"].headers
        )
        assert missing.status_code == 404
        assert api.request(method, path, headers=world["admin"].headers).status_code in (200, 204)
        assert api.request(method, path).status_code == 401
    assert learn.get_model(api.app.state.clipcast, ids["account"]) is None  # only the admin's DELETE went through


def test_metrics_weights_and_times_for_the_owner(world):
    api, h = world["api"], world["alice"].headers
    r = api.get(f"/api/posts/{world['post']}/metrics", headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert [p["value"] for p in body["series"]["views"]] == [200.0, 1400.0]
    assert 200 < body["views_7d"] <= 1400  # the day-7 sample, or interpolated to 7 days exactly
    acc = api.get(f"/api/accounts/{world['account']}/metrics", headers=h).json()
    assert len(acc["posts"]) == 24 and acc["posts_with_7d"] == 24 and acc["totals"]["views"] > 0
    assert api.get(f"/api/schedules/{world['schedule']}/metrics", headers=h).json()["posts_with_7d"] == 24
    assert len(api.get(f"/api/clips/{world['clip']}/metrics", headers=h).json()["posts"]) == 1
    cc = api.app.state.clipcast
    assert learn.refit(cc, world["account"]) is not None
    w = api.get(f"/api/accounts/{world['account']}/weights", headers=h).json()
    assert w["posts"] == 24 and w["weights"][0]["feature"] == "sub:hook" and w["weights"][0]["weight"] > 0
    t = api.get(f"/api/accounts/{world['account']}/posting-times", headers=h).json()
    assert t["timezone"] == "Europe/Berlin" and sum(r["posts"] for r in t["hours"]) == 24
    assert api.delete(f"/api/accounts/{world['account']}/weights", headers=h).status_code == 204
    w = api.get(f"/api/accounts/{world['account']}/weights", headers=h).json()
    assert w["weights"] == [] and "0 posts have 7-day numbers" in w["message"]  # older posts no longer count
    text = api.get("/metrics").text
    assert 'clipcast_posts_tracked{platform="folder",status="ok"} 24.0' in text
    assert 'clipcast_post_metric_samples{platform="folder"} 4.0' in text


def _signed(body: dict, secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    stamp = str(int(time.time()))
    return raw, {"X-Clipcast-Timestamp": stamp, "X-Clipcast-Signature": sign(secret, stamp, raw)}


def test_webhook_receiver_posts_metrics_back(app):
    with app.session() as s:
        account = SocialAccount(platform="webhook", remote_id="hook", name="hook")
        s.add(account)
        s.flush()
        account_id = account.id
    now = datetime.now(UTC)
    post_id = published_post(app, account_id, "hook-1", now - timedelta(hours=5), platform="webhook")
    api = client(app)
    raw, headers = _signed({"post_id": post_id, "metrics": {"views": 321, "likes": 12}})
    r = api.post("/api/analytics/webhook", content=raw, headers=headers)
    assert r.status_code == 204, r.text
    with app.session() as s:
        summary = s.get(PostMetricSummary, post_id)
    assert summary.latest == {"views": 321, "likes": 12} and summary.samples == 1
    raw, headers = _signed({"post_id": post_id, "metrics": {"views": 999}}, secret="wrong")
    assert api.post("/api/analytics/webhook", content=raw, headers=headers).status_code == 401
    raw, headers = _signed({"post_id": post_id, "metrics": {"../views": 1}})
    assert api.post("/api/analytics/webhook", content=raw, headers=headers).status_code == 400
    raw, headers = _signed({"post_id": 987654, "metrics": {"views": 1}})
    assert api.post("/api/analytics/webhook", content=raw, headers=headers).status_code == 400


def test_cli_table_weights_times_and_reset(app, world, monkeypatch):
    from core.cli import app as cli
    from core.cli.common import state

    monkeypatch.setattr(state, "_app", app)
    runner = CliRunner()
    res = runner.invoke(cli, ["analytics", "--account", "alice-outbox"])
    assert res.exit_code == 0, res.output
    assert "24 posts; totals: likes" in res.output and "median views at 7 d" in res.output
    assert any(c in res.output for c in "▁█")  # a sparkline per post
    res = runner.invoke(cli, ["analytics", "weights", str(world["account"])])
    assert res.exit_code == 0 and "learning needs 20" in res.output  # not fitted yet
    learn.refit(app, world["account"])
    res = runner.invoke(cli, ["analytics", "weights", "alice-outbox"])
    assert res.exit_code == 0 and "sub:hook" in res.output and "90% interval" in res.output
    res = runner.invoke(cli, ["analytics", "times", "alice-outbox"])
    assert res.exit_code == 0 and "Europe/Berlin" in res.output
    res = runner.invoke(cli, ["analytics", "post", str(world["post"])])
    assert res.exit_code == 0 and "views" in res.output and "2 samples" in res.output
    res = runner.invoke(cli, ["analytics", "reset", "alice-outbox", "--yes"])
    assert res.exit_code == 0 and learn.get_model(app, world["account"]) is None
