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


def test_folder_killed_mid_copy_is_written_again_once(tmp_path, video, monkeypatch):
    """Repro 7: a worker killed while copying to the outbox left the post failed ("... is gone") for good."""
    import shutil

    from core.pipeline.publish import get_post

    app = make_app(tmp_path, {})
    post = schedule_post(app, make_clip(app, video), make_account(app, "folder", {}))
    real_copy = shutil.copyfile

    def half_then_die(src, dst, *a, **kw):
        with open(src, "rb") as f, open(dst, "wb") as out:
            out.write(f.read(1000))
        raise SystemExit(137)

    monkeypatch.setattr(shutil, "copyfile", half_then_die)
    with pytest.raises(SystemExit):
        publish_post(app, post.id)
    monkeypatch.setattr(shutil, "copyfile", real_copy)
    outbox = app.settings.data_dir / "outbox"
    stuck = get_post(app, post.id)
    assert stuck.status == PostStatus.UPLOADING and stuck.remote_id is None
    assert [p.name for p in outbox.iterdir()] == [f".part-{post.id}"]  # the partial delivery, not counted
    done = publish_post(app, post.id)  # the sweeper's job takes over
    assert done.status == PostStatus.PUBLISHED
    (folder,) = outbox.iterdir()
    assert not folder.name.startswith(".part") and (folder / "clip.mp4").read_bytes() == video.read_bytes()


def test_webhook_lost_answer_is_redelivered_with_the_same_key(tmp_path, video, hook):
    """Repro 8: redeliveries carry the same key and say so; the receiver's de-duplication counts one post."""
    app = webhook_app(tmp_path, hook)
    hook.drop_answers = 1  # the receiver took the delivery, its answer is lost
    post = publish_post(app, schedule_post(app, make_clip(app, video), make_account(app, "webhook", {})).id)
    assert post.status == PostStatus.PUBLISHED and len(hook.accepted) == 1
    key = f"clipcast-post-{post.id}"
    assert hook.deliveries == [(key, None), (key, "true")]


def test_webhook_taken_over_asks_the_status_endpoint_first(tmp_path, video, hook, monkeypatch):
    from plugins.publishers.http import HttpClient

    app = webhook_app(tmp_path, hook, status_url=f"{hook.url}/status")
    post = schedule_post(app, make_clip(app, video), make_account(app, "webhook", {}))
    real = HttpClient.request

    def post_then_die(self, method, url, **kw):
        res = real(self, method, url, **kw)
        if method == "POST":
            raise SystemExit(137)  # the worker dies with the answer in hand, before recording it
        return res

    monkeypatch.setattr(HttpClient, "request", post_then_die)
    with pytest.raises(SystemExit):
        publish_post(app, post.id)
    monkeypatch.setattr(HttpClient, "request", real)
    from core.pipeline.publish import get_post

    assert get_post(app, post.id).options["checkpoint"]["delivery"] == "sent"
    done = publish_post(app, post.id)
    assert done.status == PostStatus.PUBLISHED and hook.count("POST", "/hook") == 1
    assert hook.count("GET", "/status") == 1


def test_webhook_job_failed_for_good_leaves_a_failed_cancellable_post(tmp_path, video, hook):
    """Repro 12: the receiver answered 501 until the job's retries ran out; the post stayed `uploading`."""
    from core import jobs, tasks
    from core.models import Post
    from core.pipeline.publish import cancel_post, get_post

    app = make_app(
        tmp_path,
        {"webhook": {"url": f"{hook.url}/hook", "secret": SECRET, "backoff_seconds": 0.01, "retries": 1}},
        server=PUBLIC,
        worker={"max_retries": 1, "min_backoff": 0.05, "max_backoff": 0.1},
    )
    hook.status = 501
    post = schedule_post(app, make_clip(app, video), make_account(app, "webhook", {}))
    job = jobs.create_job(app, "publish", options={"post_id": post.id})
    try:
        tasks.enqueue(app, job)
        assert jobs.wait_for_job(app, job.id, timeout=30).status == "failed"
    finally:
        tasks.stop_embedded_worker()
    row = get_post(app, post.id)
    assert row.status == PostStatus.FAILED and row.retryable and "HTTP 501" in row.error and row.owner is None
    from api_support import client, make_user

    admin = make_user(app, "admin@example.com", admin=True)
    api = client(app)
    gone = api.delete(f"/api/posts/{post.id}", headers=admin.headers)  # the API's cancel, as `posts cancel`
    assert gone.status_code == 200 and gone.json()["status"] == PostStatus.CANCELLED
    assert cancel_post(app, post.id).status == PostStatus.CANCELLED
    with app.session() as s:  # what the API's delete routes refuse: posts uploading or processing
        assert s.get(Post, post.id).status not in ("uploading", "processing")
