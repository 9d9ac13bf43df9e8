"""Users, passwords, tokens and sessions through the HTTP API (and the CLI that makes the first admin)."""

from __future__ import annotations

import pytest
from api_support import client, error_of, make_user
from sqlmodel import select

from core.api.security import SESSION_COOKIE, hash_token
from core.models import ApiToken, User


@pytest.fixture
def api(app):
    return client(app)


def test_passwords_are_argon2_and_tokens_stored_only_as_hashes(app, api):
    alice = make_user(app, "alice@example.com")
    with app.session() as s:
        user = s.get(User, alice.id)
        assert user.password_hash.startswith("$argon2id$")
        assert "correct horse" not in user.password_hash
        rows = s.exec(select(ApiToken).where(ApiToken.user_id == alice.id)).all()
    assert [r.token_hash for r in rows] == [hash_token(alice.token)]
    assert all(alice.token not in (r.token_hash, r.prefix, r.name) for r in rows)


def test_login_sets_httponly_cookie_usable_by_dashboard_and_as_bearer(app, api):
    make_user(app, "bob@example.com")
    r = api.post("/api/auth/login", json={"email": "BOB@example.com", "password": "correct horse battery"})
    assert r.status_code == 200, r.text
    cookie = r.headers["set-cookie"]
    assert f"{SESSION_COOKIE}=" in cookie and "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    token = r.json()["token"]
    assert api.get("/api/users/me").json()["email"] == "bob@example.com"  # the cookie jar carries the session
    fresh = client(app)
    assert fresh.get("/api/users/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert api.post("/api/auth/logout").status_code == 204
    r = fresh.get("/api/users/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401 and error_of(r)["code"] == "unauthorized"


def test_wrong_password_and_unknown_user_get_the_same_answer(app, api):
    make_user(app, "carol@example.com")
    wrong = api.post("/api/auth/login", json={"email": "carol@example.com", "password": "not the password"})
    unknown = api.post("/api/auth/login", json={"email": "nobody@example.com", "password": "not the password"})
    assert wrong.status_code == unknown.status_code == 401
    assert error_of(wrong)["message"] == error_of(unknown)["message"] == "wrong email or password"


def test_login_is_rate_limited_per_address(app):
    app.settings.api.auth_rate_per_minute = 3
    api = client(app)
    make_user(app, "dave@example.com")
    codes = [
        api.post("/api/auth/login", json={"email": "dave@example.com", "password": "guess number x"}).status_code
        for _ in range(4)
    ]
    assert codes == [401, 401, 401, 429]
    r = api.post("/api/auth/login", json={"email": "dave@example.com", "password": "correct horse battery"})
    assert r.status_code == 429
    err = error_of(r)
    assert err["code"] == "rate_limited" and "login attempts" in err["message"]
    assert int(r.headers["Retry-After"]) >= 1


def test_personal_tokens_shown_once_listed_by_prefix_revocable_with_last_used(app, api):
    erin = make_user(app, "erin@example.com")
    r = api.post("/api/tokens", json={"name": "n8n"}, headers=erin.headers)
    assert r.status_code == 201, r.text
    created = r.json()
    token = created["token"]
    assert token.startswith("cc_") and created["prefix"] == token[:10]
    assert created["last_used_at"] is None
    assert api.get("/api/users/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    listed = api.get("/api/tokens", headers=erin.headers).json()["items"]
    mine = next(t for t in listed if t["id"] == created["id"])
    assert "token" not in mine and mine["last_used_at"] is not None
    assert token not in api.get("/api/tokens", headers=erin.headers).text
    assert api.delete(f"/api/tokens/{created['id']}", headers=erin.headers).json()["revoked_at"]
    r = api.get("/api/users/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401 and "revoked" in error_of(r)["message"]


def test_expired_token_is_refused(app, api):
    frank = make_user(app, "frank@example.com")
    r = api.post("/api/tokens", json={"name": "short", "expires_days": 0.5}, headers=frank.headers)
    from datetime import timedelta

    from core.models import utcnow

    with app.session() as s:
        row = s.get(ApiToken, r.json()["id"])
        row.expires_at = utcnow() - timedelta(seconds=1)
        s.add(row)
    r = api.get("/api/users/me", headers={"Authorization": f"Bearer {r.json()['token']}"})
    assert r.status_code == 401 and "expired" in error_of(r)["message"]


def test_no_or_garbage_credentials_are_401(api):
    r = api.get("/api/videos")
    assert r.status_code == 401 and "Bearer" in error_of(r)["detail"]["hint"]
    assert api.get("/api/videos", headers={"Authorization": "Bearer cc_nope"}).status_code == 401
    assert api.get("/api/videos", cookies={SESSION_COOKIE: "cc_nope"}).status_code == 401


def test_admins_manage_users_and_quotas_others_cannot(app, api):
    admin = make_user(app, "root@example.com", admin=True)
    gina = make_user(app, "gina@example.com")
    r = api.post("/api/users", json={"email": "hank@example.com", "password": "long enough pw"}, headers=admin.headers)
    assert r.status_code == 201, r.text
    hank_id = r.json()["id"]
    assert api.post("/api/users", json={"email": "x@example.com", "password": "long enough pw"},
                    headers=gina.headers).status_code == 403  # fmt: skip
    assert api.get("/api/users", headers=gina.headers).status_code == 403
    assert api.get("/api/users", headers=admin.headers).json()["total"] == 3
    assert api.get(f"/api/users/{hank_id}", headers=gina.headers).status_code == 404
    r = api.patch(f"/api/users/{gina.id}", json={"videos_per_day": 100}, headers=gina.headers)
    assert r.status_code == 403 and "videos_per_day" in error_of(r)["message"]
    r = api.patch(f"/api/users/{gina.id}", json={"videos_per_day": 2}, headers=admin.headers)
    assert r.json()["videos_per_day"] == 2
    dup = api.post(
        "/api/users", json={"email": "HANK@example.com", "password": "long enough pw"}, headers=admin.headers
    )
    assert dup.status_code == 409 and "already exists" in error_of(dup)["message"]


def test_cli_creates_the_first_admin_and_a_token(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from core.cli import app as cli
    from core.cli.common import state

    monkeypatch.setenv("CLIPCAST_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CLIPCAST_PASSWORD", "first admin pw")
    monkeypatch.chdir(tmp_path)
    state._app = None
    try:
        runner = CliRunner()
        r = runner.invoke(cli, ["users", "create", "boss@example.com", "--admin"])
        assert r.exit_code == 0, r.output
        r = runner.invoke(cli, ["tokens", "create", "--user", "boss@example.com", "--name", "ci"])
        assert r.exit_code == 0, r.output
        token = r.output.strip().splitlines()[-1]
        assert token.startswith("cc_")
        api = client(state.app())
        me = api.get("/api/users/me", headers={"Authorization": f"Bearer {token}"}).json()
        assert me["email"] == "boss@example.com" and me["is_admin"] is True
        r = runner.invoke(cli, ["tokens", "revoke", "1"])
        assert r.exit_code == 0, r.output
        assert api.get("/api/users/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    finally:
        state._app = None


def test_reads_run_on_the_event_loop_for_sqlite_and_in_a_thread_for_a_server_database(app, monkeypatch):
    import asyncio
    import threading

    from core.api.deps import read_db

    here = threading.get_ident()
    assert asyncio.run(read_db(app, threading.get_ident)) == here
    monkeypatch.setattr(app, "db_url", "postgresql://db.example/clipcast")
    assert asyncio.run(read_db(app, threading.get_ident)) != here


def test_an_authenticated_read_writes_nothing_once_last_used_is_recorded(app, api):
    from sqlalchemy import event

    from core import db

    gina = make_user(app, "gina@example.com")
    writes: list[str] = []

    def note(_conn, _cursor, statement, *_rest):  # type: ignore[no-untyped-def]
        if statement.lstrip().split()[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            writes.append(statement)

    engine = db.get_engine(app.db_url)
    event.listen(engine, "before_cursor_execute", note)
    try:
        assert api.get("/api/jobs", headers=gina.headers).status_code == 200
        assert len(writes) == 1 and "api_token" in writes[0]  # the token's first use is recorded
        writes.clear()
        for path in ("/api/jobs", "/api/clips", "/api/posts", "/api/jobs/1"):
            assert api.get(path, headers=gina.headers).status_code in (200, 404)
        assert writes == []
    finally:
        event.remove(engine, "before_cursor_execute", note)
    with app.session() as s:
        assert s.exec(select(ApiToken).where(ApiToken.user_id == gina.id)).one().last_used_at is not None
