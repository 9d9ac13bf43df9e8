"""Instagram Reels publisher against the local fake: Instagram Login (wrapped short token → long-lived), the
public-URL requirement, container status walk, media_publish, publishing limit, long-lived token refresh after
24 h, and a worker dying right after media_publish (no second post)."""

from __future__ import annotations

import time

import pytest
from fakes.instagram_server import IG_USER, InstagramFake
from fakes.publish_env import make_app, make_clip, vertical_video

from core import accounts, crypto
from core.config import ServerSettings
from core.contracts import PostStatus
from core.errors import RetryableError
from core.leases import aware
from core.models import SocialAccount, utcnow
from core.pipeline.publish import check_post, get_post, publish_post, schedule_post
from plugins.publishers.instagram import InstagramPublisher

PUBLIC = ServerSettings(public_base_url="https://clips.example.com")


@pytest.fixture
def ig():
    with InstagramFake() as fake:
        yield fake


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return vertical_video(tmp_path_factory.mktemp("ig") / "vertical.mp4", seconds=3.5)


def connect(app, ig) -> int:
    pending = accounts.begin_connect(app, "instagram", "https://clips.example.com/callback")
    return accounts.finish_connect(app, pending, ig.authorize(pending.url) + "#_").id


def age_token(app, account_id, *, days_old: float, days_left: float) -> None:
    """Pretend the stored long-lived token was issued ``days_old`` days ago."""
    with app.session() as s:
        acc = s.get(SocialAccount, account_id)
        token = crypto.decrypt_json(app.settings.secret_key, acc.token_encrypted)
        token["issued_at"] = time.time() - days_old * 86400
        token["expires_at"] = time.time() + days_left * 86400
        acc.token_encrypted = crypto.encrypt_json(app.settings.secret_key, token)
        s.add(acc)


def test_connect_exchanges_for_long_lived_token(tmp_path, ig):
    app = make_app(tmp_path, {"instagram": ig.options()})
    account_id = connect(app, ig)
    acc = accounts.get_account(app, account_id)
    assert acc.remote_id == IG_USER and acc.name == "fake.reels"
    token = accounts.handle(app, account_id).token
    assert token["access_token"] in ig.long_tokens and token["kind"] == "long"
    assert token["expires_at"] - time.time() > 59 * 86400
    assert ig.token_requests[0]["client_id"] == "ig-app-id"  # body credentials
    assert accounts.list_accounts(app)[0]["status"] == "ok"


def test_local_storage_without_public_url_is_refused_clearly(tmp_path, ig, video):
    app = make_app(tmp_path, {"instagram": ig.options()})
    post = publish_post(app, schedule_post(app, make_clip(app, video, duration=3.5), connect(app, ig)).id)
    assert post.status == PostStatus.FAILED
    assert "server.public_base_url" in post.error and not ig.containers


def test_reel_walks_container_statuses_and_publishes(tmp_path, ig, video):
    app = make_app(tmp_path, {"instagram": ig.options()}, server=PUBLIC)
    post = publish_post(app, schedule_post(app, make_clip(app, video, duration=3.5), connect(app, ig)).id)
    assert post.status == PostStatus.PROCESSING and post.remote_id in ig.containers
    params = ig.containers[post.remote_id]["params"]
    assert params["video_url"].startswith("https://clips.example.com/files/") and params["media_type"] == "REELS"
    with pytest.raises(RetryableError):
        check_post(app, post.id)  # IN_PROGRESS
    post = check_post(app, post.id)  # FINISHED → media_publish → permalink
    assert post.status == PostStatus.PUBLISHED and post.url.startswith("https://www.instagram.com/reel/")
    assert ig.publish_calls == 1 and ig.quota_usage == 1


def test_publishing_limit_is_read_before_posting(tmp_path, ig, video):
    app = make_app(tmp_path, {"instagram": ig.options()}, server=PUBLIC)
    account_id = connect(app, ig)
    ig.quota_total = 3  # read live: never a constant
    ig.quota_usage = ig.quota_total
    post = publish_post(app, schedule_post(app, make_clip(app, video, duration=3.5), account_id).id)
    # Repro 6: the refusal is not a failure; the post waits, scheduled, for the window to free a place.
    assert post.status == PostStatus.SCHEDULED and "publishing limit" in post.error and not ig.containers
    assert aware(post.scheduled_at) > utcnow() and post.dispatched_at is None
    ig.quota_total = 50
    # The limit filling up while a container processes: media_publish waits instead of being refused.
    ig.quota_usage = 0
    ig.polls_until_finished = 1
    post2 = publish_post(app, schedule_post(app, make_clip(app, video, duration=3.5, title="b"), account_id).id)
    ig.quota_usage = ig.quota_total
    with pytest.raises(RetryableError, match="publishing limit"):
        check_post(app, post2.id)
    assert ig.publish_calls == 0
    ig.quota_usage = 0
    assert check_post(app, post2.id).status == PostStatus.PUBLISHED


