"""YouTube publisher against the local fake: OAuth connect, resumable upload (with a broken connection), 401 →
refresh → retry, quota errors, preflight, and a worker killed after the upload (no second video)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fakes.publish_env import SECRET_KEY, make_app, make_clip, vertical_video
from fakes.youtube_server import YouTubeFake

from core import accounts
from core.contracts import PostStatus, PublishRequest
from core.pipeline.publish import check_post, publish_post, schedule_post

TESTS = Path(__file__).resolve().parent


@pytest.fixture
def yt():
    with YouTubeFake() as fake:
        yield fake


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    return vertical_video(tmp_path_factory.mktemp("yt") / "vertical.mp4")


def connect(app, yt) -> int:
    pending = accounts.begin_connect(app, "youtube", "http://127.0.0.1:9/callback")
    return accounts.finish_connect(app, pending, yt.authorize(pending.url)).id


def test_connect_stores_encrypted_tokens_and_channel(tmp_path, yt):
    app = make_app(tmp_path, {"youtube": yt.options()})
    account_id = connect(app, yt)
    acc = accounts.get_account(app, account_id)
    assert acc.remote_id == "UC-fake-channel" and acc.name == "Fake Channel"
    token = accounts.handle(app, account_id).token
    assert token["access_token"] not in acc.token_encrypted and token["refresh_token"] not in acc.token_encrypted
    assert yt.token_requests[0]["code_verifier"]  # PKCE verifier sent with the code


def test_publish_through_protocol(tmp_path, yt, video):
    app = make_app(tmp_path, {"youtube": yt.options()})
    post = schedule_post(app, make_clip(app, video), connect(app, yt))
    post = publish_post(app, post.id)
    assert post.status == PostStatus.PROCESSING and post.remote_id in yt.videos
    post = check_post(app, post.id)
    assert post.status == PostStatus.PUBLISHED
    assert post.url == f"https://www.youtube.com/shorts/{post.remote_id}"
    session = next(iter(yt.sessions.values()))
    assert bytes(session["data"]) == video.read_bytes()
    assert session["body"]["status"]["privacyStatus"] == "private"


def test_upload_resumes_after_dropped_connection(tmp_path, yt):
    app = make_app(tmp_path, {"youtube": yt.options()})
    account = accounts.handle(app, connect(app, yt))
    data = os.urandom(3 * 256 * 1024 + 1000)
    path = tmp_path / "big.mp4"
    path.write_bytes(data)
    yt.drop_after = 100_000  # the first chunk breaks after 100 kB
    pub = app.publisher("youtube")
    checkpoints: list[dict] = []
    request = PublishRequest(video_path=path, title="t", checkpoint=checkpoints.append)
    result = pub.publish(request, account)
    assert result.remote_id in yt.videos
    session = next(iter(yt.sessions.values()))
    assert bytes(session["data"]) == data  # resumed from the server's Range, nothing lost or doubled
    assert yt.count("POST", "/upload/youtube/v3/videos") == 1
    assert any(c.get("offset") == 100_000 for c in checkpoints) is False  # offsets only come from the server
    assert any("session_uri" in c for c in checkpoints)


def test_401_refreshes_once_and_retries(tmp_path, yt, video):
    app = make_app(tmp_path, {"youtube": yt.options()})
    account_id = connect(app, yt)
    old = accounts.handle(app, account_id).token
    yt.revoke_access(old["access_token"])  # the platform stops accepting it before its expiry
    post = publish_post(app, schedule_post(app, make_clip(app, video), account_id).id)
    assert post.status == PostStatus.PROCESSING
    assert yt.refresh_count == 1
    new = accounts.handle(app, account_id).token
    assert new["access_token"] != old["access_token"] and new["refresh_token"] == old["refresh_token"]


def test_quota_exceeded_fails_with_clear_message(tmp_path, yt, video):
    app = make_app(tmp_path, {"youtube": yt.options()})
    yt.fail_start = (403, "quotaExceeded")
    post = publish_post(app, schedule_post(app, make_clip(app, video), connect(app, yt)).id)
    assert post.status == PostStatus.FAILED and post.retryable
    assert "quota" in post.error and "midnight Pacific" in post.error


def test_upload_limit_error(tmp_path, yt, video):
    app = make_app(tmp_path, {"youtube": yt.options()})
    yt.fail_start = (400, "uploadLimitExceeded")
    post = publish_post(app, schedule_post(app, make_clip(app, video), connect(app, yt)).id)
    assert post.status == PostStatus.FAILED and "24-hour upload limit" in post.error


def test_preflight_refuses_too_long_and_unverified_public(tmp_path, yt, video):
    app = make_app(tmp_path, {"youtube": {**yt.options(), "privacy": "public", "max_seconds": 1.5}})
    account = accounts.handle(app, connect(app, yt))
    pub = app.publisher("youtube")
    # The duration is measured from the file (2 s), whatever the request claims.
    problems = pub.preflight(PublishRequest(video_path=video, title="x", duration=1.0), account)
    assert any("2.0 s long" in p and "at most 1.5 s" in p for p in problems)
    assert any("unverified Google API projects can only post private" in p for p in problems)
    app.publisher("youtube").options.max_seconds = 180
    problems = pub.preflight(PublishRequest(video_path=video, title="x", privacy="private"), account)
    assert problems == []


def test_preflight_failure_marks_post_failed_without_upload(tmp_path, yt, video):
    app = make_app(tmp_path, {"youtube": {**yt.options(), "max_seconds": 1}})
    post = publish_post(app, schedule_post(app, make_clip(app, video), connect(app, yt)).id)
    assert post.status == PostStatus.FAILED and post.error.startswith("preflight:") and not yt.sessions


KILL_SCRIPT = """
import json, os, sys
from core.app import Clipcast
from core.config import Settings
from plugins.publishers import youtube
from core.pipeline.publish import publish_post
cfg = json.loads(sys.argv[1])
app = Clipcast(Settings(**cfg["settings"]))
original = youtube.YouTubePublisher._send
def send_then_die(self, *args, **kwargs):
    original(self, *args, **kwargs)   # YouTube now holds the complete video...
    os._exit(137)                     # ...and the worker dies before any bookkeeping
