"""Another user's ids answer 404 (exactly like ids that do not exist) on every route family; admins see all.

Each family is its own test, so a regression names the family that leaks.
"""

from __future__ import annotations

import pytest
from api_support import client, error_of, make_user, seed

from core.models import Clip, Job, Post, Schedule, SocialAccount, Video, WatchedSource


@pytest.fixture
def world(app):
    """Alice owns one row of everything; Bob owns his own; an admin exists."""
    alice = make_user(app, "alice@example.com")
    bob = make_user(app, "bob@example.com")
    admin = make_user(app, "admin@example.com", admin=True)
    return {
        "api": client(app),
        "alice": alice,
        "bob": bob,
        "admin": admin,
        "a": seed(app, alice.id, tag="a"),
        "b": seed(app, bob.id, tag="b"),
    }


def _refused(world, method: str, path: str, json=None) -> None:
    api, bob = world["api"], world["bob"]
    r = api.request(method, path, headers=bob.headers, json=json)
    assert r.status_code == 404, f"{method} {path} gave {r.status_code}: {r.text}"
    assert error_of(r)["code"] == "not_found"
    # the same answer as for an id nobody has: nothing to learn from probing
    missing = path.replace(f"/{path.split('/')[3]}", "/987654", 1) if len(path.split("/")) > 3 else path
    r2 = api.request(method, missing, headers=bob.headers, json=json)
    assert r2.status_code == 404 and error_of(r2)["message"].split(" ")[0] == error_of(r)["message"].split(" ")[0]


def _listed_ids(world, who: str, path: str) -> set[int]:
    r = world["api"].get(path, headers=world[who].headers)
    assert r.status_code == 200, r.text
    return {item["id"] for item in r.json()["items"]}


def test_videos(world, app):
    vid = world["a"]["video"]
    for method, path, body in [
        ("GET", f"/api/videos/{vid}", None),
        ("DELETE", f"/api/videos/{vid}", None),
        ("POST", f"/api/videos/{vid}/analyze", {}),
        ("POST", f"/api/videos/{vid}/render", {}),
    ]:
        _refused(world, method, path, body)
    assert vid not in _listed_ids(world, "bob", "/api/videos")
    assert vid in _listed_ids(world, "admin", "/api/videos")
    assert world["api"].get(f"/api/videos/{vid}", headers=world["admin"].headers).status_code == 200
    with app.session() as s:
        assert s.get(Video, vid) is not None


def test_clips(world, app):
    cid = world["a"]["clip"]
    for method, path, body in [
        ("GET", f"/api/clips/{cid}", None),
        ("PATCH", f"/api/clips/{cid}", {"title": "pwned"}),
        ("POST", f"/api/clips/{cid}/approve", None),
        ("POST", f"/api/clips/{cid}/reject", None),
        ("GET", f"/api/clips/{cid}/download", None),
        ("GET", f"/api/clips/{cid}/thumbnail", None),
        ("GET", f"/api/clips/{cid}/captions.srt", None),
    ]:
        _refused(world, method, path, body)
    assert cid not in _listed_ids(world, "bob", "/api/clips")
    assert _listed_ids(world, "bob", f"/api/clips?video={world['a']['video']}") == set()
    assert cid in _listed_ids(world, "admin", "/api/clips")
    with app.session() as s:
        clip = s.get(Clip, cid)
        assert clip.title == "clip a" and clip.status == "proposed"


def test_jobs(world, app):
    jid = world["a"]["job"]
    for method, path in [
        ("GET", f"/api/jobs/{jid}"),
        ("GET", f"/api/jobs/{jid}/events"),
        ("POST", f"/api/jobs/{jid}/cancel"),
        ("POST", f"/api/jobs/{jid}/retry"),
    ]:
        _refused(world, method, path)
    assert jid not in _listed_ids(world, "bob", "/api/jobs")
    assert jid in _listed_ids(world, "admin", "/api/jobs")
    with app.session() as s:
        assert s.get(Job, jid).status == "failed"


def test_accounts(world, app):
    aid = world["a"]["account"]
    _refused(world, "GET", f"/api/accounts/{aid}")
    _refused(world, "DELETE", f"/api/accounts/{aid}")
    assert aid not in _listed_ids(world, "bob", "/api/accounts")
    assert aid in _listed_ids(world, "admin", "/api/accounts")
    with app.session() as s:
        assert s.get(SocialAccount, aid) is not None


def test_schedules(world, app):
    sid, aid = world["a"]["schedule"], world["a"]["account"]
    _refused(world, "GET", f"/api/schedules/{sid}")
    _refused(world, "PATCH", f"/api/schedules/{sid}", {"enabled": False})
    _refused(world, "DELETE", f"/api/schedules/{sid}")
    r = world["api"].post("/api/schedules", json={"account_id": aid, "cron": "0 9 * * *"}, headers=world["bob"].headers)
    assert r.status_code == 404 and "account" in error_of(r)["message"]
    assert sid not in _listed_ids(world, "bob", "/api/schedules")
    assert sid in _listed_ids(world, "admin", "/api/schedules")
    with app.session() as s:
        assert s.get(Schedule, sid).enabled is True


def test_posts(world, app):
    pid = world["a"]["post"]
    _refused(world, "GET", f"/api/posts/{pid}")
    _refused(world, "PATCH", f"/api/posts/{pid}", {"title": "x"})
    _refused(world, "DELETE", f"/api/posts/{pid}")
    api, bob = world["api"], world["bob"]
    r = api.post(
        "/api/posts", json={"clip_id": world["a"]["clip"], "account_id": world["b"]["account"]}, headers=bob.headers
    )
    assert r.status_code == 404 and "clip" in error_of(r)["message"]
    r = api.post(
        "/api/posts", json={"clip_id": world["b"]["clip"], "account_id": world["a"]["account"]}, headers=bob.headers
    )
    assert r.status_code == 404 and "account" in error_of(r)["message"]
    assert pid not in _listed_ids(world, "bob", "/api/posts")
    assert pid in _listed_ids(world, "admin", "/api/posts")
    with app.session() as s:
        assert s.get(Post, pid).status == "scheduled"


def test_sources(world, app):
    sid = world["a"]["source"]
    _refused(world, "GET", f"/api/sources/{sid}")
    _refused(world, "PATCH", f"/api/sources/{sid}", {"enabled": False})
    _refused(world, "DELETE", f"/api/sources/{sid}")
    assert sid not in _listed_ids(world, "bob", "/api/sources")
    assert sid in _listed_ids(world, "admin", "/api/sources")
    with app.session() as s:
        assert s.get(WatchedSource, sid).enabled is True


def test_tokens_and_users(world):
    api, alice, bob = world["api"], world["alice"], world["bob"]
    mine = _listed_ids(world, "alice", "/api/tokens")
    assert mine and not (mine & _listed_ids(world, "bob", "/api/tokens"))
    token_id = next(iter(mine))
    _refused(world, "DELETE", f"/api/tokens/{token_id}")
    assert api.get("/api/users/me", headers=alice.headers).status_code == 200  # still valid
    _refused(world, "GET", f"/api/users/{alice.id}")
    _refused(world, "PATCH", f"/api/users/{alice.id}", {"password": "a new password"})
    assert api.get(f"/api/users/{bob.id}", headers=bob.headers).status_code == 200
