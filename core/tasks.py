"""Dramatiq broker and actors: the pipeline stages as background work.

Broker: Redis when ``settings.redis_url`` (or ``REDIS_URL``) is set, so any number of ``clipcast worker``
processes on any machines share the queues; otherwise a StubBroker with one embedded worker in this process
(single-machine installs; queued work survives a restart because ``clipcast serve`` calls
``start_embedded_worker(resume=True)``, which re-sends the job rows that were still queued or running).

Queues: ``analyze`` (ingest → transcribe → select), ``render`` (one message per clip), ``publish`` (upload once,
then status checks retried with backoff), so heavy rendering never starves publishing. Messages carry a job id
only; every actor starts by reading the job row and skipping what is already done.

How a stage is made killable: the analyze actor runs the analysis in a child process (``isolate_analyze``, on by
default) and waits for it in Python, polling the job's cancel flag. Dramatiq's time limit interrupts that wait
(it cannot interrupt CTranslate2's C code), and the wait's ``finally`` kills the child, so cancel and time limits
stop a transcription within about a second. Rendering runs ffmpeg through ``core.media.ffmpeg``, which kills the
process on cancel or on its own timeout.

Failures: ``PermanentError`` (bad input, revoked authorisation) is never retried; other errors are retried
``worker.max_retries`` times with exponential backoff. The ``JobState`` middleware writes every outcome to the job
row (retrying with the last error, or failed with stage and reason once retries are exhausted), so nothing is
left only in Dramatiq's dead-letter queue.
"""

from __future__ import annotations

import fcntl
import importlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dramatiq
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import Middleware, Retries, TimeLimitExceeded
from pydantic import BaseModel, SecretStr, ValidationError
from sqlmodel import col, select

from core import jobs
from core.errors import ClipcastError, ConfigError, InputError, PermanentError, RetryableError, validation_summary
from core.logging import get_logger
from core.models import Clip, Job, JobStatus
from core.progress import Cancelled
from core.usage import usage_context

log = get_logger("clipcast.tasks")

QUEUES = ("analyze", "render", "publish")

#: Where each stage's function lives (``worker.stages`` in the config overrides one, e.g. for a custom pipeline).
STAGES = {
    "analyze": "core.pipeline.analyze:analyze",
    "render": "core.pipeline.render:render_clip",
    "publish": "core.pipeline.publish:publish_post",
    "check": "core.pipeline.publish:check_post",
}


class StageUnavailable(ClipcastError):
    """A stage's function cannot be imported (the module is missing or broken)."""


def stage_function(app: Any, name: str) -> Callable[..., Any]:
    target = app.settings.worker.stages.get(name) or STAGES[name]
    module_name, _, attr = target.partition(":")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise StageUnavailable(f"the {name} stage ({target}) cannot be loaded: {exc}")


# ---------------------------------------------------------------------------------------------- state


class _State:
    app: Any = None
    broker: dramatiq.Broker | None = None
    actors: dict[str, dramatiq.Actor] = {}
    worker: dramatiq.Worker | None = None
    lock = threading.RLock()


_state = _State()


def current_app() -> Any:
    if _state.app is None:
        raise ClipcastError("the task system is not set up", "call core.tasks.setup(app) first")
    return _state.app


def setup(app: Any) -> dramatiq.Broker:
    """Build the broker for ``app``'s settings, declare the actors on it and make it Dramatiq's global broker."""
    with _state.lock:
        if _state.app is app and _state.broker is not None:
            return _state.broker
        if _state.worker is not None:
            _state.worker.stop()
            _state.worker = None
        broker = _make_broker(app.settings)
        _state.app, _state.broker = app, broker
        _state.actors = _declare_actors(broker, app.settings)
        dramatiq.set_broker(broker)
        return broker


def _make_broker(settings: Any) -> dramatiq.Broker:
    url = settings.redis_url or os.environ.get("REDIS_URL")
    if url:
        from dramatiq.brokers.redis import RedisBroker

        broker: dramatiq.Broker = RedisBroker(
            url=url,
            namespace=settings.worker.namespace,
            heartbeat_timeout=int(settings.worker.heartbeat_timeout * 1000),
            maintenance_chance=settings.worker.maintenance_chance,
        )
        broker.add_middleware(Heartbeat(settings.worker.heartbeat_timeout))
    else:
        broker = StubBroker()
        broker.emit_after("process_boot")  # without this, time limits silently do nothing in-process
    broker.add_middleware(JobState(), before=Retries)  # "after" hooks run in reverse: this one sees Retries' verdict
    return broker


