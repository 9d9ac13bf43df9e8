"""Keeps a worker's Redis heartbeat fresh while every thread is busy on long work."""

from __future__ import annotations

import threading
import time
from typing import Any

from dramatiq.middleware import Middleware

from core.logging import get_logger

log = get_logger("clipcast.tasks")


class Heartbeat(Middleware):
    """Dramatiq only beats when a consumer fetches; a worker whose prefetch is full of long renders stops
    fetching, and after ``heartbeat_timeout`` another worker would take its messages while it still runs them."""

    def __init__(self, timeout: float) -> None:
        self.interval = max(0.5, timeout / 4)
        self._stop = threading.Event()
        self._started = False

    def after_worker_boot(self, broker: Any, worker: Any) -> None:
        if self._started:  # one beat per broker, however many worker pools share it
            return
        self._started = True

        def beat() -> None:
            key = f"{broker.namespace}:__heartbeats__"
            while not self._stop.wait(self.interval):
                try:
                    broker.client.zadd(key, {broker.broker_id: int(time.time() * 1000)})
                except Exception as exc:  # Redis away: the consumers will report it
                    log.warning("heartbeat failed", error=repr(exc))

        threading.Thread(target=beat, name="clipcast-heartbeat", daemon=True).start()

    def before_worker_shutdown(self, broker: Any, worker: Any) -> None:
        self._stop.set()