youtube.YouTubePublisher._send = send_then_die
publish_post(app, cfg["post_id"])
"""


@pytest.mark.slow  # a real second Python process (~10 s of imports)
def test_worker_killed_after_upload_does_not_post_twice(tmp_path, yt, video):
    app = make_app(tmp_path, {"youtube": yt.options()})
    post = schedule_post(app, make_clip(app, video), connect(app, yt))
    cfg = {
        "settings": {
            "data_dir": str(tmp_path / "data"),
            "secret_key": SECRET_KEY,
            "publishers": {"youtube": yt.options()},
            "ingest": {"allowed_networks": ["127.0.0.0/8"]},
        },
        "post_id": post.id,
    }
    env = {**os.environ, "PYTHONPATH": str(TESTS)}
    proc = subprocess.run(
        [sys.executable, "-c", KILL_SCRIPT, json.dumps(cfg)], env=env, capture_output=True, timeout=60
    )
    assert proc.returncode == 137, proc.stderr.decode()[-2000:]
    assert len(yt.videos) == 1
    from core.pipeline.publish import get_post

    stuck = get_post(app, post.id)
    assert stuck.status == PostStatus.UPLOADING and stuck.remote_id is None
    # The dead process's lease is still fresh: a redelivery leaves the post alone. Once the lease has run out
    # (the sweeper's job, or `posts retry`), the session is probed instead of uploading again.
    assert stuck.owner and publish_post(app, post.id).status == PostStatus.UPLOADING
    from core.models import utcnow
    from core.pipeline.publish import _update

    _update(app, post.id, lease_until=utcnow())
    done = publish_post(app, post.id)
    assert done.remote_id in yt.videos and done.status in (PostStatus.PROCESSING, PostStatus.PUBLISHED)
    assert len(yt.videos) == 1 and yt.count("POST", "/upload/youtube/v3/videos") == 1
    assert check_post(app, post.id).status == PostStatus.PUBLISHED


def test_disconnect_revokes_and_deletes(tmp_path, yt):
    app = make_app(tmp_path, {"youtube": yt.options()})
    account_id = connect(app, yt)
    assert accounts.disconnect(app, account_id) is True
    assert accounts.list_accounts(app) == []


def test_scheduled_publish_at_is_private_and_metadata_limits(tmp_path, yt, video):
    from datetime import UTC, datetime, timedelta

    app = make_app(tmp_path, {"youtube": yt.options()})
    account = accounts.handle(app, connect(app, yt))
    pub = app.publisher("youtube")
    at = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    request = PublishRequest(video_path=video, title="Hi", caption="c", hashtags=["a", "#b"], publish_at=at)
    body = pub._body(request)
    assert body["status"] == {
        "privacyStatus": "private",
        "selfDeclaredMadeForKids": False,
        "publishAt": "2030-01-02T03:04:05.000Z",
    }
    assert body["snippet"]["tags"] == ["a", "b"] and body["snippet"]["description"] == "c\n\n#a #b"
    public = PublishRequest(
        video_path=video, title="x" * 101 + "<", privacy="public", publish_at=at + timedelta(days=1)
    )
    problems = " | ".join(pub.preflight(public, account))
    assert "must be private until its time" in problems and "100" in problems and "'<'" in problems


def test_worker_dying_mid_upload_resumes_same_session(tmp_path, yt):
    """Redelivery after a crash mid-upload probes the checkpointed session and continues from its Range."""
    app = make_app(tmp_path, {"youtube": yt.options()})
    big = vertical_video(tmp_path / "noise.mp4", seconds=0.4, noise=True)
    assert big.stat().st_size > 4 * 256 * 1024
    post = schedule_post(app, make_clip(app, big, duration=0.4), connect(app, yt))
    original = PublishRequest.save_checkpoint

    def die_after_two_chunks(self, **data):
        original(self, **data)
        if data.get("offset", 0) >= 2 * 256 * 1024:
            raise SystemExit(137)

    PublishRequest.save_checkpoint = die_after_two_chunks  # type: ignore[method-assign]
    try:
        with pytest.raises(SystemExit):
            publish_post(app, post.id)
    finally:
        PublishRequest.save_checkpoint = original  # type: ignore[method-assign]
    session = next(iter(yt.sessions.values()))
    assert session["received"] == 2 * 256 * 1024 and not yt.videos
    done = publish_post(app, post.id)
    assert done.status == PostStatus.PROCESSING and len(yt.sessions) == 1 and len(yt.videos) == 1
    assert bytes(session["data"]) == big.read_bytes()
