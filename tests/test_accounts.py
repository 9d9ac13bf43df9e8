"""Accounts: encryption required, status (ok / expiring / reconnect), refresh serialised on PostgreSQL too,
disconnect, and no token ever printed in logs (captured at DEBUG, including HTTP libraries)."""

from __future__ import annotations

import io
import threading
import time

import pytest
from fakes.instagram_server import InstagramFake
from fakes.publish_env import make_app, make_clip, reset_logging, vertical_video
from fakes.tiktok_server import TikTokFake
from fakes.youtube_server import YouTubeFake

from core import accounts
from core.app import Clipcast
from core.config import Settings
from core.errors import ConfigError
from core.logging import configure
from core.models import SocialAccount
from core.pipeline.publish import check_post, publish_post, schedule_post


@pytest.fixture
def tt():
    with TikTokFake() as fake:
        yield fake


def connect(app, fake, platform) -> int:
    pending = accounts.begin_connect(app, platform, "http://127.0.0.1:9/callback")
    return accounts.finish_connect(app, pending, fake.authorize(pending.url)).id


def test_tokens_are_never_stored_without_a_secret_key(tmp_path, tt):
    app = Clipcast(Settings(data_dir=tmp_path / "d", publishers={"tiktok": tt.options()}))
    with pytest.raises(ConfigError, match="CLIPCAST_SECRET_KEY"):
        accounts.begin_connect(app, "tiktok", "http://127.0.0.1:9/callback")
    with pytest.raises(ConfigError, match="CLIPCAST_SECRET_KEY"):
        accounts.save_connection(app, "tiktok", {"access_token": "at-abcdefgh", "scope": "video.publish"})
    with app.session() as s:
        assert s.query(SocialAccount).count() == 0


def test_status_ok_expiring_reconnect():
    acc = SocialAccount(platform="tiktok")
    now = time.time()
    assert accounts.account_status(acc, {"refresh_token": "r", "refresh_expires_at": now + 90 * 86400}, now) == "ok"
    assert accounts.account_status(acc, {"refresh_token": "r", "refresh_expires_at": now + 86400}, now) == "expiring"
    assert accounts.account_status(acc, {"refresh_token": "r", "refresh_expires_at": now - 1}, now) == "reconnect"
    assert accounts.account_status(acc, {"access_token": "a", "expires_at": now + 3 * 86400}, now) == "expiring"
    assert accounts.account_status(acc, {"refresh_token": "r", "expires_at": now - 5}, now) == "ok"  # refreshable
    assert accounts.account_status(SocialAccount(platform="x", status="reconnect"), {}, now) == "reconnect"


def test_changed_secret_key_shows_reconnect_instead_of_crashing(tmp_path, tt):
    app = make_app(tmp_path, {"tiktok": tt.options()})
    connect(app, tt, "tiktok")
    other = Clipcast(app.settings.model_copy(update={"secret_key": "a completely different passphrase"}))
    assert [a["status"] for a in accounts.list_accounts(other)] == ["reconnect"]


def test_refresh_serialised_with_row_lock_on_postgres(tmp_path, tt, postgres_url):
    app = make_app(tmp_path, {"tiktok": tt.options()}, database_url=postgres_url)
    account_id = connect(app, tt, "tiktok")
    stale = accounts.handle(app, account_id).token["access_token"]
    accounts._locks.clear()
    results: list[str] = []

    def refresh_in_other_process() -> None:
        # A separate lock registry per thread stands in for separate worker processes: only the row lock serialises.
        accounts._locks_guard.acquire()
        accounts._locks.pop(account_id, None)
        accounts._locks_guard.release()
        results.append(accounts.refresh_account(app, account_id, stale_access_token=stale)["refresh_token"])

    threads = [threading.Thread(target=refresh_in_other_process) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert tt.refresh_count == 1 and len(set(results)) == 1


def test_disconnect_keeps_row_referenced_by_posts(tmp_path, tt):
    app = make_app(tmp_path, {"tiktok": tt.options()})
    account_id = connect(app, tt, "tiktok")
    video = vertical_video(tmp_path / "v.mp4")
    schedule_post(app, make_clip(app, video), account_id)
    assert accounts.disconnect(app, account_id) is True
    acc = accounts.get_account(app, account_id)
    assert acc.token_encrypted is None and acc.status == "reconnect"


def test_no_token_appears_in_logs(tmp_path):
    stream = io.StringIO()
    configure("DEBUG", "json", stream=stream)  # a user turning on DEBUG: urllib3 then logs every URL
    with YouTubeFake() as yt:
        app = make_app(tmp_path, {"youtube": yt.options()})
        account_id = connect(app, yt, "youtube")
        first = accounts.handle(app, account_id).token
        yt.revoke_access(first["access_token"])  # forces 401 → refresh → retry
        video = vertical_video(tmp_path / "v.mp4")
        post = publish_post(app, schedule_post(app, make_clip(app, video), account_id).id)
        check_post(app, post.id)
        latest = accounts.handle(app, account_id).token
        tokens = (
            {t for t in yt.access_tokens} | set(yt.refresh_tokens) | {first["refresh_token"], latest["access_token"]}
        )
    with InstagramFake() as ig:  # Graph API URLs carry the token in the query string
        app = make_app(tmp_path / "ig", {"instagram": ig.options()})
        pending = accounts.begin_connect(app, "instagram", "https://clips.example.com/callback")
        ig_id = accounts.finish_connect(app, pending, ig.authorize(pending.url)).id
        app.publisher("instagram").quota_left(accounts.handle(app, ig_id))
        tokens |= set(ig.long_tokens) | set(ig.access_tokens)
    text = stream.getvalue()
    reset_logging()
    assert "token refreshed" in text and "/token" in text and "access_token=" in text  # the lines were logged
    assert [t for t in tokens if t in text] == []
    assert "yt-secret-value-123" not in text and "ig-app-secret-789" not in text
