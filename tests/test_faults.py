"""Fault injection on the distributed stack (private redis-server, worker and scheduler subprocesses, the
platform fakes): kill -9 at random moments, restart, and nothing is lost, nothing twice, nothing left behind.

Small in CI (``CLIPCAST_FAULT_CYCLES``, default 2 rounds); ``bench/fault_injection.py`` runs it at any size.
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


@pytest.mark.slow
def test_kill_worker_and_scheduler_at_random_moments(rig) -> None:
    from fakes.fault_rig import run_faults

    verdict = run_faults(rig, cycles=int(os.environ.get("CLIPCAST_FAULT_CYCLES", "2")))
    print("fault injections:", rig.tally.injections, "takeover s:", rig.tally.takeover_s, "verdict:", verdict)
    assert_exactly_once(verdict)
    assert sum(verdict["posts"].values()) >= 5 and verdict["jobs"] >= 5
    stopping = rig.stop_gracefully("worker")  # repro 11: a graceful stop logged 9 CRITICAL tracebacks
    assert "Traceback" not in stopping and "CRITICAL" not in stopping, stopping


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
