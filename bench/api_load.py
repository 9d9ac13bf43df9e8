"""HTTP API under load: requests/second, p50/p99 latency and database queries per request, 50 concurrent clients.

    .venv/bin/python bench/api_load.py [--clients 50] [--requests 2000] [--db sqlite|postgres] [--workers 2]
                                       [--phase "create job"]   (one phase and the baseline, e.g. under py-spy)

Loopback only and bounded (127.0.0.1, free ports, a temporary data directory). Two runs of the same phases:
first one API process (uvicorn in this process), then ``--workers`` processes (``clipcast serve --workers``'s
app factory under uvicorn). Cores are split with ``os.sched_setaffinity``: the server gets the first core (or
the first N for N processes), the clients the others, one client process per client core with the
connections divided between them; when no core is left over the clients share the server's (the header says
which). The clients are a lean keep-alive HTTP/1.1 loop on asyncio streams, so the client side costs far less
CPU per request than the server. "CPU ms/req" is the server's own CPU time (user + system, all its processes)
per request (unlike wall time it barely moves with other load on the machine), "kernel" the system share of it
(syscalls: sockets, the futexes of thread hand-offs). Each phase sends a fixed number of requests with
``--clients`` in flight.

Phases:
  baseline   GET /healthz           (no database: the server's own ceiling, for ratios)
  list jobs  GET /api/jobs?limit=50 (paged list, 1000 jobs in the table)
  get job    GET /api/jobs/{id}
  create job POST /api/videos/{id}/render (one render job per request, sent to Redis when it answers on
             127.0.0.1:6379 — the distributed set-up, no worker consuming — else recorded without sending)

Queries are counted with a SQLAlchemy ``before_cursor_execute`` listener on the API's engine in the
one-process run; the figure is the phase's total divided by its requests (authentication included).
Ratios are against the baseline's
requests/second measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.api.server import LOOP, uvicorn_options

#: The load generator: a lean HTTP/1.1 keep-alive client on raw asyncio streams (httpx spent more CPU per request
#: than the server, so it measured itself). Every response must carry Content-Length (the API's JSON does).
CLIENT = r"""
import asyncio, json, sys, time

async def one_connection(host, port, requests, lat, errors):
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for raw in requests:
            t0 = time.perf_counter()
            writer.write(raw)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n")[1:]:
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            lat.append(time.perf_counter() - t0)
            if status >= 300:
                errors[status] = errors.get(status, 0) + 1
    finally:
        writer.close()

