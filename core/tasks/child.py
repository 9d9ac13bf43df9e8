"""The analysis child process: ``python -m core.tasks analyze-child`` (settings and job id on stdin, one JSON line
out). Running the analysis in a child lets cancel and time limits kill CTranslate2's C code, which a Python
thread cannot interrupt.

The child dies with its parent: Linux's parent-death signal (``prctl(PR_SET_PDEATHSIG, SIGKILL)``) is set at
its start, and on other systems a watchdog thread exits when the parent's pid changes. So a worker killed with
``kill -9`` leaves no analysis writing to a job that someone else now owns.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr

from core import jobs
from core.contracts import SelectionRequest
from core.errors import ClipcastError, InputError, PermanentError, RetryableError
from core.progress import Cancelled
from core.tasks.middleware import _reason
from core.tasks.stages import stage_function
from core.usage import usage_context

PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> None:
    """Make this process end when ``parent_pid`` does (parent-death signal, else a watchdog thread)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl failed")
    except (OSError, AttributeError):
        pass  # not Linux: the watchdog below covers it
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="clipcast-parent-watchdog", daemon=True).start()


def analyze_inline(app: Any, job_id: int, reporter: jobs.JobReporter) -> dict[str, Any]:
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


def settings_payload(settings: Any) -> dict[str, Any]:
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


def analyze_in_child(app: Any, job_id: int, reporter: jobs.JobReporter) -> dict[str, Any]:
    """Run the analysis in a child process and wait; kill it on cancel or time limit."""
    payload = json.dumps({"settings": settings_payload(app.settings), "job_id": job_id, "parent_pid": os.getpid()})
    proc = subprocess.Popen(
        [sys.executable, "-m", "core.tasks", "analyze-child"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=os.getcwd(),
        env={**os.environ, "CLIPCAST_PARENT": str(os.getpid())},  # names its worker in `ps e`
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


def child_main() -> int:
    """Entry of the analysis child: settings and job id on stdin, one JSON result line on stdout."""
    from core.app import Clipcast
    from core.config import Settings

    data = json.loads(sys.stdin.read())
    if data.get("parent_pid"):
        die_with_parent(int(data["parent_pid"]))
    app = Clipcast(Settings.model_validate(data["settings"]), migrate=False)
    job_id = int(data["job_id"])
    reporter = jobs.JobReporter(app, job_id)
    try:
        result: dict[str, Any] = analyze_inline(app, job_id, reporter)
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


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["analyze-child"]:
        return child_main()
    print("usage: python -m core.tasks analyze-child  (internal: used by the analyze actor)", file=sys.stderr)
    return 2
