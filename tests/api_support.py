"""Helpers for the API tests: an in-process client, users with tokens, and rows owned by a user."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from core.api import create_app
from core.app import Clipcast
from core.models import Clip, Job, Post, Schedule, SocialAccount, Video, WatchedSource
from core.users import create_token, create_user


@dataclass
class Caller:
    id: int
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def make_user(app: Clipcast, email: str, *, admin: bool = False, **quotas: Any) -> Caller:
    with app.session() as s:
        user = create_user(s, email, "correct horse battery", is_admin=admin, **quotas)
        _row, token = create_token(s, user, name="test")
        return Caller(user.id, user.email, token)  # type: ignore[arg-type]


def client(app: Clipcast) -> TestClient:
    return TestClient(create_app(app), raise_server_exceptions=False)


def seed(app: Clipcast, user_id: int, *, tag: str = "a") -> dict[str, int]:
    """One row of every resource family owned by ``user_id``; returns their ids by family."""
    with app.session() as s:
        video = Video(user_id=user_id, source=f"{tag}.mp4", title=tag, sha256=tag * 8, duration=42.0)
        s.add(video)
        s.flush()
        clip = Clip(video_id=video.id, user_id=user_id, start=1.0, end=16.0, score=70, title=f"clip {tag}")
        account = SocialAccount(user_id=user_id, platform="folder", remote_id=f"acct-{tag}", name=tag)
        s.add(clip)
        s.add(account)
        s.flush()
        job = Job(user_id=user_id, video_id=video.id, kind="analyze", status="failed", error="boom")
        schedule = Schedule(user_id=user_id, account_id=account.id, cron="0 9 * * *")
        post = Post(user_id=user_id, clip_id=clip.id, account_id=account.id, platform="folder")
        source = WatchedSource(user_id=user_id, kind="folder", target=f"/tmp/{tag}")
        for row in (job, schedule, post, source):
            s.add(row)
        s.flush()
        return {
            "video": video.id,
            "clip": clip.id,
            "account": account.id,
            "job": job.id,
            "schedule": schedule.id,
            "post": post.id,
            "source": source.id,
        }  # type: ignore[dict-item]


def error_of(response: Any) -> dict[str, Any]:
    """The error object of a response, after checking the common error shape."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "detail"}, body
    assert body["error"]["message"], body
    return body["error"]


class ThreadedServer:
    """The API on a real socket (uvicorn in a thread, 127.0.0.1, a free port), for tests about the wire."""

    def __init__(self, app: Clipcast) -> None:
        import socket
        import threading

        import uvicorn

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            create_app(app), host="127.0.0.1", port=self.port, log_level="warning", lifespan="off", log_config=None
        )  # log_config=None as `clipcast serve` does: uvicorn's own would stop its loggers reaching the redactor
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ThreadedServer:
        import time

        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


CLI = [sys.executable, "-c", "from core.cli import main; main()"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve_process(base: Path, config: dict[str, Any], env: dict[str, str]) -> Iterator[str]:
    """``clipcast serve`` (embedded: API, worker and scheduler in one process) in a subprocess with
    ``config`` written to ``base/clipcast.yaml``; yields its URL once /healthz answers; the log is base/server.log."""
    import yaml

    cfg = base / "clipcast.yaml"
    cfg.write_text(yaml.safe_dump(config))
    port = free_port()
    with open(base / "server.log", "w") as log:
        proc = subprocess.Popen(
            [*CLI, "--config", str(cfg), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env, cwd=base, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        log.flush()
        wait_healthy(url, proc, base / "server.log")
        try:
            yield url
        finally:
            stop(proc, signal.SIGTERM)


def wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    """Until ``url``/healthz answers 200; fails with the end of ``log`` if ``proc`` exits or ``timeout`` s pass."""
    import httpx
    import pytest

    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the server did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.3)


def stop(proc: subprocess.Popen, sig: int) -> None:
    """Send ``sig``, then kill after 30 s."""
    proc.send_signal(sig)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without Clipcast variables that would point a server at another installation."""
    env = {**os.environ, **extra}
    for var in ("CLIPCAST_CONFIG", "DATABASE_URL", "REDIS_URL", "CLIPCAST_DATA_DIR", "CLIPCAST_SECRET_KEY"):
        env.pop(var, None)
    return env
