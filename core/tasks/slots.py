"""Per-machine slots for heavy queues: ``worker.concurrency[queue]`` file locks in ``data_dir/locks``."""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from core import jobs


@contextmanager
def queue_slot(app: Any, queue: str, reporter: jobs.JobReporter | None = None) -> Iterator[None]:
    """Hold one of ``worker.concurrency[queue]`` slots on this machine.

    The limit covers every worker process sharing the data directory, so ``--processes 4`` still renders at most
    ``concurrency.render`` clips at once. Only the threads of that queue's own pool wait here (see
    ``core.tasks.worker``), so a wait never holds up another queue.
    """
    limit = app.settings.worker.concurrency.get(queue)
    if not limit:
        yield
        return
    lockdir = Path(app.settings.data_dir) / "locks"
    lockdir.mkdir(parents=True, exist_ok=True)
    waiting_said = False
    while True:
        for i in range(limit):
            handle = open(lockdir / f"{queue}-{i}.lock", "a+")  # noqa: SIM115 (held across the yield)
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
                handle.close()
            return
        if reporter is not None:
            reporter.check_cancelled()
            if not waiting_said:
                jobs.update_job(app, reporter.job_id, message=f"waiting for a free {queue} slot ({limit} in use)")
                waiting_said = True
        time.sleep(0.25)
