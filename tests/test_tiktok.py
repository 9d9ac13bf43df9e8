"""TikTok publisher against the local fake: Login Kit OAuth with rotating refresh tokens, creator_info-driven
preflight, FILE_UPLOAD chunk rules at their boundaries (sparse files), status walking, error codes, rate limits,
and a worker dying after the upload."""

from __future__ import annotations

import threading
import time

import pytest
from fakes.publish_env import make_app, make_clip, vertical_video
from fakes.tiktok_server import MB, TikTokFake

from core import accounts
from core.contracts import PostStatus, PublishRequest
from core.errors import PermanentError, RetryableError
from core.pipeline.publish import check_post, get_post, publish_post, retry_post, schedule_post
from plugins.publishers.tiktok import TikTokPublisher, plan_chunks


@pytest.fixture
def tt():
    with TikTokFake() as fake:
        yield fake


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return vertical_video(tmp_path_factory.mktemp("tt") / "vertical.mp4")


def connect(app, tt) -> int:
    pending = accounts.begin_connect(app, "tiktok", "http://127.0.0.1:9/callback")
    assert "client_key=tt-client-key" in pending.url and "scope=user.info.basic%2Cvideo.publish" in pending.url
    return accounts.finish_connect(app, pending, tt.authorize(pending.url)).id


def sparse(path, size: int):
    with open(path, "wb") as f:
        f.truncate(size)
    return path


def test_connect_uses_client_key_and_pkce(tmp_path, tt):
    app = make_app(tmp_path, {"tiktok": tt.options()})
    acc = accounts.get_account(app, connect(app, tt))
    assert acc.remote_id == "open-123" and acc.name == "Fake Creator" and acc.meta["username"] == "fakecreator"
    exchange = tt.token_requests[0]
    assert exchange["client_key"] == "tt-client-key" and "client_id" not in exchange and exchange["code_verifier"]
    assert accounts.list_accounts(app)[0]["status"] == "ok"


def test_rotating_refresh_token_is_stored_and_refreshes_are_serialised(tmp_path, tt):
    app = make_app(tmp_path, {"tiktok": tt.options()})
    account_id = connect(app, tt)
    first = accounts.handle(app, account_id).token
    results: list[dict] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(
                accounts.refresh_account(app, account_id, stale_access_token=first["access_token"])
            )
        )
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert tt.refresh_count == 1  # four callers, one refresh: the others re-read the row
    assert len({r["access_token"] for r in results}) == 1
    second = accounts.handle(app, account_id).token
    assert second["refresh_token"] != first["refresh_token"]
    assert first["refresh_token"] not in tt.refresh_tokens  # the old one is dead at the platform
    third = accounts.refresh_account(app, account_id, stale_access_token=second["access_token"])
    assert tt.refresh_count == 2 and third["refresh_token"] != second["refresh_token"]


def test_token_refreshed_ahead_of_expiry_and_by_refresh_due_tokens(tmp_path, tt):
    app = make_app(tmp_path, {"tiktok": tt.options()})
    account_id = connect(app, tt)
    assert accounts.refresh_due_tokens(app) == 0
    tt.access_ttl = 60  # the next tokens expire within the 5-minute margin
    accounts.refresh_account(app, account_id, stale_access_token=accounts.handle(app, account_id).token["access_token"])
    tt.access_ttl = 7200
    assert accounts.refresh_due_tokens(app) == 1
    before = tt.refresh_count
    accounts.handle(app, account_id)
    assert tt.refresh_count == before


def test_revoked_refresh_token_marks_account_reconnect(tmp_path, tt, video):
    app = make_app(tmp_path, {"tiktok": tt.options()})
    account_id = connect(app, tt)
    token = accounts.handle(app, account_id).token
    tt.refresh_tokens.clear()
    tt.revoke_access(token["access_token"])
    post = publish_post(app, schedule_post(app, make_clip(app, video), account_id).id)
    assert post.status == PostStatus.FAILED and post.retryable and "reconnect" in post.error
    assert accounts.list_accounts(app)[0]["status"] == "reconnect"
    assert retry_post(app, post.id).status == PostStatus.SCHEDULED  # after reconnecting, it can go again