def _declare_actors(broker: dramatiq.Broker, settings: Any) -> dict[str, dramatiq.Actor]:
    w = settings.worker
    retry = {
        "max_retries": w.max_retries,
        "min_backoff": int(w.min_backoff * 1000),
        "max_backoff": int(w.max_backoff * 1000),
        "throws": (PermanentError, Cancelled),
    }

    def declare(fn: Callable[..., Any], queue: str, **options: Any) -> dramatiq.Actor:
        return dramatiq.Actor(fn, broker=broker, actor_name=fn.__name__, queue_name=queue, priority=0, options=options)

    return {
        "analyze": declare(analyze_job, "analyze", time_limit=int(w.analyze_time_limit * 1000), **retry),
        "render": declare(render_job, "render", time_limit=int(w.render_time_limit * 1000), **retry),
        # Retrying publish_job is safe: publish_post claims the post atomically (scheduled → uploading), saves the
        # remote id before anything else and, on a second delivery, checks or recovers instead of uploading again.
        # So transient trouble (RetryableError: another worker's upload lease, network) is retried here.
        "publish": declare(publish_job, "publish", time_limit=int(w.publish_time_limit * 1000), **retry),
        "check": declare(
            check_job,
            "publish",
            time_limit=120_000,
            **{**retry, "max_retries": 40, "min_backoff": 5_000, "max_backoff": 300_000},
        ),
    }


def _actor_name(kind: str) -> str:
    """The actor that runs a job kind (a ``process`` job starts on the analyze actor)."""
    return "analyze" if kind in ("analyze", "process") else kind


def enqueue(app: Any, job: Job, *, delay_ms: int | None = None) -> None:
    """Send a job's message to its queue (starting the embedded worker when there is no Redis)."""
    broker = setup(app)
    if isinstance(broker, StubBroker) and _state.worker is None:
        start_embedded_worker(app, resume=False)  # only `clipcast serve` re-sends unfinished rows at start
    _state.actors[_actor_name(job.kind)].send_with_options(args=(job.id,), delay=delay_ms)


def is_embedded(app: Any) -> bool:
    return isinstance(setup(app), StubBroker)


def start_embedded_worker(app: Any, *, threads: int = 4, resume: bool = True) -> dramatiq.Worker:
    """The one in-process worker for installs without Redis.

    ``resume`` re-sends the job rows left queued or running (their messages died with the previous process): only
    the process that owns the installation's work (``clipcast serve``) should do that, or two processes would run
    the same jobs.
    """
    broker = setup(app)
    with _state.lock:
        if _state.worker is not None:
            return _state.worker
        worker = dramatiq.Worker(broker, worker_threads=threads)
        worker.start()
        _state.worker = worker
    if resume:
        resume_unfinished(app)
    return worker


def stop_embedded_worker() -> None:
    with _state.lock:
        if _state.worker is not None:
            _state.worker.stop()
            _state.worker = None


def resume_unfinished(app: Any) -> list[int]:
    """Re-send jobs left queued or running (the embedded broker kept their messages in memory only)."""
    with app.session() as s:
        rows = list(
            s.exec(select(Job).where(col(Job.status).in_([JobStatus.QUEUED, JobStatus.RUNNING]), Job.kind != "check"))
        )
    sent = []
    for job in rows:
        if job.kind == "process" and job.stage == "render" and job.options.get("analysis_done"):
            continue  # its render children are re-sent themselves
        _state.actors[_actor_name(job.kind)].send(job.id)
        sent.append(job.id)
    if sent:
        log.info("re-sent unfinished jobs", count=len(sent))
    return sent


# ---------------------------------------------------------------------------------------------- middleware


