"""``clipcast worker``: the worker pools of one process, until SIGINT/SIGTERM."""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

from dramatiq.brokers.stub import StubBroker

from core import leases, scratch
from core.errors import ConfigError, InputError
from core.logging import get_logger
from core.tasks.broker import QUEUES, setup
from core.tasks.pools import make_pools

log = get_logger("clipcast.tasks")


def run_worker(app: Any, *, queues: list[str] | None = None, threads: int = 4) -> None:
    """Run the worker pools in this process until SIGINT/SIGTERM (``clipcast worker --processes 1``).

    Shutdown is quiet: every pool finishes or hands back its messages, then the broker closes. (Dramatiq has no
    ``process_stop`` hook: emitting one made every middleware log a CRITICAL traceback at each stop.)
    """
    broker = setup(app)
    if isinstance(broker, StubBroker):
        raise ConfigError(
            "`clipcast worker` needs Redis: set redis_url in the config or REDIS_URL",
            "without Redis, `clipcast serve` runs an embedded worker and `clipcast process` works inline",
        )
    unknown = set(queues or []) - set(QUEUES)
    if unknown:
        raise InputError(f"unknown queue(s): {', '.join(sorted(unknown))}", f"use some of: {', '.join(QUEUES)}")
    leases.set_kind("worker")
    cleaner = scratch.start_cleaner(app)  # a killed predecessor's scratch, now and every few minutes
    broker.emit_after("process_boot")
    pools = make_pools(broker, app.settings, set(queues or QUEUES), threads)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    for pool in pools:
        pool.start()
    log.info(
        "worker started",
        pid=os.getpid(),
        broker_id=getattr(broker, "broker_id", None),  # its name in Redis (heartbeats, acks)
        queues=sorted(queues or QUEUES),
        threads=threads,
    )
    try:
        stop.wait()
    finally:
        log.info("worker stopping", pid=os.getpid())
        cleaner.set()
        for pool in pools:
            pool.stop(timeout=30_000)
        broker.close()
