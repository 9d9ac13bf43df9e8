"""Background work on Dramatiq: the pipeline stages as actors, one module per concern.

* ``broker``: Redis when ``settings.redis_url`` (or ``REDIS_URL``) is set, so any number of ``clipcast worker``
  processes share the queues; otherwise a StubBroker with an embedded worker (``embedded``) in this process.
  ``send`` never raises for an unreachable broker: the row stays queued and the reconciler sends it later.
* ``actors``: ``analyze`` (ingest → transcribe → select, in a child process: ``child``), ``render`` (one message
  per clip, waiting for a machine slot: ``slots``), ``publish`` and ``check``. Messages carry a job id only;
  every actor claims its row (``core.leases``) and skips what is already done.
* ``pools``: one worker pool per queue group, so renders waiting for slots never hold up publishing.
* ``middleware``: ``JobState`` writes each outcome to the row (retrying, or failed with stage and reason) and
  releases the lease; ``Messages`` counts live messages for the embedded reconciler. ``heartbeat`` keeps a busy
  worker's Redis heartbeat fresh.
* ``control``: ``retry_job``. ``worker``: ``clipcast worker``.

Failures: ``PermanentError`` (bad input, revoked authorisation) is never retried; other errors are retried
``worker.max_retries`` times with exponential backoff; nothing is left only in Dramatiq's dead-letter queue.
"""

from core.tasks.broker import QUEUES, JobRef, actor_name, enqueue, is_embedded, send, setup
from core.tasks.control import retry_job
from core.tasks.embedded import resume_unfinished, start_embedded_worker, stop_embedded_worker
from core.tasks.slots import queue_slot
from core.tasks.stages import STAGES, StageUnavailable, stage_function
from core.tasks.state import _state, current_app
from core.tasks.worker import run_worker

__all__ = [
    "QUEUES",
    "STAGES",
    "JobRef",
    "StageUnavailable",
    "_state",
    "actor_name",
    "current_app",
    "enqueue",
    "is_embedded",
    "queue_slot",
    "resume_unfinished",
    "retry_job",
    "run_worker",
    "send",
    "setup",
    "stage_function",
    "start_embedded_worker",
    "stop_embedded_worker",
]
