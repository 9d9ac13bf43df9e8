"""Folder and webhook publishers through the publish protocol; the webhook receiver verifies signatures."""

from __future__ import annotations

import json
import time

import pytest
from fakes.publish_env import make_account, make_app, make_clip, vertical_video
from fakes.webhook_receiver import WebhookReceiver

from core.config import ServerSettings
from core.contracts import PostStatus
from core.pipeline.publish import publish_post, schedule_post
from plugins.publishers.webhook import sign, verify_signature

SECRET = "whsec-0123456789abcdef"
PUBLIC = ServerSettings(public_base_url="https://clips.example.com")


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return vertical_video(tmp_path_factory.mktemp("fw") / "vertical.mp4")


@pytest.fixture
def hook():
    with WebhookReceiver(SECRET) as receiver:
        yield receiver


def webhook_app(tmp_path, hook, **opts):
    return make_app(
        tmp_path,
        {"webhook": {"url": f"{hook.url}/hook", "secret": SECRET, "backoff_seconds": 0.01, **opts}},
        server=PUBLIC,
    )


def test_folder_writes_clip_caption_and_metadata(tmp_path, video):
    out = tmp_path / "synced"
    app = make_app(tmp_path, {"folder": {"path": str(out)}})
    clip_id = make_clip(app, video, title="Big News!", caption="Read this", hashtags=["news", "#daily"])
    post = publish_post(app, schedule_post(app, clip_id, make_account(app, "folder", {})).id)
    assert post.status == PostStatus.PUBLISHED
    (folder,) = [p for p in out.iterdir() if not p.name.startswith(".")]
    assert folder.name == f"{post.id}-big-news"
    assert (folder / "clip.mp4").read_bytes() == video.read_bytes()
    assert (folder / "caption.txt").read_text() == "Read this\n\n#news #daily\n"
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["clip_id"] == clip_id and meta["hashtags"] == ["news", "#daily"]
    assert post.url == folder.resolve().as_uri()


def test_webhook_posts_signed_payload_with_download_url(tmp_path, video, hook):
    app = webhook_app(tmp_path, hook)
    clip_id = make_clip(app, video)
    post = publish_post(app, schedule_post(app, clip_id, make_account(app, "webhook", {})).id)
    assert post.status == PostStatus.PUBLISHED and post.remote_id == "run-1"
    (payload,) = hook.accepted
    assert payload["clip_id"] == clip_id and payload["download_url"].startswith("https://clips.example.com/files/")
    assert hook.rejected == 0


def test_webhook_retries_5xx_then_succeeds(tmp_path, video, hook):
    app = webhook_app(tmp_path, hook)
    hook.fail_times = 2
    post = publish_post(app, schedule_post(app, make_clip(app, video), make_account(app, "webhook", {})).id)
    assert post.status == PostStatus.PUBLISHED and hook.count("POST", "/hook") == 3


def test_webhook_4xx_fails_and_wrong_secret_is_refused_by_receiver(tmp_path, video, hook):
    app = webhook_app(tmp_path, hook, secret="some-other-secret-value")
    post = publish_post(app, schedule_post(app, make_clip(app, video), make_account(app, "webhook", {})).id)
    assert post.status == PostStatus.FAILED and "HTTP 401" in post.error and not post.retryable
    assert hook.rejected == 1 and hook.count("POST", "/hook") == 1  # a 4xx is not retried


def test_webhook_without_public_url_is_refused(tmp_path, video, hook):
    app = make_app(tmp_path, {"webhook": {"url": f"{hook.url}/hook", "secret": SECRET}})
    post = publish_post(app, schedule_post(app, make_clip(app, video), make_account(app, "webhook", {})).id)
    assert post.status == PostStatus.FAILED and "public base URL" in post.error


def test_verify_signature_helper():
    body, stamp = b'{"a":1}', str(int(time.time()))
    good = sign(SECRET, stamp, body)
    assert verify_signature(SECRET, stamp, body, good)
    assert not verify_signature(SECRET, stamp, body + b" ", good)
    assert not verify_signature("wrong-secret", stamp, body, good)
    assert not verify_signature(
        SECRET, str(int(time.time()) - 3600), body, sign(SECRET, str(int(time.time()) - 3600), body)
    )
