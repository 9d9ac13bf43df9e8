"""Tests that keep the API closed, run as two ordinary users on SQLite and on PostgreSQL.

- Cross-user: Bob tries every route that takes an id (from the OpenAPI document, so a new route is covered the
  day it is added) with Alice's ids, plus ids hidden in bodies and query filters. Each answer must be the one
  a missing id gets, never a 2xx, and Alice's rows must be unchanged afterwards.
- Ids past PostgreSQL's int4 are 404s and ids past the API's bound 422s, on every id route and both databases.
- NUL characters (which PostgreSQL cannot store) are 422s in bodies, query strings, paths and upload names; a
  refused upload leaves nothing in storage or tmp.
- Path-like and URL fields are refused for an ordinary user.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from api_support import client, error_of, make_user, seed
from conftest import postgres_database
from sqlmodel import select

from core.app import Clipcast
from core.config import Settings
from core.models import ApiToken, Clip, Job, Post, Schedule, SocialAccount, User, Video, WatchedSource

MISSING = 987_654
FAMILIES = {
    "video_id": "video",
    "clip_id": "clip",
    "account_id": "account",
    "job_id": "job",
    "schedule_id": "schedule",
    "post_id": "post",
    "source_id": "source",
}
TABLES = [Video, Clip, SocialAccount, Job, Schedule, Post, WatchedSource, ApiToken, User]
#: Routes whose id is not a row the caller could own (or that stream forever): covered elsewhere.
SKIP = {"/api/jobs/{job_id}/events"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest, tmp_path_factory: Any) -> Iterator[dict[str, Any]]:
    """Shared by this module's tests: none of them may change a row (the cross-user test asserts it)."""
    tmp_path = tmp_path_factory.mktemp(f"closed-{request.param}")
    databases = postgres_database() if request.param == "postgresql" else iter([None])
    url = next(databases)
    settings = Settings(
        data_dir=tmp_path / "data", database_url=url, secret_key="closed-suite passphrase that is not real"
    )
    settings.ingest.allow_urls = True
    app = Clipcast(settings)
    alice, bob = make_user(app, "alice@example.com"), make_user(app, "bob@example.com")
    admin = make_user(app, "admin@example.com", admin=True)
    with app.session() as s:
        alice_token = s.exec(select(ApiToken.id).where(ApiToken.user_id == alice.id)).first()
    yield {
        "app": app,
        "api": client(app),
        "alice": alice,
        "bob": bob,
        "admin": admin,
        "a": {**seed(app, alice.id, tag="a"), "token": alice_token, "user": alice.id},
        "b": seed(app, bob.id, tag="b"),
    }
    next(databases, None)  # drops the PostgreSQL database


def _snapshot(app: Clipcast) -> list[Any]:
    with app.session() as s:
        rows = [row.model_dump(exclude={"last_used_at"}) for t in TABLES for row in s.exec(select(t).order_by(t.id))]
        return rows  # (last_used_at: the caller's own token records its use)


def _id_routes(api: Any) -> list[tuple[str, str]]:
    spec = api.app.openapi()
    return [
        (method.upper(), path)
        for path, ops in spec["paths"].items()
        if re.search(r"\{\w+_id\}", path) and path not in SKIP
        for method in ops
    ]


def _fill(path: str, ids: dict[str, int] | int) -> str:
    def one(m: re.Match[str]) -> str:
        name = m.group(1)
        if name == "fmt":
            return "srt"
        if isinstance(ids, int):
            return str(ids)
        return str(ids[FAMILIES.get(name, name.removesuffix("_id"))])

    return re.sub(r"\{(\w+)\}", one, path)


def _call(world: dict[str, Any], who: str, method: str, path: str, json: Any = None) -> Any:
    body = json if json is not None else ({} if method in ("POST", "PATCH") else None)
    return world["api"].request(method, path, headers=world[who].headers, json=body, follow_redirects=False)


def test_no_route_gives_bob_alices_rows(world: dict[str, Any]) -> None:
    before = _snapshot(world["app"])
    routes = _id_routes(world["api"])
    attempts = 0
    for method, template in routes:
        theirs = _call(world, "bob", method, _fill(template, world["a"]))
        nobody = _call(world, "bob", method, _fill(template, MISSING))
        attempts += 1
        where = f"{method} {template}"
        assert theirs.status_code < 500, f"{where}: {theirs.status_code} {theirs.text}"
        assert not 200 <= theirs.status_code < 400, f"{where} answered Bob with {theirs.status_code}: {theirs.text}"
        assert theirs.status_code == nobody.status_code, f"{where}: {theirs.status_code} vs {nobody.status_code}"
        if theirs.status_code == 404:
            assert error_of(theirs)["code"] == "not_found"
    # ids that travel in bodies and query filters
    a, b = world["a"], world["b"]
    indirect = [
        ("POST", "/api/posts", {"clip_id": a["clip"], "account_id": b["account"]}),
        ("POST", "/api/posts", {"clip_id": b["clip"], "account_id": a["account"]}),
        ("POST", "/api/schedules", {"account_id": a["account"], "cron": "0 9 * * *"}),
        ("POST", f"/api/videos/{b['video']}/render", {"clip_ids": [a["clip"]]}),
    ]
    for method, path, body in indirect:
        r = _call(world, "bob", method, path, body)
        attempts += 1
        assert r.status_code in (400, 404), f"{method} {path} {body}: {r.status_code} {r.text}"
    for path in (f"/api/clips?video={a['video']}", f"/api/jobs?video={a['video']}", f"/api/posts?clip={a['clip']}"):
        r = _call(world, "bob", "GET", path)
        attempts += 1
        assert r.status_code == 200 and r.json()["items"] == [], f"{path}: {r.text}"
    assert _snapshot(world["app"]) == before  # nothing of Alice's (or anyone's) changed
    assert len(routes) >= 28 and attempts >= len(routes) + 7
    print(f"cross-user: {len(routes)} id routes, {attempts} attempts, 0 succeeded")