def test_worker_dies_after_media_publish_no_second_post(tmp_path, ig, video, monkeypatch):
    app = make_app(tmp_path, {"instagram": ig.options()}, server=PUBLIC)
    ig.polls_until_finished = 1
    post = publish_post(app, schedule_post(app, make_clip(app, video, duration=3.5), connect(app, ig)).id)
    original = InstagramPublisher._media_publish

    def publish_then_die(self, *args):
        original(self, *args)
        raise SystemExit(137)

    monkeypatch.setattr(InstagramPublisher, "_media_publish", publish_then_die)
    with pytest.raises(SystemExit):
        check_post(app, post.id)
    monkeypatch.setattr(InstagramPublisher, "_media_publish", original)
    assert get_post(app, post.id).status == PostStatus.PROCESSING
    done = publish_post(app, post.id)  # redelivered message: status checks only
    assert done.status == PostStatus.PUBLISHED and ig.publish_calls == 1 and len(ig.media) == 1


def test_long_lived_token_refreshed_after_24h_and_on_code_190(tmp_path, ig, video):
    app = make_app(tmp_path, {"instagram": ig.options()}, server=PUBLIC)
    account_id = connect(app, ig)
    assert accounts.refresh_due_tokens(app) == 0  # fresh token: too young to refresh
    ig.age_offset = 2 * 86400
    age_token(app, account_id, days_old=2, days_left=20)
    assert accounts.refresh_due_tokens(app) == 1 and ig.refresh_count == 1
    token = accounts.handle(app, account_id).token
    assert token["expires_at"] - time.time() > 59 * 86400
    # The platform rejects the token early (code 190): refresh once, then the call succeeds.
    ig.age_offset = 4 * 86400
    age_token(app, account_id, days_old=2, days_left=50)
    ig.reject_once.add(token["access_token"])
    post = publish_post(app, schedule_post(app, make_clip(app, video, duration=3.5), account_id).id)
    assert post.status == PostStatus.PROCESSING and ig.refresh_count == 2
    assert accounts.handle(app, account_id).token["access_token"] != token["access_token"]


def test_code_190_on_a_young_token_asks_for_reconnect(tmp_path, ig, video):
    app = make_app(tmp_path, {"instagram": ig.options()}, server=PUBLIC)
    account_id = connect(app, ig)
    ig.reject_once.add(accounts.handle(app, account_id).token["access_token"])
    post = publish_post(app, schedule_post(app, make_clip(app, video, duration=3.5), account_id).id)
    assert post.status == PostStatus.FAILED and "24 hours" in post.error
    assert accounts.list_accounts(app)[0]["status"] == "reconnect"


def test_publishing_limit_frees_up_and_the_deferred_post_goes_out(tmp_path, ig, video):
    app = make_app(tmp_path, {"instagram": ig.options()}, server=PUBLIC)
    account_id = connect(app, ig)
    ig.quota_total, ig.quota_duration = 2, 1.0  # a 1-second window stands for Meta's 24 hours
    ig.quota_usage = 2
    post = publish_post(app, schedule_post(app, make_clip(app, video, duration=3.5), account_id).id)
    assert post.status == PostStatus.SCHEDULED and not ig.containers
    time.sleep(1.1)  # the window moved on
    ig.polls_until_finished = 0
    done = publish_post(app, post.id)
    assert done.status in (PostStatus.PROCESSING, PostStatus.PUBLISHED) and len(ig.containers) == 1
    assert check_post(app, post.id).status == PostStatus.PUBLISHED and ig.publish_calls == 1


def _race_two_checks(app, post_id) -> list:
    """Two status checks of one post at the same moment (a check job and `posts check`, say)."""
    import threading

    barrier, out = threading.Barrier(2), []

    def check() -> None:
        barrier.wait()
        try:
            out.append(check_post(app, post_id).status)
        except RetryableError:
            out.append("processing")

    threads = [threading.Thread(target=check) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return out


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_two_concurrent_status_checks_call_media_publish_once(tmp_path, ig, video, monkeypatch, database, request):
    """The container is FINISHED and two checks race: a compare-and-set on the post's checkpoint lets one of them
    call media_publish; the other makes no call and reads the result back on its next check. The same
    statement on SQLite and PostgreSQL."""
    import contextlib

    import plugins.publishers.instagram as module

    url = request.getfixturevalue("postgres_url") if database == "postgresql" else None
    app = make_app(tmp_path, {"instagram": ig.options()}, server=PUBLIC, database_url=url)
    account = connect(app, ig)
    ig.polls_until_finished = 0
    ig.latency = 0.3  # both checks read FINISHED before either publishes
    post = publish_post(app, schedule_post(app, make_clip(app, video, duration=3.5), account).id)
    assert post.status == PostStatus.PROCESSING
    ig.containers[post.remote_id]["status"] = "FINISHED"
    assert sorted(_race_two_checks(app, post.id)) == ["processing", "published"]
    assert ig.publish_calls == 1 and len(ig.media) == 1
    assert check_post(app, post.id).status == PostStatus.PUBLISHED and ig.publish_calls == 1
    assert "publishing" not in get_post(app, post.id).options["checkpoint"] and get_post(app, post.id).owner is None

    # the same race without the gate: both call media_publish (what the compare-and-set prevents)
    monkeypatch.setattr(module, "irreversible_step", lambda step: contextlib.nullcontext(True))
    other = publish_post(app, schedule_post(app, make_clip(app, video, title="another", duration=3.5), account).id)
    ig.containers[other.remote_id]["status"] = "FINISHED"
    _race_two_checks(app, other.id)
    assert ig.publish_calls == 3
