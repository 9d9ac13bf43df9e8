"""``clipcast serve --workers 2``: two real API processes behind one port, sharing the login rate limit through
Redis (real Redis; skipped locally when absent, failing under CI)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
from api_support import free_port, stop, wait_healthy

from core.app import Clipcast
from core.config import load_settings
from core.users import create_user


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def test_serve_workers_share_the_login_limit(tmp_path, redis_url):
    namespace = f"test-{uuid.uuid4().hex}"
    config = tmp_path / "clipcast.yaml"
    config.write_text(
        f"data_dir: {tmp_path / 'data'}\nredis_url: {redis_url}\n"
        f"worker:\n  namespace: {namespace}\napi:\n  auth_rate_per_minute: 3\n"
    )
    app = Clipcast(load_settings(config))
    with app.session() as s:
        create_user(s, "dave@example.com", "correct horse battery")
    port = free_port()
    cli = [str(Path(sys.executable).parent / "clipcast"), "--config", str(config)]
    cli += ["serve", "--port", str(port), "--workers", "2"]
    log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115 (closed with the process)
    proc = subprocess.Popen(cli, stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, proc, tmp_path / "serve.log")
        assert len(_children(proc.pid)) >= 2  # the worker processes (plus, possibly, a resource tracker)
        body = {"email": "dave@example.com", "password": "guess number x"}
        codes = []
        for _ in range(4):  # a fresh connection each time, so either worker may answer
            codes.append(httpx.post(f"{url}/api/auth/login", json=body, timeout=30).status_code)
        assert codes == [401, 401, 401, 429]
        import redis

        window = redis.Redis.from_url(redis_url)
        key = f"{namespace}:ratelimit:login:127.0.0.1"
        assert window.zcard(key) == 3  # counted in Redis, whichever worker answered, not in a worker's memory
        window.delete(key)
    finally:
        stop(proc, signal.SIGINT)
        log.close()


def test_a_worker_process_freezes_its_start_up_heap(tmp_path, monkeypatch):
    """What the factory built stays out of the collector's full passes (core.api.app.freeze_heap)."""
    import gc

    from core.api.asgi import app_from_config

    config = tmp_path / "clipcast.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\n")
    Clipcast(load_settings(config))  # migrated, as `clipcast serve` does before starting its workers
    monkeypatch.setenv("CLIPCAST_CONFIG", str(config))
    gc.unfreeze()
    try:
        api = app_from_config()
        assert gc.get_freeze_count() > 10_000
        assert not any(o is api for o in gc.get_objects())  # the app itself is among the frozen
    finally:
        gc.unfreeze()


def test_gunicorn_serves_the_api_with_clipcasts_worker_class(tmp_path):
    """The documented process-manager recipe (core/api/asgi.py) with core.api.gunicorn_worker.Worker."""
    from core.api.gunicorn_worker import Worker
    from core.api.server import HTTP, LOOP

    assert Worker.CONFIG_KWARGS == {"loop": LOOP, "http": HTTP}
    config = tmp_path / "clipcast.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\n")
    Clipcast(load_settings(config))  # migrated first: the workers do not migrate
    port = free_port()
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    cmd = [gunicorn, "-k", "core.api.gunicorn_worker.Worker", "-w", "2", "-b", f"127.0.0.1:{port}"]
    log = open(tmp_path / "gunicorn.log", "wb")  # noqa: SIM115 (closed with the process)
    proc = subprocess.Popen(
        [*cmd, "core.api.asgi:app_from_config()"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "CLIPCAST_CONFIG": str(config)},
    )
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc, tmp_path / "gunicorn.log")
        assert httpx.get(f"http://127.0.0.1:{port}/api/jobs", timeout=5).status_code == 401  # the real app
    finally:
        stop(proc, signal.SIGTERM)
        log.close()