class JobState(Middleware):
    """Writes a message's outcome to its job row: retrying (with the last error) or failed (stage + reason)."""

    def after_process_message(self, broker: Any, message: Any, *, result: Any = None, exception: Any = None) -> None:
        if exception is None or not message.args or _state.app is None:
            return
        app, job_id = _state.app, int(message.args[0])
        reason = _reason(exception, message)
        try:
            job = jobs.get_job(app, job_id)
        except ClipcastError:
            return
        if job.status in jobs.FINAL:
            return
        if isinstance(exception, Cancelled):
            jobs.mark_cancelled(app, job_id)
        elif message.failed:
            jobs.fail(app, job_id, reason)
            log.warning("job failed", job_id=job_id, stage=job.stage, reason=reason)
        elif message.actor_name == "check_job":
            jobs.update_job(app, job_id, message=f"still processing on the platform; checking again ({reason})")
            return
        else:
            retries = message.options.get("retries", 0)
            jobs.update_job(
                app,
                job_id,
                status=JobStatus.QUEUED,
                error=reason,
                message=f"attempt {job.attempts} failed; retry {retries} scheduled",
            )
            return
        parent = job.options.get("parent_id")
        if parent:
            jobs.refresh_parent(app, int(parent))

    def after_skip_message(self, broker: Any, message: Any) -> None:
        if message.args and _state.app is not None:
            jobs.fail(_state.app, int(message.args[0]), "the message was skipped by the broker (too old)")


def _reason(exc: BaseException, message: Any) -> str:
    if isinstance(exc, TimeLimitExceeded):
        limit = message.options.get("time_limit") or _actor_time_limit(message.actor_name)
        return f"took longer than the time limit ({limit / 1000:.0f} s) and was stopped"
    if isinstance(exc, ClipcastError):
        return str(exc)
    if isinstance(exc, ValidationError):  # its str() quotes the input values: name the keys and problems only
        return f"invalid options: {validation_summary(exc)}"
    return f"{type(exc).__name__}: {exc}"


def _actor_time_limit(actor_name: str) -> int:
    for actor in _state.actors.values():
        if actor.actor_name == actor_name:
            return int(actor.options.get("time_limit", 0))
    return 0


class Heartbeat(Middleware):
    """Keeps this worker's Redis heartbeat fresh while every thread is busy on long work.

    Dramatiq only beats when a consumer fetches; a worker whose prefetch is full of long renders stops fetching,
    and after ``heartbeat_timeout`` another worker would take its messages while it still runs them.
    """

    def __init__(self, timeout: float) -> None:
        self.interval = max(0.5, timeout / 4)
        self._stop = threading.Event()

    def after_worker_boot(self, broker: Any, worker: Any) -> None:
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


