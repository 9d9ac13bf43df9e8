"""Through a real Redis broker and ``clipcast worker`` subprocesses: fan-out, progress, kill -9, CLI.

Each test uses its own Redis namespace; the workers and the test share one SQLite database. The stages are the
ffmpeg-backed ones from ``test_tasks`` (see there), except ``test_real_pipeline`` which runs the project's own
analyze and render.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml
from sqlmodel import select
from test_tasks import make_video

from core import jobs, tasks
from core.app import Clipcast
from core.config import load_settings
from core.errors import ConfigError, InputError
from core.media import ffmpeg
from core.models import Clip, JobStatus

ROOT = Path(__file__).resolve().parent.parent
CLIPCAST = [sys.executable, "-c", "from core.cli import main; main()"]


class Cluster:
    """A config file, an environment and worker subprocesses for one test."""

    def __init__(self, tmp: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch, **worker: Any) -> None:
        self.namespace = f"cc-test-{uuid.uuid4().hex[:8]}"
        self.redis_url = redis_url
        opts = {
            "namespace": self.namespace,
            "stages": {"analyze": "test_tasks:cut_analyze", "render": "test_tasks:cut_render"},
            "heartbeat_timeout": 3,
            "lease_seconds": 3,
            "maintenance_chance": 1_000_000,
            "min_backoff": 0.2,
            "max_backoff": 1,
            "max_retries": 2,
            "isolate_analyze": False,
            **worker,
        }
        self.config = tmp / "clipcast.yaml"
        self.config.write_text(yaml.safe_dump({"worker": opts}))
        self.env = {
            **os.environ,
            "REDIS_URL": redis_url,
            "CLIPCAST_DATA_DIR": str(tmp / "data"),
            "CLIPCAST_CONFIG": str(self.config),
            "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'tests'}",
        }
        for key in ("REDIS_URL", "CLIPCAST_DATA_DIR", "CLIPCAST_CONFIG"):
            monkeypatch.setenv(key, self.env[key])
        self.app = Clipcast(load_settings())
        self.workers: list[subprocess.Popen[bytes]] = []

    def start_worker(self, *args: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [*CLIPCAST, "worker", *args],
            env=self.env,
            cwd=ROOT,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.workers.append(proc)
        return proc

    def wait_for_workers(self, count: int, timeout: float = 60) -> None:
        """Until ``count`` worker processes beat in Redis (each has its own broker id)."""
        client = redis.Redis.from_url(self.redis_url)
        deadline = time.monotonic() + timeout
        while client.zcard(f"{self.namespace}:__heartbeats__") < count:
            assert time.monotonic() < deadline, "the workers did not start"
            time.sleep(0.2)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*CLIPCAST, *args], env=self.env, cwd=ROOT, capture_output=True, text=True, timeout=60)

    def close(self) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        tasks.stop_embedded_worker()
        client = redis.Redis.from_url(self.redis_url)
        keys = list(client.scan_iter(f"{self.namespace}:*"))
        if keys:
            client.delete(*keys)


@pytest.fixture
def cluster(tmp_path: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch, ffmpeg: str) -> Iterator[Any]:
    made: list[Cluster] = []

    def build(**worker: Any) -> Cluster:
        made.append(Cluster(tmp_path, redis_url, monkeypatch, **worker))
        return made[-1]

    yield build
    for c in made:
        c.close()


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("media") / "talk.mp4", seconds=4.5)


def watch(app: Clipcast, job_id: int, timeout: float = 90) -> tuple[Any, set[tuple[str, str, float]]]:
    """Wait for a job, recording (kind, stage, progress) of it and its children as they change."""
    seen: set[tuple[str, str, float]] = set()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = jobs.get_job(app, job_id)
        for row in [job, *jobs.children(app, job_id)]:
            seen.add((row.kind, row.stage, row.progress))
        if job.status in jobs.FINAL:
            return job, seen
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish: {jobs.get_job(app, job_id)}")


@pytest.mark.slow
def test_worker_process_analyzes_and_renders_with_visible_progress(cluster: Any, video: Path) -> None:
    # One render slot per process and on the machine: a process holds at most one render message, so the
    # second process takes the next clip while the first renders (with 3 slots one process may take all 3).
    c = cluster(concurrency={"analyze": 1, "render": 1, "publish": 1})
    supervisor = c.start_worker("--processes", "2", "--threads", "1")
    c.wait_for_workers(2)
    job = jobs.create_job(c.app, "process", options={"source": str(video)})
    tasks.enqueue(c.app, job)
    job, seen = watch(c.app, job.id)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert any(kind == "render" and 0 < pct < 100 for kind, _, pct in seen), seen  # ffmpeg progress, live
    assert any(kind == "process" and stage == "render" and 0 < pct < 100 for kind, stage, pct in seen), seen
    kids = jobs.children(c.app, job.id)
    assert len(kids) == 3 and all(k.status == JobStatus.SUCCEEDED for k in kids)

    assert {j.id for j in jobs.list_jobs(c.app)} == {job.id, *(k.id for k in kids)}
    pids = {line.split()[1] for line in (c.app.settings.data_dir / "render-log.txt").read_text().splitlines()}
    assert len(pids) == 2  # the renders spread over both worker processes

    supervisor.send_signal(signal.SIGTERM)  # graceful stop: children finish and exit, then the supervisor
    assert supervisor.wait(timeout=60) == 0


@pytest.mark.slow
def test_kill_9_during_rendering_then_another_worker_finishes_once(cluster: Any, tmp_path: Path) -> None:
    c = cluster(concurrency={"render": 1})
    long_video = make_video(tmp_path / "long.mp4", seconds=9)  # 3 clips; each render takes 1.5 s (ffmpeg -re)
    first = c.start_worker("--threads", "2")
    job = jobs.create_job(c.app, "process", options={"source": str(long_video)})
    tasks.enqueue(c.app, job)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        rendering = [k for k in jobs.children(c.app, job.id) if k.status == "running" and k.progress > 0]
        if rendering:
            break
        time.sleep(0.05)
    assert rendering, "no render started"
    os.killpg(first.pid, signal.SIGKILL)  # the machine is lost: worker and its ffmpeg die mid-render
    first.wait()
    victim = rendering[0]
    time.sleep(0.5)
    assert jobs.get_job(c.app, victim.id).status == JobStatus.RUNNING  # nobody else has it yet

    c.start_worker("--threads", "2")
    job, _ = watch(c.app, job.id)
    assert job.status == JobStatus.SUCCEEDED, job.error
    kids = jobs.children(c.app, job.id)
    assert len(kids) == 3 and all(k.status == JobStatus.SUCCEEDED for k in kids)
    assert jobs.get_job(c.app, victim.id).attempts == 2  # taken over after the heartbeat timeout
    with c.app.session() as s:
        clips = list(s.exec(select(Clip).where(Clip.video_id == job.video_id)))
    assert len(clips) == 3 and len({cl.video_key for cl in clips}) == 3
    assert sorted(c.app.storage.list("renders/")) == sorted(cl.video_key for cl in clips)
    renders = (c.app.settings.data_dir / "render-log.txt").read_text().split()[::2]
    assert sorted(renders).count(str(victim.clip_id)) == 2 and len(renders) == 4  # only the victim re-rendered


@pytest.mark.slow
def test_failed_stage_is_visible_then_retry_completes(cluster: Any, video: Path, tmp_path: Path) -> None:
    c = cluster(max_retries=1)
    c.start_worker("--threads", "1", "--queues", "analyze,render")
    src = tmp_path / "explode.mp4"
    src.write_bytes(video.read_bytes())
    (tmp_path / "broken-plugin").touch()
    job = jobs.create_job(c.app, "process", options={"source": str(src)})
    tasks.enqueue(c.app, job)
    job, _ = watch(c.app, job.id)
    assert job.status == JobStatus.FAILED and job.attempts == 2
    assert job.stage == "ingest" and job.error == "RuntimeError: the selector plugin crashed"
    shown = json.loads(c.cli("jobs", "--status", "failed", "--json").stdout)  # what a user sees
    assert [(row["id"], row["stage"], row["error"]) for row in shown] == [(job.id, "ingest", job.error)]

    (tmp_path / "broken-plugin").unlink()
    tasks.retry_job(c.app, job.id)  # `clipcast jobs retry ID` (tests/test_jobs.py runs the command itself)
    job, _ = watch(c.app, job.id)
    assert job.status == JobStatus.SUCCEEDED and job.attempts == 3


def test_worker_refuses_to_start_without_redis(app: Clipcast) -> None:
    with pytest.raises(ConfigError, match="needs Redis"):
        tasks.run_worker(app)
    tasks.stop_embedded_worker()


def test_unknown_queue_is_a_clear_error(cluster: Any) -> None:
    c = cluster()
    with pytest.raises(InputError, match="unknown queue\\(s\\): renders"):
        tasks.run_worker(c.app, queues=["renders"])


@pytest.mark.slow
def test_real_pipeline_through_redis_and_a_worker_process(cluster: Any, tmp_path: Path) -> None:
    """The project's own ingest → faster-whisper (bundled tiny.en, in the killable child) → select → render."""
    import shutil

    from conftest import need

    from core.media.synth import talk_video

    need(shutil.which("espeak-ng") is not None, "espeak-ng is not installed (scripts/install-system-deps.sh)")
    video = talk_video(
        [
            "Welcome to the show. Today we talk about how small teams ship software every single week.",
            "The first secret is simple. Write the test before you fix the bug, and keep every change small.",
            "The second secret is to measure everything. If you cannot measure it, you cannot improve it.",
        ],
        tmp_path / "talk.mp4",
        size="640x360",
    )
    c = cluster(stages={}, isolate_analyze=True, max_retries=0)
    c.start_worker("--threads", "2")
    job = jobs.create_job(
        c.app,
        "process",
        options={
            "source": str(video),
            "request": {"clips": 2, "min_seconds": 3, "max_seconds": 12},
            "render_options": {"reframe": "crop", "preset": "ultrafast", "remove_silence": False},
        },
    )
    tasks.enqueue(c.app, job)
    job, seen = watch(c.app, job.id, timeout=240)
    assert job.status == JobStatus.SUCCEEDED, job.error
    stages = {stage for kind, stage, _ in seen if kind == "process"}
    assert {"ingest", "transcribe", "select", "render"} <= stages, stages
    assert any(kind == "process" and stage == "transcribe" and 0 < pct < 100 for kind, stage, pct in seen) or any(
        kind == "render" and 0 < pct < 100 for kind, _, pct in seen
    ), seen
    with c.app.session() as s:
        clips = list(s.exec(select(Clip).where(Clip.video_id == job.video_id)))
    assert 1 <= len(clips) <= 2 and len(jobs.children(c.app, job.id)) == len(clips)
    for clip in clips:
        assert clip.status == "rendered" and clip.text
        info = ffmpeg.probe(c.app.storage.local_path(clip.video_key))
        assert info.height == 1920 and 3 <= info.duration <= 12.5


@pytest.mark.slow
def test_one_worker_renders_as_many_clips_at_once_as_it_has_render_slots(cluster: Any, video: Path) -> None:
    """Dramatiq counts a message being processed against the consumer's prefetch: with a prefetch of 1 a worker
    process rendered one clip at a time whatever ``worker.concurrency.render`` said. The heavy pools' prefetch
    equals their threads (the slots), so the three clips of a video render together."""
    c = cluster(concurrency={"analyze": 1, "render": 3, "publish": 1})
    c.start_worker("--processes", "1", "--threads", "1")
    c.wait_for_workers(1)
    job = jobs.create_job(c.app, "process", options={"source": str(video)})
    tasks.enqueue(c.app, job)
    peak, deadline = 0, time.monotonic() + 120
    while jobs.get_job(c.app, job.id).status not in jobs.FINAL:
        assert time.monotonic() < deadline, "the process job did not finish"
        kids = jobs.children(c.app, job.id)
        peak = max(peak, sum(1 for k in kids if k.status == JobStatus.RUNNING and k.stage == "render"))
        time.sleep(0.05)
    assert jobs.get_job(c.app, job.id).status == JobStatus.SUCCEEDED
    assert peak >= 2, f"at most {peak} render ran at once in one worker with three render slots"
