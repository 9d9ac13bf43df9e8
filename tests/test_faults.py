"""Fault injection on the distributed stack (private redis-server, worker and scheduler subprocesses, the
platform fakes): kill -9 at random moments, restart, and nothing is lost, nothing twice, nothing left behind.

Small in CI (``CLIPCAST_FAULT_STAGES``, ``CLIPCAST_FAULT_PER_STAGE``: four stages, one injection each);
``bench/fault_injection.py`` runs every stage at any size.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import need

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def rig(tmp_path: Path, ffmpeg: str):
    need(shutil.which("redis-server") is not None, "redis-server is not installed")
    from fakes.fault_rig import Rig

    made = Rig(tmp_path, seed=int(os.environ.get("CLIPCAST_FAULT_SEED", "13")))
    yield made
    made.close()


def assert_exactly_once(verdict: dict) -> None:
    assert verdict["jobs_not_succeeded"] == [], verdict
    assert verdict["posts_not_published"] == [], verdict
    assert verdict["duplicates"] == {} and verdict["lost"] == {}, verdict
    assert verdict["leftovers"] == [], verdict
    assert verdict["orphan_children"] == [], verdict


#: The CI size: a few stages, one injection each (``bench/fault_injection.py --per-stage 50`` for the full set).
CI_STAGES = "worker:render,worker:publish:tiktok,scheduler:dispatch"


@pytest.mark.slow
def test_kill_inside_each_stage_nothing_lost_twice_or_left(rig) -> None:
    """kill -9 a process once it is really inside a stage (an ffmpeg child of the worker rendering, an upload
    request in flight at the platform fake, due posts the scheduler has not sent), start a replacement: every
    job ends, every post is published exactly once with the bytes it was scheduled with, nothing is left."""
    from fakes.fault_stages import run_targeted

    stages = os.environ.get("CLIPCAST_FAULT_STAGES", CI_STAGES).split(",")
    run = run_targeted(rig, stages, int(os.environ.get("CLIPCAST_FAULT_PER_STAGE", "1")), lanes=False)
    table, rows = run.table()
    print(table)
    assert run.problems() == [], run.problems()
    for stage, row in rows.items():
        assert row["tried"] >= 1 and not any(row[k] for k in ("leftovers", "orphans")), (stage, row)
    assert sum(r["injections"] for r in rows.values()) >= len(stages) - 1, table  # landed inside the stage
    assert_exactly_once(rig.verdict())
    # repro 11: a graceful stop logged 9 CRITICAL tracebacks (a worker; the schedulers, active and standing by)
    for role in (run.live("worker")[0], *run.live("scheduler")):
        stopping = rig.stop_gracefully(role)
        assert "Traceback" not in stopping and "CRITICAL" not in stopping, (role, stopping)


@pytest.mark.slow
def test_broker_outage_mid_run_every_job_still_ends(rig) -> None:
    """Repro 9: Redis restarted without its data; queued messages were never re-sent (jobs queued for good)."""
    from core import jobs, tasks

    rig.start("scheduler")
    rig.start("worker")
    rig.new_posts()
    first = rig.new_process_job()
    time.sleep(0.3)
    rig.redis.stop()  # every message in Redis is gone with it
    during = jobs.create_job(rig.app, "analyze", options={"source": str(rig.source)})
    tasks.enqueue(rig.app, during)  # what the API does during the outage: no error, the row stays queued
    assert jobs.get_job(rig.app, during.id).status == "queued"
    time.sleep(1.0)
    rig.redis.start()
    rig.wait_until(rig.settled, 60, "every job to end after the outage")
    verdict = rig.verdict()
    assert_exactly_once(verdict)
    assert jobs.get_job(rig.app, first).status == "succeeded"


def test_analysis_child_dies_with_its_parent(tmp_path: Path) -> None:
    """Repro 11: the analysis child outlived its killed worker and kept writing to its job."""
    parent = subprocess.Popen(
        [sys.executable, "-c",
         "import subprocess, sys; c = subprocess.Popen([sys.executable, '-c', "
         "'import os, time; from core.tasks.child import die_with_parent; die_with_parent(os.getppid()); "
         "print(os.getpid(), flush=True); time.sleep(60)'], stdout=subprocess.PIPE, start_new_session=True); "
         "print(c.stdout.readline().decode().strip(), flush=True); c.wait()"],
        stdout=subprocess.PIPE, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 5
    while Path(f"/proc/{child}").exists() and Path(f"/proc/{child}/stat").read_text().split()[2] != "Z":
        assert time.monotonic() < deadline, "the child outlived its parent"
        time.sleep(0.05)


def test_api_during_a_redis_outage_answers_and_loses_nothing(tmp_path: Path, ffmpeg: str) -> None:
    """Repro 9: during a broker outage the API answered 500 after writing a job row that was never sent. Now
    every route that sends work answers as usual; the rows stay queued for the reconciler."""
    from api_support import client, make_user
    from fakes.fault_rig import free_port
    from fakes.publish_env import make_account, make_clip, vertical_video
    from test_tasks import make_video

    from core import jobs
    from core.app import Clipcast
    from core.config import Settings
    from core.tasks.state import _state

    port = free_port()  # nothing listens there: Redis is down
    app = Clipcast(Settings(data_dir=tmp_path / "data", redis_url=f"redis://127.0.0.1:{port}/0"))
    try:
        alice = make_user(app, "alice@example.com", admin=True)
        api = client(app)
        source = make_video(tmp_path / "talk.mp4", seconds=2.0)
        with open(source, "rb") as f:
            up = api.post("/api/videos", files={"file": ("talk.mp4", f, "video/mp4")}, headers=alice.headers)
        assert up.status_code == 201, up.text
        job = jobs.get_job(app, up.json()["job"]["id"])
        assert job.status == "queued"  # written, not sent: the reconciler sends it when Redis is back
        clip = make_clip(app, vertical_video(tmp_path / "v.mp4"))
        post = api.post(
            "/api/posts", json={"clip_id": clip, "account_id": make_account(app, "folder", {})}, headers=alice.headers
        )
        assert post.status_code == 201, post.text
        jobs.fail(app, job.id, "for the retry below")
        again = api.post(f"/api/jobs/{job.id}/retry", headers=alice.headers)
        assert again.status_code < 500, again.text
        login = api.post("/api/auth/login", json={"email": "alice@example.com", "password": "correct horse battery"})
        assert login.status_code == 200, login.text  # the login rate limit falls back to this process
    finally:
        _state.app = _state.broker = None


def test_an_encode_dies_with_its_worker(tmp_path: Path, ffmpeg: str) -> None:
    """Repro 11 (orphans): a worker killed while ffmpeg renders must not leave the encode running on its own."""
    from fakes.fault_rig import children_of, still_running

    code = (
        "import threading, time; from core.media import ffmpeg; "
        "threading.Thread(target=ffmpeg.run, args=(['-re', '-f', 'lavfi', '-i', 'testsrc=duration=60', '-f', "
        "'null', '-'],), kwargs={'timeout': 90}).start(); time.sleep(60)"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    deadline = time.monotonic() + 30
    while not (kids := children_of(parent.pid)):
        assert time.monotonic() < deadline, "ffmpeg did not start"
        time.sleep(0.05)
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 5
    while any(still_running(pid, start) for pid, start in kids):
        assert time.monotonic() < deadline, "the encode outlived its worker"
        time.sleep(0.05)
