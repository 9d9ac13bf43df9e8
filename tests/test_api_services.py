"""The API on the real services: PostgreSQL as the database, Redis as the broker (skipped locally when absent,
failing under CI)."""

from __future__ import annotations

from api_support import client, error_of, make_user, seed

from core.app import Clipcast
from core.config import Settings


def test_api_on_postgres_and_redis(tmp_path, postgres_url, redis_url, monkeypatch):
    sent: list[int] = []
    monkeypatch.setattr("core.tasks.enqueue", lambda app, job, **kw: sent.append(job.id))
    app = Clipcast(Settings(data_dir=tmp_path / "data", database_url=postgres_url, redis_url=redis_url))
    api = client(app)
    ready = api.get("/readyz").json()
    assert ready["status"] == "ok" and ready["checks"]["broker"]["mode"] == "redis"
    alice = make_user(app, "alice@example.com", videos_per_day=1, minutes_per_day=5)
    bob = make_user(app, "bob@example.com")
    ids = seed(app, alice.id)
    assert api.get(f"/api/videos/{ids['video']}", headers=bob.headers).status_code == 404
    assert api.get(f"/api/clips/{ids['clip']}", headers=bob.headers).status_code == 404
    assert [v["id"] for v in api.get("/api/videos", headers=alice.headers).json()["items"]] == [ids["video"]]
    r = api.post(f"/api/videos/{ids['video']}/analyze", json={"clips": 2}, headers=alice.headers)
    assert r.status_code == 202 and sent == [r.json()["id"]]
    r = api.post("/api/videos", json={"url": "https://example.com/x"}, headers=alice.headers)
    assert r.status_code == 429 and error_of(r)["detail"]["quota"] == "videos_per_day"
    usage = api.get("/api/users/me/usage", headers=alice.headers).json()
    assert usage["used"] == {"videos": 1, "minutes": 0.7, "llm_usd": 0.0}
    jobs = api.get("/api/jobs?status=queued", headers=alice.headers).json()
    assert jobs["total"] == 1
    for path in ("/api/clips", "/api/posts"):  # rows and their total in one statement (a scalar subquery)
        page = api.get(f"{path}?limit=1", headers=alice.headers).json()
        assert page["total"] == 1 and len(page["items"]) == 1, page
        assert api.get(path, headers=bob.headers).json()["total"] == 0
    assert api.get("/api/jobs?status=queued&offset=5", headers=alice.headers).json()["total"] == 1  # counted alone
    assert "clipcast_jobs" in api.get("/metrics").text