@pytest.mark.parametrize(
    ("size", "chunks", "last"),
    [(4_900_000, 1, 4_900_000), (5 * MB, 1, 5 * MB), (64 * MB + 1, 6, 14 * MB + 1)],
    ids=["4.9MB", "5MB", "64MB+1"],
)
def test_chunk_rules_at_boundaries(tmp_path, tt, size, chunks, last):
    app = make_app(tmp_path, {"tiktok": tt.options()})
    account = accounts.handle(app, connect(app, tt))
    path = sparse(tmp_path / "big.mp4", size)
    result = app.publisher("tiktok").publish(PublishRequest(video_path=path, caption="hi", duration=10), account)
    pub = tt.publishes[result.remote_id]
    assert (pub["count"], pub["received"], pub["done"]) == (chunks, size, True)
    assert size - (chunks - 1) * pub["chunk"] == last
    assert plan_chunks(size, 10 * MB) == (pub["chunk"], chunks)


def test_fake_refuses_plans_that_break_the_rules(tmp_path, tt):
    app = make_app(tmp_path, {"tiktok": tt.options()})
    account = accounts.handle(app, connect(app, tt))
    pub = app.publisher("tiktok")
    for source in (
        {"video_size": 20 * MB, "chunk_size": 4 * MB, "total_chunk_count": 5},  # chunk under 5 MB
        {"video_size": 65 * MB, "chunk_size": 65 * MB, "total_chunk_count": 1},  # over 64 MB unchunked
        {"video_size": 30 * MB, "chunk_size": 10 * MB, "total_chunk_count": 4},  # not floor(size/chunk)
    ):
        body = {"post_info": {"privacy_level": "SELF_ONLY"}, "source_info": {"source": "FILE_UPLOAD", **source}}
        with pytest.raises(PermanentError, match="invalid_param"):
            pub._data(pub._post("post/publish/video/init/", account, body, limit=6), "init")
    with pytest.raises(PermanentError, match="5-64 MB"):
        plan_chunks(30 * MB, 4 * MB)
    with pytest.raises(PermanentError, match="over 64 MB"):
        plan_chunks(100 * MB, 64 * MB)


def test_publish_walks_statuses_to_published(tmp_path, tt, video):
    app = make_app(tmp_path, {"tiktok": tt.options()})
    post = publish_post(app, schedule_post(app, make_clip(app, video, caption="so #cool"), connect(app, tt)).id)
    assert post.status == PostStatus.PROCESSING and post.remote_id.startswith("v_pub_file")
    body = tt.publishes[post.remote_id]["body"]
    assert body["post_info"]["privacy_level"] == "SELF_ONLY" and body["post_info"]["title"] == "so #cool #test"
    post = check_post(app, post.id)
    assert post.status == PostStatus.PUBLISHED
    assert post.url == "https://www.tiktok.com/@fakecreator/video/7300000000000000001"
    assert tt.count("POST", "/v2/post/publish/creator_info/query/") >= 2  # preflight and again right before init