@contextmanager
def queue_slot(app: Any, queue: str, reporter: jobs.JobReporter | None = None) -> Iterator[None]:
    """Hold one of ``worker.concurrency[queue]`` slots on this machine (file locks in ``data_dir/locks``).

    The limit covers every worker process sharing the data directory, so ``--processes 4`` still renders at most
    2 clips at once by default.
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


# ---------------------------------------------------------------------------------------------- actors


def analyze_job(job_id: int) -> None:
    """Analyze a video (ingest → transcribe → select); a ``process`` job then fans out one render per clip."""
    app = current_app()
    job = jobs.start_attempt(app, job_id)
    if job is None:
        return
    reporter = jobs.JobReporter(app, job_id)
    try:
        if not (job.options.get("analysis_done") and job.video_id):
            with queue_slot(app, "analyze", reporter):
                reporter.check_cancelled()
                if app.settings.worker.isolate_analyze:
                    outcome = _analyze_in_child(app, job_id, reporter)
                else:
                    outcome = _analyze_inline(app, job_id, reporter)
            job = jobs.update_job(
                app,
                job_id,
                video_id=outcome["video_id"],
                options={**job.options, "analysis_done": True, "clip_ids": outcome["clip_ids"]},
            )
        if job.kind == "process" or job.options.get("render"):
            _fan_out(app, job)
        else:
            jobs.succeed(app, job_id, f"{len(job.options.get('clip_ids', []))} clips proposed")
    except Cancelled:
        jobs.mark_cancelled(app, job_id)


def _analyze_inline(app: Any, job_id: int, reporter: jobs.JobReporter) -> dict[str, Any]:
    from core.contracts import SelectionRequest

    job = jobs.get_job(app, job_id)
    source: Any = job.video_id if job.video_id else job.options.get("source")
    if source is None:
        raise InputError(f"job {job_id} names neither a video nor a source to analyze")
    request = SelectionRequest(**job.options["request"]) if job.options.get("request") else None
    analyze = stage_function(app, "analyze")
    # runs in the process that calls the backends (the analyze child too): AI usage rows name this job
    with usage_context(job_id=job_id, user_id=job.user_id, video_id=job.video_id):
        result = analyze(
            app,
            source,
            request,
            stt=job.options.get("stt"),
            llm=job.options.get("llm"),
            user_id=job.user_id,
            reporter=reporter,
        )
    return {"video_id": result.video.id, "clip_ids": [c.id for c in result.clips]}


def _settings_payload(settings: Any) -> dict[str, Any]:
    """Settings as JSON data with secrets revealed (sent to a child process over a pipe, never written to disk)."""

    def reveal(obj: Any) -> Any:
        if isinstance(obj, SecretStr):
            return obj.get_secret_value()
        if isinstance(obj, BaseModel):
            data = {name: reveal(getattr(obj, name)) for name in type(obj).model_fields if name != "source_file"}
            data.update({k: reveal(v) for k, v in (obj.model_extra or {}).items()})
            return data
        if isinstance(obj, dict):
            return {k: reveal(v) for k, v in obj.items()}
        if isinstance(obj, list | tuple):
            return [reveal(v) for v in obj]
        if isinstance(obj, Path):
            return str(obj)
        return obj

    return reveal(settings)


def _analyze_in_child(app: Any, job_id: int, reporter: jobs.JobReporter) -> dict[str, Any]:
    """Run the analysis in ``python -m core.tasks analyze-child`` and wait; kill it on cancel or time limit."""
    payload = json.dumps({"settings": _settings_payload(app.settings), "job_id": job_id})
    proc = subprocess.Popen(
        [sys.executable, "-m", "core.tasks", "analyze-child"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=os.getcwd(),
        start_new_session=True,
    )
    out: list[str] = []
    err: list[str] = []
    readers = [
        threading.Thread(target=lambda: out.extend(proc.stdout), daemon=True),  # type: ignore[arg-type]
        threading.Thread(target=lambda: err.extend(proc.stderr), daemon=True),  # type: ignore[arg-type]
    ]
    try:
        assert proc.stdin is not None
        proc.stdin.write(payload)
        proc.stdin.close()
        for t in readers:
            t.start()
        while proc.poll() is None:
            reporter.check_cancelled()
            time.sleep(0.2)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    for t in readers:
        t.join(timeout=2)
    lines = [line for line in out if line.startswith("{")]
    if not lines:
        tail = "".join(err[-20:]).strip() or f"exit code {proc.returncode}"
        raise RetryableError(f"the analysis process ended without a result: {tail[-2000:]}")
    result = json.loads(lines[-1])
    if "error" in result:
        kind = result.get("kind")
        if kind == "cancelled":
            raise Cancelled(result["error"])
        if kind == "permanent":
            raise PermanentError(result["error"])
        raise ClipcastError(result["error"])
    return result


def _child_main() -> int:
    """Entry of the analysis child: settings and job id on stdin, one JSON result line on stdout."""
    from core.app import Clipcast
    from core.config import Settings

    data = json.loads(sys.stdin.read())
    app = Clipcast(Settings.model_validate(data["settings"]), migrate=False)
    job_id = int(data["job_id"])
    reporter = jobs.JobReporter(app, job_id)
    try:
        result: dict[str, Any] = _analyze_inline(app, job_id, reporter)
    except Cancelled as exc:
        result = {"error": str(exc), "kind": "cancelled"}
    except PermanentError as exc:
        result = {"error": str(exc), "kind": "permanent"}
    except ClipcastError as exc:
        result = {"error": str(exc), "kind": "retryable"}
    except Exception as exc:
        result = {"error": _reason(exc, None), "kind": "retryable"}
    sys.stdout.write("\n" + json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


def _fan_out(app: Any, job: Job) -> None:
    """One render child job per clip (created once: a redelivered message finds them) and their messages."""
    assert job.id is not None
    clip_ids = job.options.get("clip_ids")
    if clip_ids is None:
        with app.session() as s:
            clip_ids = [c.id for c in s.exec(select(Clip).where(Clip.video_id == job.video_id))]
    with app.session() as s:
        rejected = {c.id for c in s.exec(select(Clip).where(col(Clip.id).in_(clip_ids))) if c.status == "rejected"}
    clip_ids = [c for c in clip_ids if c not in rejected]
    existing = {k.clip_id: k for k in jobs.children(app, job.id)}
    jobs.update_job(app, job.id, stage="render", progress=0.0, message=f"rendering {len(clip_ids)} clips")
    if not clip_ids:
        jobs.succeed(app, job.id, "no clips to render")
        return
    for clip_id in clip_ids:
        child = existing.get(clip_id)
        if child is None:
            child = jobs.create_job(
                app,
                "render",
                video_id=job.video_id,
                clip_id=clip_id,
                user_id=job.user_id,
                options={"parent_id": job.id, "render_options": job.options.get("render_options") or {}},
            )
        if child.status == JobStatus.QUEUED:
            _state.actors["render"].send(child.id)
    jobs.refresh_parent(app, job.id)


def render_job(job_id: int) -> None:
    """Render one clip. ``render_clip`` skips the work when the clip's files match its render hash."""
    app = current_app()
    job = jobs.start_attempt(app, job_id)
    parent = job.options.get("parent_id") if job else jobs.get_job(app, job_id).options.get("parent_id")
    try:
        if job is None:
            return
        if job.clip_id is None:
            raise InputError(f"render job {job_id} has no clip")
        reporter = jobs.JobReporter(app, job_id)
        with queue_slot(app, "render", reporter):
            reporter.stage("render")
            render = stage_function(app, "render")
            render(app, job.clip_id, options=_render_options(job.options.get("render_options")), reporter=reporter)
        jobs.succeed(app, job_id, "clip rendered")
    except Cancelled:
        jobs.mark_cancelled(app, job_id)
    finally:
        if parent and (job is None or jobs.get_job(app, job_id).status in jobs.FINAL):
            jobs.refresh_parent(app, int(parent))