def test_ids_past_int4_are_404_and_past_the_bound_422(world: dict[str, Any]) -> None:
    for method, template in _id_routes(world["api"]):
        big = _call(world, "bob", method, _fill(template, 2**40))
        assert big.status_code in (404, 422), f"{method} {template}: {big.status_code} {big.text}"
        huge = _call(world, "bob", method, _fill(template, 2**62 + 1))
        assert huge.status_code == 422, f"{method} {template}: {huge.status_code} {huge.text}"
    r = _call(world, "bob", "POST", "/api/posts", {"clip_id": 2**40, "account_id": 2**41})
    assert r.status_code == 404, r.text


NUL_BODIES = [
    ("POST", "/api/auth/login", {"email": "alice\x00@example.com", "password": "x"}),
    ("POST", "/api/tokens", {"name": "ci\x00"}),
    ("POST", "/api/sources", {"kind": "rss", "target": "https://feeds.example\x00.com/x"}),
    ("POST", "/api/accounts", {"platform": "folder", "name": "mine\x00"}),
    ("POST", "/api/videos", {"url": "https://example.com/\x00.mp4"}),
    ("POST", "/api/sources", {"kind": "rss", "target": "https://x.example/f", "preset": {"opt\x00": 1}}),
]


@pytest.mark.parametrize(("method", "path", "body"), NUL_BODIES, ids=[f"{m} {p}" for m, p, _ in NUL_BODIES])
def test_nul_in_a_body_is_422(world: dict[str, Any], method: str, path: str, body: Any) -> None:
    r = _call(world, "bob", method, path, body)
    assert r.status_code == 422, r.text
    assert "NUL" in error_of(r)["message"]


def test_nul_in_patches_urls_and_upload_names_is_422(world: dict[str, Any]) -> None:
    b = world["b"]
    for path, body in (
        (f"/api/clips/{b['clip']}", {"title": "t\x00"}),
        (f"/api/schedules/{b['schedule']}", {"blackout": [{"start": "22:00\x00", "end": "07:00"}]}),
        (f"/api/users/{world['bob'].id}", {"password": "long enough\x00"}),
    ):
        r = _call(world, "bob", "PATCH", path, body)
        assert r.status_code == 422 and "NUL" in error_of(r)["message"], f"{path}: {r.text}"
    for path in ("/api/jobs?status=%00", "/api/videos?limit=5&q=%00x", "/api/videos/1%00"):
        r = _call(world, "bob", "GET", path)
        assert r.status_code == 422 and "NUL" in error_of(r)["message"], f"{path}: {r.text}"
    app = world["app"]
    files_before = sorted(p for p in app.settings.data_dir.rglob("*") if p.is_file() and "storage" in p.parts)
    body = (  # built by hand: HTTP clients percent-encode a NUL in a file name, an attacker need not
        b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="holiday\x00.mp4"\r\n'
        b"Content-Type: video/mp4\r\n\r\n\x00\x00\x00\x18ftypmp42\r\n--XyZ--\r\n"
    )
    headers = {**world["bob"].headers, "Content-Type": "multipart/form-data; boundary=XyZ"}
    r = world["api"].post("/api/videos", content=body, headers=headers)
    assert r.status_code == 422 and "NUL" in error_of(r)["message"], r.text
    files_after = sorted(p for p in app.settings.data_dir.rglob("*") if p.is_file() and "storage" in p.parts)
    tmp = app.settings.data_dir / "tmp"
    assert files_after == files_before and (not tmp.exists() or list(tmp.iterdir()) == [])


def test_path_like_and_url_fields_are_refused_for_a_user(world: dict[str, Any]) -> None:
    b = world["b"]
    cases = [
        ("POST", "/api/sources", {"kind": "folder", "target": "/"}, 403),
        ("POST", "/api/sources", {"kind": "rss", "target": "/etc/passwd"}, 400),
        ("POST", "/api/sources", {"kind": "youtube", "target": "file:///etc/passwd"}, 400),
        ("POST", "/api/sources", {"kind": "rss", "target": "http://127.0.0.1:6379/"}, 400),
        ("POST", "/api/sources", {"kind": "rss", "target": "http://169.254.169.254/latest/meta-data/"}, 400),
        ("POST", "/api/videos", {"url": "file:///etc/passwd"}, 400),
        ("POST", "/api/videos", {"url": "http://[::1]:8000/x.mp4"}, 400),
        ("PATCH", f"/api/sources/{b['source']}", {"target": "/srv"}, 403),
        ("PATCH", f"/api/clips/{b['clip']}", {"caption_style": "../../clipcast"}, 422),
        ("POST", f"/api/videos/{b['video']}/render", {"brand": "/etc/clipcast.yaml"}, 422),
        ("POST", f"/api/videos/{b['video']}/analyze", {"render": True, "style": {"caption_style": "/x.yaml"}}, 422),
    ]
    for method, path, body, status in cases:
        r = _call(world, "bob", method, path, body)
        assert r.status_code == status, f"{method} {path} {body}: {r.status_code} {r.text}"
    for key in ("videos/aa/original.mp4", "..%2Fclipcast.db", "%2e%2e/%2e%2e/etc/passwd"):
        r = world["api"].get(f"/files/{key}", headers=world["bob"].headers)  # no signature: nothing is served
        assert r.status_code in (403, 404, 422), f"{key}: {r.status_code}"