def test_preflight_refuses_privacy_not_offered_and_too_long(tmp_path, tt, video):
    app = make_app(tmp_path, {"tiktok": tt.options(privacy_level="PUBLIC_TO_EVERYONE")})
    tt.privacy_options = ["FOLLOWER_OF_CREATOR", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"]  # a private account
    tt.max_duration = 1
    post = publish_post(app, schedule_post(app, make_clip(app, video), connect(app, tt)).id)
    assert post.status == PostStatus.FAILED
    assert "PUBLIC_TO_EVERYONE is not offered" in post.error and "at most 1 s" in post.error
    assert not tt.publishes


@pytest.mark.parametrize(
    ("code", "status", "text", "retryable"),
    [
        ("unaudited_client_can_only_post_to_private_accounts", 403, "not audited", False),
        ("spam_risk_too_many_posts", 403, "daily API post limit", True),
    ],
)
def test_init_error_codes_are_mapped(tmp_path, tt, video, code, status, text, retryable):
    app = make_app(tmp_path, {"tiktok": tt.options()})
    tt.init_error = (status, code)
    post = publish_post(app, schedule_post(app, make_clip(app, video), connect(app, tt)).id)
    assert post.status == PostStatus.FAILED and text in post.error and post.retryable is retryable


def test_client_side_rate_limit_never_reaches_a_429(tmp_path, tt):
    app = make_app(tmp_path, {"tiktok": tt.options(rate_limit_wait_seconds=0)})
    account = accounts.handle(app, connect(app, tt))
    pub = app.publisher("tiktok")
    for _ in range(20):
        pub.creator_info(account)
    with pytest.raises(RetryableError, match=r"20 .* calls per minute"):
        pub.creator_info(account)
    assert tt.count("POST", "/v2/post/publish/creator_info/query/") == 20


def test_chunk_5xx_is_retried_and_inbox_mode(tmp_path, tt, video):
    app = make_app(tmp_path, {"tiktok": tt.options(mode="inbox")})
    tt.fail_next_chunk_with = 503
    post = publish_post(app, schedule_post(app, make_clip(app, video), connect(app, tt)).id)
    assert post.remote_id.startswith("v_inbox_file") and "post_info" not in tt.publishes[post.remote_id]["body"]
    assert check_post(app, post.id).status == PostStatus.PUBLISHED  # delivered to the creator's inbox


def test_worker_dies_after_upload_status_checks_only(tmp_path, tt, video, monkeypatch):
    app = make_app(tmp_path, {"tiktok": tt.options()})
    post = schedule_post(app, make_clip(app, video), connect(app, tt))
    original = TikTokPublisher.upload

    def upload_then_die(self, *args, **kw):
        original(self, *args, **kw)
        raise SystemExit(137)  # the process ends before the result is recorded

    monkeypatch.setattr(TikTokPublisher, "upload", upload_then_die)
    with pytest.raises(SystemExit):
        publish_post(app, post.id)
    monkeypatch.setattr(TikTokPublisher, "upload", original)
    stuck = get_post(app, post.id)
    assert stuck.status == PostStatus.UPLOADING and stuck.remote_id  # the publish_id was saved first
    time.sleep(0.01)
    done = publish_post(app, post.id)
    assert done.status == PostStatus.PUBLISHED and len(tt.publishes) == 1
    assert tt.count("POST", "/v2/post/publish/video/init/") == 1


@pytest.fixture(scope="module")
def two_chunks(tmp_path_factory):
    """A real video over 10 MB: two 5 MB chunks (chunk_bytes=5 MB), the last taking the remainder."""
    path = vertical_video(tmp_path_factory.mktemp("tt2") / "noise.mp4", seconds=3.2, noise=True)
    assert 10 * MB <= path.stat().st_size < 15 * MB
    return path


def _die_at_chunk(monkeypatch, chunk: int) -> None:
    original = PublishRequest.save_checkpoint

    def save(self, **data):
        original(self, **data)
        if data.get("next_chunk") == chunk:
            raise SystemExit(137)  # the process dies with chunk `chunk` next

    monkeypatch.setattr(PublishRequest, "save_checkpoint", save)


def test_killed_during_last_chunk_resumes_the_same_upload(tmp_path, tt, two_chunks, monkeypatch):
    """Repro 2: a worker killed before chunk 2 of 2 left the post `processing` forever; now it resumes."""
    app = make_app(tmp_path, {"tiktok": tt.options(chunk_bytes=5 * MB)})
    post = schedule_post(app, make_clip(app, two_chunks, duration=3.2), connect(app, tt))
    _die_at_chunk(monkeypatch, 1)
    with pytest.raises(SystemExit):
        publish_post(app, post.id)
    monkeypatch.undo()
    stuck = get_post(app, post.id)
    assert stuck.status == PostStatus.UPLOADING and stuck.options["checkpoint"]["next_chunk"] == 1
    assert tt.published() == 0
    done = publish_post(app, post.id)  # the sweeper's job (or `posts retry`) takes over
    assert done.status in (PostStatus.PROCESSING, PostStatus.PUBLISHED)
    assert tt.count("POST", "/v2/post/publish/video/init/") == 1 and tt.count("PUT", "/upload/") == 2
    assert check_post(app, post.id).status == PostStatus.PUBLISHED and tt.published() == 1


def test_upload_url_is_encrypted_at_rest(tmp_path, tt, video):
    app = make_app(tmp_path, {"tiktok": tt.options()})
    post = publish_post(app, schedule_post(app, make_clip(app, video), connect(app, tt)).id)
    checkpoint = get_post(app, post.id).options["checkpoint"]
    assert "upload_url" not in checkpoint and "upload_token" not in str(checkpoint)
    assert checkpoint["upload_url_encrypted"]


def test_lost_answer_to_final_chunk_is_a_complete_upload(tmp_path, tt, video):
    """Repro 3: the final chunk arrived but its answer was lost; TikTok's 416 progress says complete."""
    app = make_app(tmp_path, {"tiktok": tt.options()})
    account_id = connect(app, tt)
    clip_id = make_clip(app, video)
    tt.drop_answer_to_final_chunk = True
    post = publish_post(app, schedule_post(app, clip_id, account_id).id)
    assert post.status == PostStatus.PROCESSING and post.error is None
    assert tt.count("PUT", "/upload/") == 2  # the resend met 416 "bytes 0-(size-1)": complete
    assert check_post(app, post.id).status == PostStatus.PUBLISHED and tt.published() == 1
    # a post that reached TikTok, failed on our side, still blocks a second post of the clip
    from core.errors import InputError
    from core.pipeline.publish import _update

    _update(app, post.id, status=PostStatus.FAILED)
    with pytest.raises(InputError, match="reached tiktok first"):
        schedule_post(app, clip_id, account_id)


def test_expired_upload_url_initialises_again(tmp_path, tt, two_chunks, monkeypatch):
    app = make_app(tmp_path, {"tiktok": tt.options(chunk_bytes=5 * MB)})
    post = schedule_post(app, make_clip(app, two_chunks, duration=3.2), connect(app, tt))
    _die_at_chunk(monkeypatch, 1)
    with pytest.raises(SystemExit):
        publish_post(app, post.id)
    monkeypatch.undo()
    first = get_post(app, post.id).remote_id
    tt.expire_upload(first)  # an hour passed
    done = publish_post(app, post.id)
    assert done.remote_id != first and tt.count("POST", "/v2/post/publish/video/init/") == 2
    assert check_post(app, post.id).status == PostStatus.PUBLISHED and tt.published() == 1


def test_unaudited_app_may_only_post_self_only(tmp_path, tt, video):
    """Repro 6: PUBLIC_TO_EVERYONE from an unaudited app passed preflight; TikTok refuses it at init."""
    app = make_app(tmp_path, {"tiktok": tt.options(privacy_level="PUBLIC_TO_EVERYONE")})
    post = publish_post(app, schedule_post(app, make_clip(app, video), connect(app, tt)).id)
    assert post.status == PostStatus.FAILED and "unaudited TikTok app may only post SELF_ONLY" in post.error
    assert tt.count("POST", "/v2/post/publish/video/init/") == 0
    audited = make_app(tmp_path / "b", {"tiktok": tt.options(privacy_level="PUBLIC_TO_EVERYONE", audited=True)})
    ok = publish_post(audited, schedule_post(audited, make_clip(audited, video), connect(audited, tt)).id)
    assert ok.status == PostStatus.PROCESSING