async def main(host, port, method, paths, body, headers, clients, total):
    data = json.dumps(body).encode() if body is not None else b""
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    if data:
        extra += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
    reqs = [f"{method} {p} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n".encode() + data for p in paths]
    per = [[reqs[(c + i * clients) % len(reqs)] for i in range(total // clients + (c < total % clients))]
           for c in range(clients)]
    lat, errors = [], {}
    t0 = time.perf_counter()
    await asyncio.gather(*(one_connection(host, port, r, lat, errors) for r in per if r))
    print(json.dumps({"lat": lat, "wall": time.perf_counter() - t0, "errors": errors}))

asyncio.run(main(**json.loads(sys.argv[1])))
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


def _split_cores(server_procs: int) -> tuple[set[int], set[int] | None]:
    """Cores for the server and for the clients (os.sched_setaffinity): the server gets the first
    ``server_procs``, the clients the rest; None when nothing is left (then the clients share the server's)."""
    cores = sorted(os.sched_getaffinity(0))
    server = set(cores[: min(server_procs, len(cores))])
    rest = set(cores) - server
    return server, rest or None


def _load(url_host: str, port: int, spec: dict, total: int, clients: int, cpus: set[int] | None) -> dict:
    """Run the phase from one client process per client core (connections split between them)."""
    procs = max(1, len(cpus) if cpus else 1)
    children = []
    for i in range(procs):
        share = {**spec, "host": url_host, "port": port, "clients": clients // procs + (i < clients % procs),
                 "total": total // procs + (i < total % procs)}  # fmt: skip
        pin = {sorted(cpus)[i]} if cpus else None
        children.append(
            subprocess.Popen(
                [sys.executable, "-c", CLIENT, json.dumps(share)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                preexec_fn=(lambda pin=pin: os.sched_setaffinity(0, pin)) if pin else None,
            )
        )
    lat: list[float] = []
    errors: dict[str, int] = {}
    wall = 0.0
    for child in children:
        out, err = child.communicate(timeout=600)
        if child.returncode != 0:
            raise RuntimeError(err[-2000:])
        result = json.loads(out)
        lat += result["lat"]
        wall = max(wall, result["wall"])
        for k, v in result["errors"].items():
            errors[k] = errors.get(k, 0) + v
    return {"lat": lat, "wall": wall, "errors": errors}


def _server_cpu(pid: int | None) -> tuple[float, float]:
    """CPU seconds (user, system) of the server: this process (pid None) or a process and its children."""
    if pid is None:
        me = resource.getrusage(resource.RUSAGE_SELF)
        return me.ru_utime, me.ru_stime
    tick = os.sysconf("SC_CLK_TCK")
    user = system = 0.0
    kids = Path(f"/proc/{pid}/task/{pid}/children")
    for p in [pid, *(int(k) for k in (kids.read_text().split() if kids.exists() else []))]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        user += int(fields[11]) / tick
        system += int(fields[12]) / tick
    return user, system


def seed(app) -> tuple[str, tuple[int, int, int], list[int]]:  # type: ignore[no-untyped-def]
    """The rows every phase reads: a user with a token, one video, one approved clip and 1,000 finished jobs.
    (token, (user id, video id, clip id), the first 200 job ids)."""
    from sqlmodel import select

    from core.models import Clip, Job, Video
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
    return token, ids, job_ids  # type: ignore[return-value]


def _phases(port: int, headers: dict, job_ids: list[int], ids: tuple, args, cpus, queries, label, pid=None) -> None:  # type: ignore[no-untyped-def]
    phases = [
        ("baseline", "GET", ["/healthz"], None),
        ("list jobs", "GET", ["/api/jobs?limit=50"], None),
        ("get job", "GET", [f"/api/jobs/{j}" for j in job_ids], None),
        ("create job", "POST", [f"/api/videos/{ids[1]}/render"], {"clip_ids": [ids[2]]}),
    ]
    if args.phase:
        phases = [p for p in phases if p[0] in ("baseline", args.phase)]
    print(f"-- {label}")
    print(
        f"{'phase':<11} {'req/s':>8} {'x base':>7} {'p50 ms':>8} {'p99 ms':>8} {'CPU ms/req':>11} {'kernel':>7}"
        f" {'queries/req':>12}"
        f" {'errors':>7}"
    )
    warm = {"method": "GET", "paths": ["/healthz", "/api/jobs?limit=5"], "body": None, "headers": headers}
    _load("127.0.0.1", port, warm, args.clients * 4, args.clients, cpus)
    base_rps = None
    for name, method, paths, body in phases:
        spec = {"method": method, "paths": paths, "body": body, "headers": headers}
        before = queries[0] if queries else 0
        cpu0 = _server_cpu(pid)
        result = _load("127.0.0.1", port, spec, args.requests, args.clients, cpus)
        cpu1 = _server_cpu(pid)
        spent = [b - a for a, b in zip(cpu0, cpu1, strict=True)]
        cpu_ms = sum(spent) * 1000 / max(1, len(result["lat"]))
        kernel = f"{100 * spent[1] / sum(spent):.0f}%" if sum(spent) else "-"
        lat = sorted(result["lat"])
        rps = len(lat) / result["wall"]
        base_rps = base_rps or rps
        p50 = statistics.median(lat) * 1000
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000
        per_request = f"{(queries[0] - before) / len(lat):.2f}" if queries else "-"
        if result["errors"]:
            print(f"  {name}: errors by kind {result['errors']}")
        errors = sum(result["errors"].values())
        print(
            f"{name:<11} {rps:>8.0f} {rps / base_rps:>7.2f} {p50:>8.1f} {p99:>8.1f} {cpu_ms:>11.2f} {kernel:>7}"
            f" {per_request:>12} {errors:>7}"
        )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=2000, help="per phase")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--workers", type=int, default=2, help="API processes of the second run (1 = skip it)")
    parser.add_argument(
        "--phase", choices=("list jobs", "get job", "create job"), help="run only this one (and the baseline)"
    )
    parser.add_argument(
        "--loop", choices=("asyncio", "uvloop"), default=LOOP, help=f"the servers' event loop (clipcast serve: {LOOP})"
    )
    args = parser.parse_args()
    if not (1 <= args.clients <= 200 and 1 <= args.requests <= 20000 and 1 <= args.workers <= 16):
        parser.error("keep it bounded: clients 1-200, requests 1-20000, workers 1-16")

    import uvicorn
    import yaml
    from sqlalchemy import event

    from core import db, tasks
    from core.api import create_app
    from core.api.app import freeze_heap
    from core.app import Clipcast
    from core.config import Settings
    from core.logging import configure

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

    token, ids, job_ids = seed(app)

    queries = [0]
    lock = threading.Lock()

    def count(*_a: object, **_k: object) -> None:
        with lock:
            queries[0] += 1

    event.listen(db.get_engine(app.db_url), "before_cursor_execute", count)
    headers = {"Authorization": f"Bearer {token}"}
    print(
        f"clients={args.clients} requests/phase={args.requests} db={args.db} "
        f"broker={'redis' if redis_url else 'none (enqueue recorded)'} python={sys.version.split()[0]} "
        f"cores={len(os.sched_getaffinity(0))} loop={args.loop} load average={os.getloadavg()[0]:.1f}"
    )
    all_cores = os.sched_getaffinity(0)
    try:
        # 1 process: the server runs in this process, pinned to one core; the clients on the others.
        server_cpus, client_cpus = _split_cores(1)
        os.sched_setaffinity(0, server_cpus)
        port = _free_port()
        api = create_app(app)
        freeze_heap()  # as `clipcast serve` does
        server = uvicorn.Server(
            uvicorn.Config(
                api,
                host="127.0.0.1",
                port=port,
                log_level="warning",
                access_log=False,
                timeout_keep_alive=30,
                **uvicorn_options(args.loop),
            )
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        where = f"clients pinned to cores {sorted(client_cpus)}" if client_cpus else "clients share its core"
        label = f"1 API process (uvicorn, pinned to core {sorted(server_cpus)}; {where})"
        try:
            _phases(port, headers, job_ids, ids, args, client_cpus, queries, label)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            os.sched_setaffinity(0, all_cores)
        if args.workers > 1:
            # Close the first run's pool (up to 60 connections): with N more pools PostgreSQL's default
            # max_connections (100) ran out ("too many clients") and the N-process run failed.
            db.get_engine(app.db_url).dispose()
            _phases_multi(args, settings, port=_free_port(), headers=headers, job_ids=job_ids, ids=ids, yaml=yaml)
    finally:
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


def _phases_multi(args, settings, *, port, headers, job_ids, ids, yaml) -> None:  # type: ignore[no-untyped-def]
    """N API processes (``clipcast serve --workers N``'s factory under uvicorn), pinned to N cores."""
    config = Path(settings.data_dir).parent / "bench.yaml"
    data = {"data_dir": str(settings.data_dir), "database_url": settings.effective_database_url,
            "redis_url": settings.redis_url, "worker": {"namespace": settings.worker.namespace}}  # fmt: skip
    config.write_text(yaml.safe_dump(data))
    server_cpus, client_cpus = _split_cores(args.workers)
    run = (f"import uvicorn; from core.api.server import uvicorn_options; uvicorn.run('core.api.asgi:app_from_config',"
           f" factory=True, workers={args.workers}, host='127.0.0.1', port={port}, log_level='warning',"
           f" access_log=False, timeout_keep_alive=30, **uvicorn_options({args.loop!r}))")  # fmt: skip
    cmd = [sys.executable, "-c", run]
    server = subprocess.Popen(
        cmd,
        env={**os.environ, "CLIPCAST_CONFIG": str(config)},
        preexec_fn=lambda: os.sched_setaffinity(0, server_cpus),
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the multi-process API did not start")
                time.sleep(0.2)
        time.sleep(3.0 * args.workers)  # every worker imports and builds the app before it accepts
        where = f"clients pinned to cores {sorted(client_cpus)}" if client_cpus else "clients share their cores"
        label = f"{args.workers} API processes (uvicorn --workers, pinned to cores {sorted(server_cpus)}; {where})"
        if not settings.redis_url:
            print("(no Redis: the create job phase of the multi-process run would run jobs in-process)")
        _phases(port, headers, job_ids, ids, args, client_cpus, None, label, pid=server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
