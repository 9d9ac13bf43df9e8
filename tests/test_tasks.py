"""Actors, job states, retries, cancel and time limits with the embedded broker (no Redis).

The stage functions here are small but real: ``cut_analyze`` probes the file with ffprobe and proposes fixed
windows, ``cut_render`` cuts them with ffmpeg (``-re``, so a render takes as long as the clip, which gives tests a
window to cancel or kill it). ``tests/test_worker_redis.py`` imports them for its worker subprocesses.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from core import jobs, scratch, tasks
from core.app import Clipcast
from core.config import Settings, WorkerSettings
from core.errors import ClipcastError
from core.media import ffmpeg
from core.models import Clip, Job, JobStatus, Video

ROOT = Path(__file__).resolve().parent.parent
CLIP_SECONDS = 1.5


# ------------------------------------------------------------------------------------ stage functions


@dataclass
class Result:
    video: Video
    transcript: Any = None
    clips: list[Clip] = field(default_factory=list)
    summary: Any = None


def cut_analyze(app: Any, source: Any, request: Any = None, *, user_id=None, reporter=None, **_: Any) -> Result:
    """Probe, then propose up to 3 windows of CLIP_SECONDS; files named *explode* raise a plugin-style bug."""
    from core.usage import current_context

    Path(app.settings.data_dir, "usage-job.txt").write_text(str(current_context().job_id))  # AI usage's job tag
    reporter.stage("ingest")
    with app.session() as s:
        video = s.get(Video, source) if isinstance(source, int) else None
    if video is None:
        path = Path(source)
        if "explode" in path.name and (path.parent / "broken-plugin").exists():
            raise RuntimeError("the selector plugin crashed")
        info = ffmpeg.probe(path)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        with app.session() as s:
            video = s.exec(select(Video).where(Video.sha256 == digest)).first()
            if video is None:
                video = Video(source=str(path), sha256=digest, duration=info.duration, user_id=user_id)
                s.add(video)
                s.flush()
                s.refresh(video)
    reporter.stage("transcribe")
    for i in range(5):
        reporter.check_cancelled()
        reporter.progress(i * 20, "listening")
        time.sleep(float(os.environ.get("CUT_ANALYZE_SLEEP", "0.02")))
    reporter.stage("select")
    with app.session() as s:
        clips = list(s.exec(select(Clip).where(Clip.video_id == video.id)))
        if not clips:  # idempotent: a second analysis of the same video reuses its clips
            n = min(3, max(1, int(video.duration // CLIP_SECONDS)))
            clips = [
                Clip(video_id=video.id, rank=i, start=i * CLIP_SECONDS, end=(i + 1) * CLIP_SECONDS, score=90 - i)
                for i in range(n)
            ]
            s.add_all(clips)
            s.flush()
            for c in clips:
                s.refresh(c)
    return Result(video=video, clips=clips)


def cut_render(app: Any, clip_id: int, *, options: Any = None, reporter: Any = None) -> Clip:
    """Cut the clip in real time with ffmpeg; skip when its file is already stored. Logs each real render."""
    with app.session() as s:
        clip = s.get(Clip, clip_id)
        video = s.get(Video, clip.video_id)
    key = f"renders/{clip_id}.mp4"
    if clip.video_key == key and app.storage.exists(key):
        return clip
    with open(Path(app.settings.data_dir) / "render-log.txt", "a") as log:
        log.write(f"{clip_id} {os.getpid()}\n")
    # named by this process, so a killed worker's partial file is found and removed
    out = Path(app.settings.data_dir) / "tmp" / f"{scratch.prefix('scratch')}clip-{clip_id}.mp4"
    out.parent.mkdir(parents=True, exist_ok=True)
    ffmpeg.run(
        ["-re", "-ss", f"{clip.start}", "-t", f"{clip.end - clip.start}", "-i", video.source,
         "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(out)],
        duration=clip.end - clip.start, reporter=reporter, what="cut", timeout=120,
    )  # fmt: skip
    app.storage.put_file(key, out)
    out.unlink()
    with app.session() as s:
        clip = s.get(Clip, clip_id)
        clip.video_key, clip.status = key, "rendered"
        s.add(clip)
    return clip


def sleepy_analyze(app: Any, source: Any, request: Any = None, *, reporter=None, **_: Any) -> Result:
    """Stands in for a transcription stuck in C code: the time limit must kill the process."""
    Path(app.settings.data_dir, "sleepy.pid").write_text(str(os.getpid()))
    reporter.stage("transcribe")
    time.sleep(60)
    raise AssertionError("not reached")


STAGES = {"analyze": "test_tasks:cut_analyze", "render": "test_tasks:cut_render"}


# ------------------------------------------------------------------------------------------- fixtures


def make_video(dest: Path, seconds: float = 4.5) -> Path:
    ffmpeg.run(
        ["-f", "lavfi", "-i", f"testsrc2=size=320x240:rate=25:duration={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
         "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", str(dest)],
        timeout=60,
    )  # fmt: skip
    return dest


@pytest.fixture(scope="module")
def short_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("media") / "talk.mp4")


@pytest.fixture
def embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ffmpeg: str) -> Any:
    monkeypatch.setenv("PYTHONPATH", f"{ROOT}{os.pathsep}{ROOT / 'tests'}")

    def build(**worker: Any) -> Clipcast:
        opts = {"stages": STAGES, "min_backoff": 0.05, "max_backoff": 0.2, "max_retries": 1, **worker}
        settings = Settings(data_dir=tmp_path / "data", worker=WorkerSettings(**opts))
        return Clipcast(settings)

    yield build
    tasks.stop_embedded_worker()


def run_job(app: Clipcast, kind: str, timeout: float = 60, **options: Any) -> Any:
    job = jobs.create_job(app, kind, options=options)
    tasks.enqueue(app, job)
    return jobs.wait_for_job(app, job.id, timeout=timeout)


# ----------------------------------------------------------------------------------------------- tests


@pytest.mark.slow
def test_process_job_analyzes_then_renders_every_clip(embedded: Any, short_video: Path) -> None:
    app = embedded(isolate_analyze=False)
    job = run_job(app, "process", source=str(short_video))
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.message == "3 clips rendered" and job.attempts == 1 and job.video_id
    kids = jobs.children(app, job.id)
    assert sorted(k.clip_id for k in kids) == sorted(job.options["clip_ids"])
    assert all(k.status == JobStatus.SUCCEEDED and k.stage == "render" for k in kids)
    with app.session() as s:
        clips = list(s.exec(select(Clip).where(Clip.video_id == job.video_id)))
    assert len(clips) == 3 and all(c.status == "rendered" and app.storage.exists(c.video_key) for c in clips)
    assert ffmpeg.probe(app.storage.local_path(clips[0].video_key)).duration == pytest.approx(CLIP_SECONDS, abs=0.2)

    # At-least-once: the same messages delivered again change nothing and render nothing again.
    log = (app.settings.data_dir / "render-log.txt").read_text().splitlines()
    tasks._state.actors["analyze"].send(job.id)
    for k in kids:
        tasks._state.actors["render"].send(k.id)
    time.sleep(1.0)
    assert (app.settings.data_dir / "render-log.txt").read_text().splitlines() == log
    assert jobs.get_job(app, job.id).attempts == 1


@pytest.mark.slow
def test_analysis_in_a_child_process_reports_progress(embedded: Any, short_video: Path) -> None:
    app = embedded(isolate_analyze=True)
    os.environ["CUT_ANALYZE_SLEEP"] = "0.4"
    try:
        job = jobs.create_job(app, "analyze", options={"source": str(short_video)})
        tasks.enqueue(app, job)
        seen = set()
        deadline = time.monotonic() + 60
        while (row := jobs.get_job(app, job.id)).status not in jobs.FINAL and time.monotonic() < deadline:
            seen.add((row.stage, row.progress))
            time.sleep(0.1)
    finally:
        del os.environ["CUT_ANALYZE_SLEEP"]
    assert row.status == JobStatus.SUCCEEDED, row.error
    assert row.message == "3 clips proposed" and len(row.options["clip_ids"]) == 3
    assert any(stage == "transcribe" and 0 < pct < 100 for stage, pct in seen), seen
    assert (app.settings.data_dir / "usage-job.txt").read_text() == str(job.id)  # usage rows name the job


@pytest.mark.slow
def test_corrupt_input_fails_once_with_stage_and_reason_then_retry_after_fix(
    embedded: Any, short_video: Path, tmp_path: Path
) -> None:
    app = embedded(isolate_analyze=True, max_retries=3)
    bad = tmp_path / "upload.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(3000))
    job = run_job(app, "process", source=str(bad))
    assert job.status == JobStatus.FAILED
    assert job.stage == "ingest" and "not a readable video" in job.error
    assert job.attempts == 1  # a PermanentError is not retried

    bad.write_bytes(short_video.read_bytes())  # the user fixes the file
    app.settings.worker.isolate_analyze = False  # (saves a second child process; the first one proved the path)
    tasks.retry_job(app, job.id)
    job = jobs.wait_for_job(app, job.id, timeout=60)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.attempts == 2 and job.error is None


@pytest.mark.slow
def test_a_crashing_plugin_is_retried_then_failed_with_the_last_error(
    embedded: Any, short_video: Path, tmp_path: Path
) -> None:
    app = embedded(isolate_analyze=False, max_retries=1)
    src = tmp_path / "explode.mp4"
    src.write_bytes(short_video.read_bytes())
    (tmp_path / "broken-plugin").touch()
    job = run_job(app, "process", source=str(src))
    assert job.status == JobStatus.FAILED
    assert job.stage == "ingest" and job.error == "RuntimeError: the selector plugin crashed"
    assert job.attempts == 2  # first try + max_retries

    with pytest.raises(ClipcastError, match="only failed or cancelled jobs"):
        tasks.retry_job(app, jobs.create_job(app, "analyze").id)
    (tmp_path / "broken-plugin").unlink()  # the plugin is fixed
    tasks.retry_job(app, job.id)
    job = jobs.wait_for_job(app, job.id, timeout=60)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert len(jobs.children(app, job.id)) == 3


def test_cancel_kills_the_running_ffmpeg(embedded: Any, tmp_path: Path) -> None:
    app = embedded(isolate_analyze=False)
    video = make_video(tmp_path / "long.mp4", seconds=40)
    with app.session() as s:
        row = Video(source=str(video), sha256="x", duration=40)
        s.add(row)
        s.flush()
        clip = Clip(video_id=row.id, start=0, end=30)
        s.add(clip)
        s.flush()
        clip_id = clip.id
    job = jobs.create_job(app, "render", clip_id=clip_id)
    tasks.enqueue(app, job)
    deadline = time.monotonic() + 20
    while jobs.get_job(app, job.id).progress <= 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert jobs.get_job(app, job.id).status == JobStatus.RUNNING
    # The slow ffmpeg writes under this test's tmp_path, so a parallel test worker's ffmpeg never matches.
    ours = str(tmp_path)
    assert subprocess.run(["pgrep", "-f", ours], capture_output=True).returncode == 0
    started = time.monotonic()
    jobs.cancel_job(app, job.id)
    job = jobs.wait_for_job(app, job.id, timeout=10)
    assert job.status == JobStatus.CANCELLED
    assert time.monotonic() - started < 3  # ffmpeg was killed, not waited for (the clip takes 30 s)
    assert subprocess.run(["pgrep", "-f", ours], capture_output=True).returncode == 1


def test_queued_job_cancels_at_once_and_never_runs(embedded: Any, short_video: Path) -> None:
    app = embedded()
    job = jobs.create_job(app, "analyze", options={"source": str(short_video)})
    assert jobs.cancel_job(app, job.id).status == JobStatus.CANCELLED
    tasks.enqueue(app, job)  # a message that arrives anyway is ignored
    time.sleep(0.5)
    job = jobs.get_job(app, job.id)
    assert job.status == JobStatus.CANCELLED and job.attempts == 0


@pytest.mark.slow
def test_time_limit_kills_a_stuck_analysis_process(embedded: Any, short_video: Path) -> None:
    app = embedded(isolate_analyze=True, analyze_time_limit=8, max_retries=0)
    app.settings.worker.stages["analyze"] = "test_tasks:sleepy_analyze"
    job = run_job(app, "analyze", timeout=30, source=str(short_video))
    assert job.status == JobStatus.FAILED
    assert job.stage == "transcribe" and "time limit (8 s)" in job.error
    pid = int((app.settings.data_dir / "sleepy.pid").read_text())
    time.sleep(0.3)
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()


def test_render_concurrency_slots_are_machine_wide(embedded: Any) -> None:
    app = embedded(concurrency={"render": 1})
    order: list[str] = []

    def hold(name: str) -> None:
        with tasks.queue_slot(app, "render"):
            order.append(f"{name}+")
            time.sleep(0.3)
            order.append(f"{name}-")

    import threading

    threads = [threading.Thread(target=hold, args=(n,)) for n in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert order in (["a+", "a-", "b+", "b-"], ["b+", "b-", "a+", "a-"])


def test_job_reporter_throttles_writes(embedded: Any) -> None:
    app = embedded()
    job = jobs.create_job(app, "render")
    reporter = jobs.JobReporter(app, job.id, interval=0.5)
    reporter.stage("render")
    writes = []
    original = jobs.update_job

    def counting(*a: Any, **kw: Any) -> Any:
        writes.append(kw)
        return original(*a, **kw)

    jobs.update_job = counting  # type: ignore[assignment]
    try:
        for i in range(100):
            reporter.progress(i * 0.5, "x")
        reporter.progress(100, "done")
    finally:
        jobs.update_job = original  # type: ignore[assignment]
    assert len(writes) == 1  # the first 100 calls fall inside one interval; 100 % always goes through
    assert jobs.get_job(app, job.id).progress == 100


def test_unknown_job_and_kind_errors(embedded: Any) -> None:
    app = embedded()
    with pytest.raises(ClipcastError, match="there is no job 999"):
        jobs.cancel_job(app, 999)
    with pytest.raises(ClipcastError, match="unknown job kind"):
        jobs.create_job(app, "transmogrify")


@pytest.mark.slow
def test_due_post_is_dispatched_and_published_once_through_the_publish_queue(embedded: Any, short_video: Path) -> None:
    """Scheduler dispatch → publish actor → publish_post with the folder publisher (a real copy into an outbox)."""
    from core import scheduler
    from core.models import Post, SocialAccount
    from core.pipeline.publish import schedule_post

    app = embedded(isolate_analyze=False)
    job = run_job(app, "process", source=str(short_video))
    assert job.status == JobStatus.SUCCEEDED, job.error
    with app.session() as s:
        account = SocialAccount(platform="folder", name="outbox", remote_id="outbox")
        s.add(account)
        s.flush()
        account_id = account.id
    post = schedule_post(app, job.options["clip_ids"][0], account_id, at=datetime.now(UTC))
    assert scheduler.dispatch_due(app) == [post.id]
    with app.session() as s:
        publish = s.exec(select(Job).where(Job.kind == "publish")).one()
    publish = jobs.wait_for_job(app, publish.id, timeout=60)
    assert publish.status == JobStatus.SUCCEEDED, publish.error
    with app.session() as s:
        row = s.get(Post, post.id)
    assert row.status == "published" and row.remote_id
    outbox = [p for p in (app.settings.data_dir / "outbox").rglob("*.mp4")]
    assert len(outbox) == 1

    tasks._state.actors["publish"].send(publish.id)  # a redelivered message: nothing happens twice
    time.sleep(0.5)
    assert len(list((app.settings.data_dir / "outbox").rglob("*.mp4"))) == 1
    assert scheduler.dispatch_due(app) == []


@pytest.mark.slow
def test_embedded_worker_resends_jobs_left_unfinished_by_a_restart(embedded: Any, short_video: Path) -> None:
    app = embedded(isolate_analyze=False)
    queued = jobs.create_job(app, "analyze", options={"source": str(short_video)})
    interrupted = jobs.create_job(app, "analyze", options={"source": str(short_video)})
    jobs.start_attempt(app, interrupted.id)  # it was running when the process stopped...
    jobs.update_job(app, interrupted.id, owner="serve:old-host:1:dead")  # ...in the previous process
    tasks.start_embedded_worker(app)
    for job_id, attempts in ((queued.id, 1), (interrupted.id, 2)):
        job = jobs.wait_for_job(app, job_id, timeout=60)
        assert job.status == JobStatus.SUCCEEDED and job.attempts == attempts, job.error
