"""Owners and leases: the CLI's inline publish is the owned protocol (nothing stuck after a transient error or a
kill), a transient error's retry needs no lease to run out, the sweeper adopts orphans, progress writes survive
a locked database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fakes.publish_env import LOOPBACK, SECRET_KEY, make_account, make_app, make_clip, reset_logging, vertical_video
from fakes.tiktok_server import TikTokFake
from fakes.youtube_server import YouTubeFake

from core import accounts, jobs, tasks
from core.contracts import PostStatus
from core.errors import RetryableError
from core.pipeline import publish as pub
from core.sweeper import sweep

TESTS = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return vertical_video(tmp_path_factory.mktemp("own") / "vertical.mp4")


@pytest.fixture
def tt():
    with TikTokFake() as fake:
        yield fake


def connect(app, fake, platform: str) -> int:
    pending = accounts.begin_connect(app, platform, "http://127.0.0.1:9/callback")
    return accounts.finish_connect(app, pending, fake.authorize(pending.url)).id


def cli_runner(tmp_path: Path, publishers: dict):
    import yaml
    from typer.testing import CliRunner

    from core.cli import app as cli
    from core.cli.common import state

    config = tmp_path / "clipcast.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "data_dir": str(tmp_path / "data"),
                "secret_key": SECRET_KEY,
                "publishers": publishers,
                "ingest": LOOPBACK.model_dump(mode="json"),  # the fakes listen on loopback
            }
        )
    )
    runner = CliRunner()

    def run(*args: str):
        state._app = None
        try:
            return runner.invoke(cli, ["--config", str(config), *args])
        finally:
            state._app = None
            reset_logging()

    return run


def test_inline_publish_transient_error_leaves_nothing_stuck(tmp_path, tt, video):
    """Repro 1: `clipcast publish` meeting TikTok's 429 on init left the post `uploading` for good, and
    `posts check`, `retry`, `cancel` and a new `publish` were all refused."""
    app = make_app(tmp_path, {"tiktok": tt.options()})
    clip_id = make_clip(app, video)
    account_id = connect(app, tt, "tiktok")
    run = cli_runner(tmp_path, {"tiktok": tt.options()})
    tt.init_error = (429, "rate_limit_exceeded")
    first = run("publish", str(clip_id), "--account", str(account_id), "--at", "now")
    assert first.exit_code == 1 and "was interrupted" in first.output, first.output
    post = pub.get_post(app, 1)
    assert post.status == PostStatus.UPLOADING and post.owner is None and post.lease_until is None
    assert run("posts", "check", "1").exit_code == 0  # asks the platform: nothing there yet, still interrupted
    tt.init_error = None
    again = run("posts", "retry", "1")
    assert again.exit_code == 0 and "post 1 published" in again.output, again.output
    assert tt.published() == 1 and tt.count("POST", "/v2/post/publish/video/init/") == 2  # 429'd, then once
    # the same interruption, then cancelled instead: nothing reached TikTok
    other = make_clip(app, video, title="second")
    tt.init_error = (429, "rate_limit_exceeded")
    assert run("publish", str(other), "--account", str(account_id), "--at", "now").exit_code == 1
    assert "cancelled" in run("posts", "cancel", "2").output
    tt.init_error = None
    assert run("publish", str(other), "--account", str(account_id), "--at", "now").exit_code == 0
    assert tt.published() == 2


KILL_SCRIPT = """
import json, os, sys
from core.app import Clipcast
from core.config import Settings
from core.contracts import PublishRequest
from core.pipeline.publish import publish_post
from core import leases
cfg = json.loads(sys.argv[1])
app = Clipcast(Settings(**cfg["settings"]))
leases.set_kind("cli")
original = PublishRequest.save_checkpoint
def die_after_three_chunks(self, **data):
    original(self, **data)
    if data.get("offset", 0) >= 3 * 256 * 1024:
        os._exit(137)                     # `clipcast publish` killed after 3 chunks
