"""Stage-targeted fault injection at any size: wait until a process is really inside a stage, kill -9 it, start a
replacement, and check that nothing was lost, duplicated, stuck, mutated or left behind.

    .venv/bin/python bench/fault_injection.py [--per-stage 50] [--stages worker:render,cli:publish] [--seed 13]

Stages (``--stages``, default all): worker:analyze, worker:render, worker:publish:{youtube,tiktok,instagram,folder,
webhook}, scheduler:dispatch, cli:publish, api:upload, api:post. The rig (tests/fakes/fault_rig.py and
fault_stages.py, the same as tests/test_faults.py): a private redis-server, two ``clipcast worker``, two
``clipcast scheduler`` (one standing by), two ``clipcast serve`` (API stages), the platform fakes with
``--latency`` seconds per request. Injections go round-robin over the stages, so a run cut short has every stage.
Prints one line per injection, then the per-stage table; exit status 1 when anything was lost, duplicated, stuck,
mutated, left behind or orphaned.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def main() -> int:
    from fakes.fault_rig import Rig
    from fakes.fault_stages import STAGES, run_targeted

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-stage", type=int, default=5, help="injections per stage")
    parser.add_argument("--stages", default=",".join(STAGES), help="comma-separated stages (default: all)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument(
        "--until", default=None, help="UTC time HH:MM after which no new round starts (then it settles and prints)"
    )
    parser.add_argument("--latency", type=float, default=0.08, help="seconds added to every fake platform request")
    parser.add_argument(
        "--redelivery",
        type=int,
        default=0,
        help="instead: kill -9 a worker holding prefetched, unstarted messages this many times and time their "
        "redelivery (with the rig's fast settings, or --production-timeouts)",
    )
    parser.add_argument(
        "--production-timeouts",
        action="store_true",
        help="with --redelivery: the default heartbeat_timeout, lease_seconds and sweep_interval",
    )
    args = parser.parse_args()
    if args.redelivery:
        return redelivery(args)
    stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    unknown = set(stages) - set(STAGES)
    if unknown:
        parser.error(f"unknown stages {sorted(unknown)}; use some of {', '.join(STAGES)}")
    with tempfile.TemporaryDirectory(prefix="clipcast-faults-") as tmp:
        rig = Rig(Path(tmp), seed=args.seed, latency=args.latency)
        started = time.monotonic()
        try:
            run = run_targeted(
                rig, stages, args.per_stage, progress=lambda line: print(line, flush=True), until=_until(args.until)
            )
            table, rows = run.table()
            verdict = rig.verdict()
        finally:
            rig.close()
    if args.until:
        print(f"\nno new round after {args.until} UTC: the figures below are what was reached")
    print(f"\n{sum(r['tried'] for r in rows.values())} injections in {time.monotonic() - started:.0f} s "
          f"(per stage {args.per_stage}, seed {args.seed}, latency {args.latency} s)")  # fmt: skip
    print("injections = landed inside the stage / tried; recovery = kill -9 → the work ended")
    print(table)
    problems = run.problems()
    for stage, kind, what in problems[:40]:
        print(f"  {stage} {kind}: {str(what)[:300]}")
    bad_rows = any(
        r[k] for r in rows.values() for k in ("lost", "duplicated", "stuck", "mutated", "leftovers", "orphans")
    )
    bad_all = any(verdict[k] for k in ("jobs_not_succeeded", "posts_not_published", "duplicates", "lost", "leftovers"))
    bad_all = bad_all or bool(verdict["orphan_children"])
    keys = ("jobs", "posts", "live_on_platforms", "duplicates", "lost", "leftovers", "orphan_children")
    print("whole run:", json.dumps({k: verdict[k] for k in (*keys, "webhook_redeliveries")}))
    print("RESULT:", "FAIL" if bad_rows or bad_all else "0 lost, 0 duplicated, 0 stuck, 0 mutated, 0 left behind")
    return 1 if bad_rows or bad_all else 0


def _until(text: str | None) -> float | None:
    if not text:
        return None
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    hour, minute = (int(x) for x in text.split(":"))
    return now.replace(hour=hour, minute=minute, second=0, microsecond=0).timestamp()


def redelivery(args: argparse.Namespace) -> int:
    from fakes.fault_rig import Rig
    from fakes.fault_stages import measure_redelivery

    from core.config import SchedulerSettings, WorkerSettings

    worker, scheduler = {}, {}
    if args.production_timeouts:
        w, sch = WorkerSettings(), SchedulerSettings()
        worker = {"heartbeat_timeout": w.heartbeat_timeout, "lease_seconds": w.lease_seconds}
        scheduler = {"sweep_interval": sch.sweep_interval}
    with tempfile.TemporaryDirectory(prefix="clipcast-redelivery-") as tmp:
        rig = Rig(Path(tmp), seed=args.seed, latency=args.latency, worker=worker, scheduler=scheduler)
        try:
            found = measure_redelivery(rig, kills=args.redelivery)
            s = rig.app.settings
        finally:
            rig.close()
    print(
        f"settings: heartbeat_timeout {s.worker.heartbeat_timeout} s, maintenance_chance "
        f"{s.worker.maintenance_chance}/1e6, lease_seconds {s.worker.lease_seconds} s, sweep_interval "
        f"{s.scheduler.sweep_interval} s, reconciler grace 5 s; dead_message_ttl Dramatiq's default (7 days)"
    )
    for r in found["rounds"]:
        print(f"  round: {r['held']} prefetched unstarted messages held by the killed worker, waits {r['waits_s']}")
    if found["p50_s"] is None:
        print("no round held its messages in one worker")
        return 1
    print(
        f"kill -9 → another worker starts each prefetched message: {found['messages']} messages, "
        f"p50 {found['p50_s']:.1f} s, max {found['max_s']:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
