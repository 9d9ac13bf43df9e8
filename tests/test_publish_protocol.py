"""The publish protocol with the folder publisher (no network): states, scheduling rules, cancel, hooks
(before_publish edit/veto, on_event), the upload lease and recovery of a post left in 'uploading'."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fakes.publish_env import make_account, make_app, make_clip, reset_logging, vertical_video

from core.contracts import PostStatus
from core.errors import InputError, PublishVetoed, RetryableError
from core.hookspecs import hookimpl
from core.models import Clip, ClipStatus, utcnow
from core.pipeline import publish as pub
from plugins.publishers.folder import FolderPublisher


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return vertical_video(tmp_path_factory.mktemp("pp") / "vertical.mp4")


@pytest.fixture
def env(tmp_path, video):
    app = make_app(tmp_path, {"folder": {"path": str(tmp_path / "out")}})
    return app, make_clip(app, video), make_account(app, "folder", {}), tmp_path / "out"


def written(out):
    return sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) if out.exists() else []


def test_happy_path_and_clip_status(env):
    app, clip_id, account_id, out = env
    at = datetime.now(UTC) + timedelta(hours=2)
    post = pub.schedule_post(app, clip_id, account_id, at=at)
    assert post.status == PostStatus.SCHEDULED and abs((post.scheduled_at - at).total_seconds()) < 1
    assert pub.due_posts(app) == []
    assert [p.id for p in pub.due_posts(app, now=at + timedelta(seconds=1))] == [post.id]
    done = pub.publish_post(app, post.id)
    assert done.status == PostStatus.PUBLISHED and done.attempts == 1 and done.published_at
    with app.session() as s:
        assert s.get(Clip, clip_id).status == ClipStatus.PUBLISHED
    assert pub.publish_post(app, post.id).attempts == 1  # a redelivered message changes nothing
    assert len(written(out)) == 1


def test_schedule_refuses_bad_input(env, tmp_path):
    app, clip_id, account_id, _out = env
    with pytest.raises(InputError, match="no clip 999"):
        pub.schedule_post(app, 999, account_id)
    with pytest.raises(InputError, match="no account 999"):
        pub.schedule_post(app, clip_id, 999)
    with app.session() as s:
        raw = Clip(video_id=1, start=0, end=1)
        s.add(raw)
        s.flush()
        raw_id = raw.id
    with pytest.raises(InputError, match="has not been rendered"):
        pub.schedule_post(app, raw_id, account_id)
    first = pub.schedule_post(app, clip_id, account_id)
    with pytest.raises(InputError, match=f"already scheduled .*post {first.id}"):
        pub.schedule_post(app, clip_id, account_id)


def test_cancel(env):
    app, clip_id, account_id, out = env
    post = pub.schedule_post(app, clip_id, account_id)
    assert pub.cancel_post(app, post.id).status == PostStatus.CANCELLED
    assert pub.publish_post(app, post.id).status == PostStatus.CANCELLED and written(out) == []
    again = pub.schedule_post(app, clip_id, account_id)  # a cancelled post does not block a new one
    pub.publish_post(app, again.id)
    with pytest.raises(InputError, match="published and cannot be cancelled"):
        pub.cancel_post(app, again.id)


class Hooks:
    def __init__(self, veto: bool = False) -> None:
        self.veto = veto
        self.events: list[str] = []

    @hookimpl
    def before_publish(self, request, account):
        if self.veto:
            raise PublishVetoed("captions mention a competitor")
        request.caption = request.caption.upper()

    @hookimpl
    def on_event(self, event):
        self.events.append(f"{event.name}:{event.post_id}")


def test_before_publish_edits_and_on_event(env):
    app, clip_id, account_id, out = env
    hooks = Hooks()
    app.plugins.pm.register(hooks)
    post = pub.publish_post(app, pub.schedule_post(app, clip_id, account_id).id)
    assert (out / written(out)[0] / "caption.txt").read_text().startswith("WATCH THIS")
    assert post.caption == "WATCH THIS" and hooks.events == [f"post.published:{post.id}"]


def test_before_publish_veto_fails_the_post(env):
    app, clip_id, account_id, out = env
    hooks = Hooks(veto=True)
    app.plugins.pm.register(hooks)
    post = pub.publish_post(app, pub.schedule_post(app, clip_id, account_id).id)
    assert post.status == PostStatus.FAILED and "vetoed: captions mention a competitor" in post.error
    assert written(out) == [] and hooks.events == [f"post.failed:{post.id}"]


def test_retry_only_without_remote_id(env, monkeypatch):
    app, clip_id, account_id, _out = env
    post = pub.schedule_post(app, clip_id, account_id)
    with pytest.raises(InputError, match="only failed or interrupted posts"):
        pub.retry_post(app, post.id)
    monkeypatch.setattr(FolderPublisher, "preflight", lambda *a: ["disk full"])
    failed = pub.publish_post(app, post.id)
    assert failed.status == PostStatus.FAILED and failed.error == "preflight: disk full"
    monkeypatch.undo()
    assert pub.retry_post(app, post.id).status == PostStatus.SCHEDULED
    assert pub.publish_post(app, post.id).status == PostStatus.PUBLISHED
    pub._update(app, post.id, status=PostStatus.FAILED)
    with pytest.raises(InputError, match="retrying could post twice"):
        pub.retry_post(app, post.id)


def test_check_before_remote_id_is_refused(env):
    app, clip_id, account_id, _out = env
    post = pub.schedule_post(app, clip_id, account_id)
    with pytest.raises(InputError, match="has not reached the platform"):
        pub.check_post(app, post.id)


def test_transient_failure_keeps_uploading_then_recovers_once(env, monkeypatch):
    app, clip_id, account_id, out = env
    post = pub.schedule_post(app, clip_id, account_id)
    original = FolderPublisher.publish

    def flaky(self, request, account):
        raise RetryableError("disk busy")

    monkeypatch.setattr(FolderPublisher, "publish", flaky)
    with pytest.raises(RetryableError):
        pub.publish_post(app, post.id)
    assert pub.get_post(app, post.id).status == PostStatus.UPLOADING
    monkeypatch.setattr(FolderPublisher, "publish", original)
    row = pub.get_post(app, post.id)
    assert row.owner is None and row.lease_until is None  # released at once: the retry needs no lease to run out
    live = utcnow() + timedelta(seconds=60)
    pub._update(app, post.id, owner="worker:elsewhere:1:abc", lease_until=live)
    assert pub.publish_post(app, post.id).status == PostStatus.UPLOADING  # a live owner's post is left alone
    assert written(out) == []
    pub._update(app, post.id, lease_until=utcnow() - timedelta(seconds=1))  # that owner died
    done = pub.publish_post(app, post.id)
    assert done.status == PostStatus.PUBLISHED and done.attempts == 1 and len(written(out)) == 1
    assert pub.get_post(app, post.id).owner is None


def test_recovery_finds_work_the_dead_worker_finished(env, monkeypatch):
    app, clip_id, account_id, out = env
    post = pub.schedule_post(app, clip_id, account_id)
    original = FolderPublisher.publish

    def write_then_die(self, request, account):
        original(self, request, account)
        raise SystemExit(137)

    monkeypatch.setattr(FolderPublisher, "publish", write_then_die)
    with pytest.raises(SystemExit):
        pub.publish_post(app, post.id)
    monkeypatch.setattr(FolderPublisher, "publish", lambda *a: pytest.fail("must not publish again"))
    done = pub.publish_post(app, post.id)
    assert done.status == PostStatus.PUBLISHED and len(written(out)) == 1


def test_cli_accounts_publish_posts(tmp_path, video):
    from typer.testing import CliRunner

    from core.cli import app as cli
    from core.cli.common import state

    app = make_app(tmp_path, {})
    clip_id = make_clip(app, video)
    config = tmp_path / "clipcast.yaml"
    config.write_text(
        f"data_dir: {tmp_path / 'data'}\nsecret_key: test-secret-key-that-is-long-enough\n"
        f"publishers:\n  folder:\n    path: {tmp_path / 'out'}\n"
    )
    state._app = None
    runner = CliRunner()

    def run(*args: str):
        try:
            result = runner.invoke(cli, ["--config", str(config), *args])
        finally:
            state._app = None
            reset_logging()
        return result

    assert "connected folder account outbox as id 1" in run("accounts", "connect", "folder", "--name", "outbox").output
    assert "outbox" in run("accounts").output
    later = run("publish", str(clip_id), "--account", "1", "--at", "+2h")
    assert later.exit_code == 0 and "scheduled for" in later.output
    assert "scheduled" in run("posts", "--json").output
    assert "cancelled" in run("posts", "cancel", "1").output
    now = run("publish", str(clip_id), "--account", "1", "--at", "now")
    assert now.exit_code == 0 and "post 2 published" in now.output and "file://" in now.output
    bad = run("publish", str(clip_id), "--account", "1", "--at", "tomorrow-ish")
    assert bad.exit_code != 0