PublishRequest.save_checkpoint = die_after_three_chunks
publish_post(app, cfg["post_id"])
"""


@pytest.mark.slow  # a second Python process
def test_killed_cli_upload_is_resumed_by_the_sweeper(tmp_path):
    """Repro 1: YouTube killed after 3 chunks, then `serve` ran 6 minutes and never touched the post."""
    with YouTubeFake() as yt:
        settings = {
            "data_dir": str(tmp_path / "data"),
            "secret_key": SECRET_KEY,
            "publishers": {"youtube": yt.options()},
            "worker": {"lease_seconds": 2},
            "ingest": LOOPBACK.model_dump(mode="json"),
        }
        app = make_app(tmp_path, {"youtube": yt.options()}, worker={"lease_seconds": 2})
        big = vertical_video(tmp_path / "noise.mp4", seconds=0.5, noise=True)
        post = pub.schedule_post(app, make_clip(app, big, duration=0.5), connect(app, yt, "youtube"))
        proc = subprocess.run(
            [sys.executable, "-c", KILL_SCRIPT, json.dumps({"settings": settings, "post_id": post.id})],
            env={**os.environ, "PYTHONPATH": str(TESTS)}, capture_output=True, timeout=60,
        )  # fmt: skip
        assert proc.returncode == 137, proc.stderr.decode()[-2000:]
        stuck = pub.get_post(app, post.id)
        assert stuck.status == PostStatus.UPLOADING and stuck.owner.startswith("cli:") and not yt.videos
        assert sweep(app, send=tasks.enqueue).new_jobs == []  # its lease is still fresh: the owner may be alive
        time.sleep(2.1)
        try:
            report = sweep(app, send=tasks.enqueue)  # what the scheduler (or `clipcast serve`) does every 10 s
            assert report.dead_owners == [stuck.owner] and len(report.new_jobs) == 1
            job = jobs.wait_for_job(app, report.new_jobs[0], timeout=30)
        finally:
            tasks.stop_embedded_worker()
        assert job.status == "succeeded", job.error
        assert len(yt.sessions) == 1 and len(yt.videos) == 1  # the same session, resumed
        assert bytes(next(iter(yt.sessions.values()))["data"]) == big.read_bytes()


def test_retry_after_a_transient_error_succeeds_at_once(tmp_path, tt, video, monkeypatch):
    """Repro 4: recovery of an interrupted upload succeeded only on the last allowed retry (lease vs backoff)."""
    from plugins.publishers.tiktok import TikTokPublisher

    app = make_app(
        tmp_path, {"tiktok": tt.options()}, worker={"max_retries": 1, "min_backoff": 0.05, "max_backoff": 0.1}
    )
    post = pub.schedule_post(app, make_clip(app, video), connect(app, tt, "tiktok"))
    original, calls = TikTokPublisher.upload, []

    def flaky(self, *args, **kw):
        calls.append(1)
        if len(calls) == 1:
            raise RetryableError("TikTok upload of chunk 1/1 keeps failing")
        return original(self, *args, **kw)

    monkeypatch.setattr(TikTokPublisher, "upload", flaky)
    job = jobs.create_job(app, "publish", options={"post_id": post.id})
    try:
        tasks.enqueue(app, job)
        done = jobs.wait_for_job(app, job.id, timeout=30)
    finally:
        tasks.stop_embedded_worker()
    assert done.status == "succeeded" and done.attempts == 2, done.error  # the first retry, not the last
    assert tt.count("POST", "/v2/post/publish/video/init/") == 1 and tt.published() == 1


def test_progress_write_on_a_locked_database_does_not_fail_the_work(tmp_path, monkeypatch):
    """Repro 11: a SQLite lock held over 30 s failed one progress write and threw away the whole render."""
    from sqlalchemy.exc import OperationalError

    app = make_app(tmp_path, {})
    job = jobs.create_job(app, "render")
    reporter = jobs.JobReporter(app, job.id, interval=0)

    def locked(*a, **kw):
        raise OperationalError("UPDATE job", {}, Exception("database is locked"))

    monkeypatch.setattr(jobs, "update_job", locked)
    reporter.progress(40.0, "encoding")  # logged and skipped; the next write tries again
    monkeypatch.undo()
    reporter.progress(60.0, "encoding")
    assert jobs.get_job(app, job.id).progress == 60.0


def test_sweeper_adopts_an_orphan_post_once(tmp_path, video):
    app = make_app(tmp_path, {})
    post = pub.schedule_post(app, make_clip(app, video), make_account(app, "folder", {}))
    pub._update(app, post.id, status=PostStatus.UPLOADING)  # its CLI died before it had a lease to leave
    sent = []
    first = sweep(app, send=lambda a, j: sent.append(j.id))
    assert len(first.new_jobs) == 1 and sent == first.new_jobs
    assert sweep(app, send=lambda a, j: sent.append(j.id)).new_jobs == []  # its job is queued: not twice
