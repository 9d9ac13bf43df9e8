"""Account rules: password changes need the current password and end other sessions; admin flags cannot be null
and the last administrator stays one; posts cannot be scheduled in the past; the OpenAPI document tells the
truth about limits, 405s and error statuses; ``config check`` refuses weak secrets and unknown databases."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from api_support import client, error_of, make_user, seed

PASSWORD = "correct horse battery"


@pytest.fixture
def api(app):
    return client(app)


def _login(api, email: str, password: str = PASSWORD) -> str:
    r = api.post("/api/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return r.json()["token"]


def _me(api, token: str) -> int:
    return api.get("/api/users/me", headers={"Authorization": f"Bearer {token}"}).status_code


def test_a_password_change_needs_the_current_one_and_ends_other_sessions(app, api):
    bob = make_user(app, "bob@example.com")
    laptop, phone = _login(api, bob.email), _login(api, bob.email)
    api.cookies.clear()
    laptop_h = {"Authorization": f"Bearer {laptop}"}
    r = api.patch(f"/api/users/{bob.id}", json={"password": "a brand new secret"}, headers=laptop_h)
    assert r.status_code == 403 and "send current_password" in error_of(r)["message"]
    r = api.patch(f"/api/users/{bob.id}", json={"password": "a brand new secret", "current_password": "guess"},
                  headers=laptop_h)  # fmt: skip
    assert r.status_code == 403 and "it is wrong" in error_of(r)["message"]
    body = {"password": "a brand new secret", "current_password": PASSWORD}
    assert api.patch(f"/api/users/{bob.id}", json=body, headers=laptop_h).status_code == 200
    assert _me(api, laptop) == 200  # the session that changed it stays
    assert _me(api, phone) == 401  # the other one ended
    assert _me(api, bob.token) == 200  # personal API tokens are not sessions
    _login(api, bob.email, "a brand new secret")


def test_an_admin_resets_another_users_password_without_theirs(app, api):
    admin = make_user(app, "root@example.com", admin=True)
    carol = make_user(app, "carol@example.com")
    session = _login(api, carol.email)
    api.cookies.clear()
    r = api.patch(f"/api/users/{carol.id}", json={"password": "reset by admin!"}, headers=admin.headers)
    assert r.status_code == 200, r.text
    assert _me(api, session) == 401
    _login(api, carol.email, "reset by admin!")


def test_admin_flag_is_never_null_and_the_last_admin_stays(app, api):
    admin = make_user(app, "root@example.com", admin=True)
    r = api.patch(f"/api/users/{admin.id}", json={"is_admin": None}, headers=admin.headers)
    assert r.status_code == 422 and "is_admin" in error_of(r)["message"]
    r = api.patch(f"/api/users/{admin.id}", json={"is_admin": False}, headers=admin.headers)
    assert r.status_code == 409 and "last administrator" in error_of(r)["message"]
    other = make_user(app, "second@example.com")
    assert api.patch(f"/api/users/{other.id}", json={"is_admin": True}, headers=admin.headers).status_code == 200
    assert api.patch(f"/api/users/{admin.id}", json={"is_admin": False}, headers=admin.headers).status_code == 200


def test_null_for_a_required_patch_field_is_422(app, api):
    bob = make_user(app, "bob@example.com")
    ids = seed(app, bob.id)
    for path, body in (
        (f"/api/schedules/{ids['schedule']}", {"enabled": None}),
        (f"/api/sources/{ids['source']}", {"target": None}),
        (f"/api/posts/{ids['post']}", {"caption": None}),
        (f"/api/clips/{ids['clip']}", {"title": None}),
    ):
        r = api.patch(path, json=body, headers=bob.headers)
        assert r.status_code == 422, f"{path}: {r.status_code} {r.text}"


@pytest.mark.parametrize("at", [0, "1970-01-01T00:00:00Z", "2020-05-01T10:00:00+02:00"])
def test_a_post_in_the_past_is_refused(app, api, at):
    bob = make_user(app, "bob@example.com")
    ids = seed(app, bob.id)
    r = api.post("/api/posts", json={"clip_id": ids["clip"], "account_id": ids["account"], "at": at},
                 headers=bob.headers)  # fmt: skip
    assert r.status_code == 400 and "is in the past" in error_of(r)["message"], r.text
    r = api.patch(f"/api/posts/{ids['post']}", json={"at": at}, headers=bob.headers)
    assert r.status_code == 400 and "is in the past" in error_of(r)["message"], r.text


def test_405_names_every_method_of_the_path(app, api):
    bob = make_user(app, "bob@example.com")
    r = api.put("/api/videos", headers=bob.headers)
    assert r.status_code == 405 and r.headers["allow"] == "GET, POST"


def test_the_advertised_limit_is_the_accepted_limit(app, api):
    bob = make_user(app, "bob@example.com")
    spec = api.get("/openapi.json").json()
    most = app.settings.api.page_size_max
    limits = [p["schema"]["maximum"] for ops in spec["paths"].values() for op in ops.values()
              for p in op.get("parameters", []) if p["name"] == "limit"]  # fmt: skip
    assert limits and set(limits) == {most}
    assert api.get(f"/api/videos?limit={most}", headers=bob.headers).status_code == 200
    assert api.get(f"/api/videos?limit={most + 1}", headers=bob.headers).status_code == 422
    for path, ops in spec["paths"].items():
        if path.startswith("/api/"):
            for op in ops.values():
                assert {"400", "401", "404", "422"} <= set(op["responses"]), path


CLI = Path(sys.executable).with_name("clipcast")


def _cli(tmp_path: Path, *args: str, config: str = "") -> subprocess.CompletedProcess[str]:
    (tmp_path / "clipcast.yaml").write_text(f"data_dir: {tmp_path / 'data'}\n{config}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIPCAST_")}
    env["CLIPCAST_PASSWORD"] = PASSWORD
    return subprocess.run([str(CLI), *args], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)


def test_config_check_refuses_a_short_secret_and_an_unknown_database(tmp_path):
    res = _cli(tmp_path, "config", "check", config="secret_key: abcde\n")
    assert res.returncode == 1 and "at least 32 characters" in res.stdout + res.stderr
    res = _cli(tmp_path, "config", "check", config="database_url: notadb://x\n")
    assert res.returncode == 1 and "unknown scheme 'notadb'" in res.stdout + res.stderr
    res = _cli(tmp_path, "config", "check", config=f"secret_key: {'k' * 40}\n")
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.slow
def test_users_promote_and_demote_from_the_cli(tmp_path):
    assert _cli(tmp_path, "users", "create", "root@example.com", "--admin").returncode == 0
    res = _cli(tmp_path, "users", "demote", "root@example.com")
    assert res.returncode != 0 and "last administrator" in res.stdout + res.stderr
    assert _cli(tmp_path, "users", "create", "ann@example.com").returncode == 0
    assert _cli(tmp_path, "users", "promote", "ann@example.com").returncode == 0
    res = _cli(tmp_path, "users", "demote", "root@example.com")
    assert res.returncode == 0 and "no longer an administrator" in res.stdout + res.stderr
