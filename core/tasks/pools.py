"""Worker pools: one Dramatiq worker per queue group, so a queue's waits never hold up another queue.

Render and analyze messages may wait for a machine slot (``core.tasks.slots``); in one shared pool they would
take every thread and due posts would start late. So ``publish`` has its own threads (``threads``), and each
heavy queue gets as many threads as it has slots (``worker.concurrency``). Every pool's prefetch equals its
threads: Dramatiq counts a message being processed against the prefetch (a prefetch of 1 ran one render at a
time per process, whatever the slots), and a message is fetched only when a thread is free for it, so a killed
worker holds no unstarted message of these queues beyond the moment between fetch and start. What it does
hold unstarted are delayed messages (retries, status checks), which its delay-queue consumer fetches early;
the sweeper re-sends those from their job rows once its heartbeat is ``heartbeat_timeout`` old (see
docs/deployment.md for the bound and its measurement).
"""

from __future__ import annotations

import logging
from typing import Any

import dramatiq

HEAVY = ("analyze", "render")


class _OnePoolPerQueue(logging.Filter):
    """Each pool registers its own ``_WorkerMiddleware`` on the shared broker, as Dramatiq means it to; its
    warning about a second middleware of that type is expected here and would only alarm."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "_WorkerMiddleware" not in record.getMessage()


for _name in ("dramatiq.broker.RedisBroker", "dramatiq.broker.StubBroker"):
    logging.getLogger(_name).addFilter(_OnePoolPerQueue())


def make_pools(broker: dramatiq.Broker, settings: Any, queues: set[str], threads: int) -> list[dramatiq.Worker]:
    pools = []
    if "publish" in queues:
        light = dramatiq.Worker(broker, queues={"publish"}, worker_threads=threads)
        light.queue_prefetch = threads
        pools.append(light)
    for queue in HEAVY:
        if queue in queues:
            n = max(1, int(settings.worker.concurrency.get(queue) or threads))
            heavy = dramatiq.Worker(broker, queues={queue}, worker_threads=n)
            heavy.queue_prefetch = n
            pools.append(heavy)
    return pools
