"""``clipcast worker``: run Dramatiq workers on the Redis queues.

``--processes N`` starts N worker processes (each with ``--threads M``) and restarts one that dies; a process
killed mid-job leaves its message unacknowledged, and another worker takes it after the heartbeat timeout.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import typer

from core.cli.common import console, state
from core.errors import InputError
from core.tasks import QUEUES


def worker(
    queues: str = typer.Option(",".join(QUEUES), "--queues", "-Q", help="comma-separated: analyze,render,publish"),
    processes: int = typer.Option(1, "--processes", "-p", min=1, max=64, help="worker processes"),
    threads: int = typer.Option(4, "--threads", "-t", min=1, max=64, help="threads per process"),
) -> None:
    """Take work from the analyze/render/publish queues (needs Redis: redis_url or REDIS_URL)."""
    names = [q.strip() for q in queues.split(",") if q.strip()]
    unknown = sorted(set(names) - set(QUEUES))
    if unknown:
        raise InputError(f"unknown queue(s): {', '.join(unknown)}", f"use some of: {', '.join(QUEUES)}")
    # state.settings() fails early on a bad configuration, before starting children (REDIS_URL is applied there)
    if processes == 1 or not state.settings().redis_url:
        from core.tasks import run_worker

        run_worker(state.app(), queues=names, threads=threads)  # without Redis: raises the "needs Redis" error
        return
    _supervise(names, processes, threads)


def _supervise(queues: list[str], processes: int, threads: int) -> None:
    argv = [sys.executable, "-c", "from core.cli import main; main()"]
    if state.config_path:
        argv += ["--config", state.config_path]
    argv += ["worker", "--queues", ",".join(queues), "--processes", "1", "--threads", str(threads)]
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    children: list[subprocess.Popen[bytes]] = [subprocess.Popen(argv) for _ in range(processes)]
    console.print(f"started {processes} worker processes: {', '.join(str(c.pid) for c in children)}")
    started = [time.monotonic()] * processes
    failed = False
    while not stopping:
        for i, child in enumerate(children):
            if child.poll() is not None:
                if time.monotonic() - started[i] < 10:  # died during start-up: a configuration problem, not bad luck
                    console.print(f"worker process {child.pid} exited with {child.returncode} right after starting")
                    stopping = failed = True
                    break
                console.print(f"worker process {child.pid} exited with {child.returncode}; starting another")
                children[i], started[i] = subprocess.Popen(argv), time.monotonic()
        time.sleep(1)
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 40
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.kill(child.pid, signal.SIGKILL)
    if failed:
        raise typer.Exit(1)