def _render_options(raw: dict[str, Any] | None) -> Any:
    if not raw:
        return None
    from core.pipeline.render import RenderOptions

    return RenderOptions(**raw)


def publish_job(job_id: int) -> None:
    """Publish one post (at most one upload), then hand over to ``check_job`` while the platform processes it."""
    app = current_app()
    job = jobs.start_attempt(app, job_id)
    if job is None:
        return
    post_id = job.options.get("post_id")
    if post_id is None:
        raise InputError(f"publish job {job_id} names no post")
    reporter = jobs.JobReporter(app, job_id)
    try:
        with queue_slot(app, "publish", reporter):
            reporter.stage("publish")
            post = stage_function(app, "publish")(app, int(post_id), reporter=reporter)
        _after_publish(app, job_id, post)
    except Cancelled:
        jobs.mark_cancelled(app, job_id)


def check_job(job_id: int) -> None:
    """Ask the platform where a post stands; raises ``RetryableError`` (retried with backoff) while processing."""
    app = current_app()
    job = jobs.get_job(app, job_id)
    if job.status in jobs.FINAL:
        return
    jobs.update_job(app, job_id, stage="check", message="checking the post's status")
    post = stage_function(app, "check")(app, int(job.options["post_id"]))
    _after_publish(app, job_id, post)


def _after_publish(app: Any, job_id: int, post: Any) -> None:
    status = str(getattr(post, "status", ""))
    if status == "published":
        jobs.succeed(app, job_id, f"published {post.url or post.remote_id or ''}".strip())
    elif status in ("failed", "cancelled"):
        jobs.fail(app, job_id, post.error or f"post {post.id} {status}")
    else:  # uploading / processing: poll until the platform says
        jobs.update_job(app, job_id, stage="check", message=f"post {post.id} is {status}; checking its status")
        _state.actors["check"].send_with_options(args=(job_id,), delay=5_000)


# ---------------------------------------------------------------------------------------------- worker


def run_worker(app: Any, *, queues: list[str] | None = None, threads: int = 4) -> None:
    """Run one Dramatiq worker in this process until SIGINT/SIGTERM (``clipcast worker --processes 1``)."""
    import signal

    broker = setup(app)
    if isinstance(broker, StubBroker):
        raise ConfigError(
            "`clipcast worker` needs Redis: set redis_url in the config or REDIS_URL",
            "without Redis, `clipcast serve` runs an embedded worker and `clipcast process` works inline",
        )
    unknown = set(queues or []) - set(QUEUES)
    if unknown:
        raise InputError(f"unknown queue(s): {', '.join(sorted(unknown))}", f"use some of: {', '.join(QUEUES)}")
    broker.emit_after("process_boot")
    worker = dramatiq.Worker(broker, queues=set(queues) if queues else None, worker_threads=threads)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    worker.start()
    log.info("worker started", pid=os.getpid(), queues=sorted(queues or QUEUES), threads=threads)
    try:
        stop.wait()
    finally:
        worker.stop(timeout=30_000)
        broker.emit_before("process_stop")
        broker.close()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["analyze-child"]:
        return _child_main()
    print("usage: python -m core.tasks analyze-child  (internal: used by the analyze actor)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
