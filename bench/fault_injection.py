"""Fault injection at any size: kill -9 the worker or the scheduler at random moments inside analysis, rendering,
dispatch and every publisher's upload, restart it, and check that nothing was lost, duplicated or left behind.

    .venv/bin/python bench/fault_injection.py [--cycles 60] [--seed 13] [--latency 0.08]

The same rig as tests/test_faults.py (which runs 2 cycles in CI): a private redis-server (redis-server must be
installed), ``clipcast worker`` and ``clipcast scheduler`` subprocesses, the local platform fakes slowed by
``--latency`` seconds per request so kills land inside uploads. It prints how many kills landed in each stage
(the stages really in flight at that moment) and the verdict; exit status 1 when anything was lost, duplicated,
stuck or left behind.
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
    from fakes.fault_rig import Rig, run_faults

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=60)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--latency", type=float, default=0.08, help="seconds added to every fake platform request")
    parser.add_argument("--settle", type=float, default=300, help="seconds allowed for everything to end")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="clipcast-faults-") as tmp:
        rig = Rig(Path(tmp), seed=args.seed, latency=args.latency)
        started = time.monotonic()
        try:
            verdict = run_faults(rig, cycles=args.cycles, settle=args.settle)
        finally:
            rig.close()
    print(f"{args.cycles} cycles in {time.monotonic() - started:.0f} s")
    print("kills per stage in flight:", json.dumps(dict(sorted(rig.tally.injections.items()))))
    took = sorted(rig.tally.takeover_s)
    if took:
        print(
            f"kill -9 → the dead worker's jobs released and sent again (or ended): {len(took)} kills, "
            f"p50 {took[len(took) // 2]:.1f} s, max {took[-1]:.1f} s "
            "(bound: lease 2 s + sweep 0.5 s in this rig)"
        )
    print("verdict:", json.dumps(verdict, default=str))
    bad = (
        any(verdict[k] for k in ("jobs_not_succeeded", "posts_not_published", "duplicates", "lost", "leftovers"))
        or verdict["orphan_children"]
    )
    print("RESULT:", "FAIL" if bad else "0 lost, 0 duplicated, 0 stuck, 0 left behind")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
