"""HTTP API under load: requests/second, p50/p99 latency and database queries per request, 50 concurrent clients.

    .venv/bin/python bench/api_load.py [--clients 50] [--requests 2000] [--db sqlite|postgres]

Loopback only and bounded: the API runs in this process (uvicorn on 127.0.0.1, a free port, a temporary data
directory); the clients run in a child process (httpx, asyncio) so they do not share this process's GIL. Each
phase sends a fixed number of requests with ``--clients`` of them in flight at once.

Phases:
  baseline   GET /healthz           (no database: the server's own ceiling, for ratios)
  list jobs  GET /api/jobs?limit=50 (paged list, 1000 jobs in the table)
  get job    GET /api/jobs/{id}
  create job POST /api/videos/{id}/render (one render job per request, sent to Redis when it answers on
             127.0.0.1:6379 — the distributed set-up, no worker consuming — else recorded without sending)

Queries are counted with a SQLAlchemy ``before_cursor_execute`` listener on the API's engine; the figure is
the phase's total divided by its requests (authentication included). Ratios are against the baseline's
requests/second measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CLIENT = r"""
import asyncio, json, sys, time
import httpx

async def main(url, method, paths, body, headers, clients, total):
    lat, errors = [], {}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=60) as http:
        queue = asyncio.Queue()
        for i in range(total):
            queue.put_nowait(paths[i % len(paths)])
        async def worker():
            while True:
                try:
                    path = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                t0 = time.perf_counter()
                try:
                    r = await http.request(method, path, json=body)
                except httpx.HTTPError as exc:
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                    continue
                lat.append(time.perf_counter() - t0)
                if r.status_code >= 300:
                    errors[r.status_code] = errors.get(r.status_code, 0) + 1
        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        wall = time.perf_counter() - t0
    print(json.dumps({"lat": lat, "wall": wall, "errors": errors}))

args = json.loads(sys.argv[1])
asyncio.run(main(**args))
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def _postgres_db() -> tuple[str, str]:
    import psycopg

    base = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    name = f"clipcast_bench_{os.getpid()}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return base, name


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=2000, help="per phase")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    if not (1 <= args.clients <= 200 and 1 <= args.requests <= 20000):
        parser.error("keep it bounded: clients 1-200, requests 1-20000")

    import uvicorn
    from sqlalchemy import event
    from sqlmodel import select

    from core import db, tasks
    from core.api import create_app
    from core.app import Clipcast
    from core.config import Settings
    from core.logging import configure
    from core.models import Clip, Job, Video

    configure("WARNING", "console")
    tmp = Path(tempfile.mkdtemp(prefix="clipcast-bench-"))
    pg = None
    db_url = None
    if args.db == "postgres":
        pg = _postgres_db()
        db_url = pg[0].rsplit("/", 1)[0] + f"/{pg[1]}"
    redis_url = "redis://127.0.0.1:6379/14" if _redis_up() else None
    settings = Settings(data_dir=tmp / "data", database_url=db_url, redis_url=redis_url)
    settings.worker.namespace = f"clipcast-bench-{os.getpid()}"  # its own Redis keys, deleted at the end
    app = Clipcast(settings)
    if redis_url is None:
        tasks.enqueue = lambda app, job, **kw: None  # type: ignore[assignment]

    from core.users import create_token, create_user

    with app.session() as s:
        user = create_user(s, "bench@example.com", "bench password")
        _row, token = create_token(s, user, name="bench")
        video = Video(user_id=user.id, source="bench.mp4", title="bench", sha256="b" * 64, duration=600)
        s.add(video)
        s.flush()
        clip = Clip(video_id=video.id, user_id=user.id, start=0, end=20, score=50, status="approved")
        s.add(clip)
        s.flush()
        for i in range(1000):
            s.add(Job(user_id=user.id, video_id=video.id, kind="analyze", status="succeeded", message=f"job {i}"))
        ids = (user.id, video.id, clip.id)
    with app.session() as s:
        job_ids = list(s.exec(select(Job.id).limit(200)))

    queries = [0]
    lock = threading.Lock()

    def count(*_a: object, **_k: object) -> None:
        with lock:
            queries[0] += 1

    event.listen(db.get_engine(app.db_url), "before_cursor_execute", count)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(app), host="127.0.0.1", port=port, log_level="warning", access_log=False, timeout_keep_alive=30
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {token}"}
    phases = [
        ("baseline", "GET", ["/healthz"], None),
        ("list jobs", "GET", ["/api/jobs?limit=50"], None),
        ("get job", "GET", [f"/api/jobs/{j}" for j in job_ids], None),
        ("create job", "POST", [f"/api/videos/{ids[1]}/render"], {"clip_ids": [ids[2]]}),
    ]
    print(
        f"clients={args.clients} requests/phase={args.requests} db={args.db} "
        f"broker={'redis' if redis_url else 'none (enqueue recorded)'} python={sys.version.split()[0]}"
    )
    print(f"{'phase':<11} {'req/s':>8} {'x base':>7} {'p50 ms':>8} {'p99 ms':>8} {'queries/req':>12} {'errors':>8}")
    base_rps = None
    warm = {"url": url, "method": "GET", "paths": ["/healthz", "/api/jobs?limit=5"], "body": None,
            "headers": headers, "clients": args.clients, "total": args.clients * 4}  # fmt: skip
    subprocess.run([sys.executable, "-c", CLIENT, json.dumps(warm)], capture_output=True, timeout=120, check=True)
    try:
        for name, method, paths, body in phases:
            spec = {"url": url, "method": method, "paths": paths, "body": body, "headers": headers,
                    "clients": args.clients, "total": args.requests}  # fmt: skip
            before = queries[0]
            out = subprocess.run([sys.executable, "-c", CLIENT, json.dumps(spec)], capture_output=True, text=True,
                                 timeout=600)  # fmt: skip
            if out.returncode != 0:
                print(out.stderr[-2000:])
                return 1
            result = json.loads(out.stdout)
            used = queries[0] - before
            lat = sorted(result["lat"])
            rps = len(lat) / result["wall"]
            base_rps = base_rps or rps
            p50 = statistics.median(lat) * 1000
            p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000
            errors = sum(result["errors"].values())
            if result["errors"]:
                print(f"  {name}: errors by kind {result['errors']}")
            print(
                f"{name:<11} {rps:>8.0f} {rps / base_rps:>7.2f} {p50:>8.1f} {p99:>8.1f} "
                f"{used / len(lat):>12.2f} {errors:>8}"
            )
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        if redis_url:
            import redis

            r = redis.Redis.from_url(redis_url)
            for key in r.scan_iter(f"{settings.worker.namespace}*"):
                r.delete(key)
        if pg:
            import psycopg

            db.get_engine(app.db_url).dispose()
            with psycopg.connect(pg[0], autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{pg[1]}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    sys.exit(main())
