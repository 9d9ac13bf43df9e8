"""The API's own CPU per request, without a network: the ASGI app called directly from one event loop.

    .venv/bin/python bench/api_inprocess.py [--concurrency 50] [--requests 1000] [--db sqlite|postgres]
    .venv/bin/python bench/api_inprocess.py --phases list --profile 40     # cProfile's top 40 for one phase
    py-spy record --format raw -o list.raw -- .venv/bin/python bench/api_inprocess.py --phases list

bench/api_load.py measures what clients see (req/s, p50/p99 over real sockets). This one measures only what a
request costs the server process, so a change to a route, a dependency or the database layer shows up without
the HTTP stack's and the clients' noise. It is the harness that found the thread-hop and full-GC costs
(docs/architecture.md, "Speed at hour scale"). The data are bench/api_load.py's (1,000 jobs of one user, one
video, one approved clip); ``create`` queues a render job per request, with the broker call left out.
CPU is this process's (all threads), in ms per request; the heap is frozen first, as ``clipcast serve`` does.
The figures move with the machine's other load (a busy sibling core slows this one): compare runs made
one after the other, and repeat.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PHASES = ("healthz", "list", "get", "create")


class Driver:
    """Calls the ASGI app with complete HTTP requests and checks each status."""

    def __init__(self, asgi, token: str) -> None:  # type: ignore[no-untyped-def]
        self.asgi = asgi
        self.headers = [(b"host", b"bench"), (b"authorization", f"Bearer {token}".encode())]

    async def call(self, method: str, path: str, body: bytes = b"") -> int:
        route, _, query = path.partition("?")
        headers = list(self.headers)
        if body:
            headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
                 "path": route, "raw_path": route.encode(), "query_string": query.encode(), "headers": headers,
                 "scheme": "http", "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1), "root_path": "",
                 "state": {}}  # fmt: skip
        sent = asyncio.Event()
        status = [0]

        async def receive() -> dict:
            if not sent.is_set():
                sent.set()
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()  # no disconnect: the response ends the call
            return {}

        async def send(message: dict) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]

        await self.asgi(scope, receive, send)
        return status[0]

    async def startup(self) -> None:
        queue: asyncio.Queue = asyncio.Queue()
        await queue.put({"type": "lifespan.startup"})
        started = asyncio.Event()

        async def send(message: dict) -> None:
            if message["type"].startswith("lifespan.startup"):
                started.set()

        self._lifespan = asyncio.ensure_future(
            self.asgi({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, queue.get, send)
        )
        await started.wait()


async def _phase(driver: Driver, request, total: int, concurrency: int) -> None:  # type: ignore[no-untyped-def]
    async def client(k: int) -> None:
        for i in range(k, total, concurrency):
            status = await driver.call(*request(i))
            if status >= 300:
                raise SystemExit(f"request {request(i)[:2]} answered {status}")

    await asyncio.gather(*(client(k) for k in range(concurrency)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=50, help="requests in flight")
    parser.add_argument("--requests", type=int, default=1000, help="per phase (create: half)")
    parser.add_argument("--phases", default=",".join(PHASES), help=f"comma-separated, of {', '.join(PHASES)}")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--profile", type=int, metavar="N", help="print cProfile's top N functions per phase")
    args = parser.parse_args()
    phases = args.phases.split(",")
    if not set(phases) <= set(PHASES) or not (1 <= args.concurrency <= 500 and 1 <= args.requests <= 100_000):
        parser.error("phases from the list; concurrency 1-500; requests 1-100000")

    from api_load import _postgres_db, seed

    from core import db, tasks
    from core.api import create_app
    from core.api.app import freeze_heap
    from core.app import Clipcast
    from core.config import Settings
    from core.logging import configure

    configure("WARNING", "console")
    pg = _postgres_db() if args.db == "postgres" else None
    url = pg[0].rsplit("/", 1)[0] + f"/{pg[1]}" if pg else None
    app = Clipcast(Settings(data_dir=Path(tempfile.mkdtemp(prefix="clipcast-bench-")) / "data", database_url=url))
    tasks.enqueue = lambda app, job, **kw: None  # type: ignore[assignment]
    token, (_user, video, clip), jobs = seed(app)
    requests = {
        "healthz": lambda i: ("GET", "/healthz"),
        "list": lambda i: ("GET", "/api/jobs?limit=50"),
        "get": lambda i: ("GET", f"/api/jobs/{jobs[i % len(jobs)]}"),
        "create": lambda i: ("POST", f"/api/videos/{video}/render", f'{{"clip_ids": [{clip}]}}'.encode()),
    }
    driver = Driver(create_app(app), token)
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(driver.startup())
        freeze_heap()
        print(f"{args.db}, {args.concurrency} in flight, load average {os.getloadavg()[0]:.1f}")
        for name in phases:
            total = args.requests // 2 if name == "create" else args.requests
            loop.run_until_complete(_phase(driver, requests[name], min(total, 100), args.concurrency))  # warm-up
            profile = cProfile.Profile() if args.profile else None
            c0, t0 = time.process_time(), time.perf_counter()
            if profile:
                profile.enable()
            loop.run_until_complete(_phase(driver, requests[name], total, args.concurrency))
            if profile:
                profile.disable()
            cpu, wall = (time.process_time() - c0) * 1000 / total, (time.perf_counter() - t0) * 1000 / total
            print(f"{name:<8} {cpu:6.2f} CPU ms/request  {wall:6.2f} wall ms/request  ({total} requests)", flush=True)
            if profile:
                pstats.Stats(profile).sort_stats("cumulative").print_stats(args.profile)
    finally:
        loop.close()
        if pg:
            import psycopg

            db.get_engine(app.db_url).dispose()
            with psycopg.connect(pg[0], autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{pg[1]}" WITH (FORCE)')


if __name__ == "__main__":
    main()
