"""Throughput of 1 vs 2 worker processes on the same batch of short talk videos (clips per minute).

Runs the real pipeline (ingest → bundled tiny.en transcription → heuristic selection → render) through Redis and
``clipcast worker --processes N --threads 1`` subprocesses, each run in a fresh data directory and Redis namespace
so nothing is cached between runs. The baseline is the 1-process run measured in the same invocation.

    .venv/bin/python bench/worker_throughput.py [--videos 4] [--clips 2]
    .venv/bin/python bench/worker_throughput.py --publish-latency [--posts 20] [--backlog 6]

``--publish-latency``: due → started of publish jobs (p50/p99) with an empty render queue (the baseline) and then
under a full render backlog (``--backlog`` process jobs of 3 clips each, every render 1.5 s in real time, more
than the render slots), through a private redis-server and one ``clipcast worker`` (tests/fakes/fault_rig.py).

Needs Redis (REDIS_URL, default redis://127.0.0.1:6379/15), ffmpeg and espeak-ng. Transcription uses
``BENCH_STT_THREADS`` CPU threads per worker (default 1). ffmpeg and CTranslate2 already use several cores for one
job, so on a 2-core machine a second process gains less than 2x; other load on the machine lowers it further.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import redis
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TEXTS = [
    "Welcome back. Today we look at how small teams ship software every single week without burning out.",
    "The first rule is to keep every change small. Small changes are easy to review and easy to undo.",
    "Measure what matters. If a number does not change a decision, stop collecting it and save the time.",
    "Good documentation answers the question why. The code already tells you what it does.",
    "Automate the boring parts first. Every manual step in a release is a step that will one day be skipped.",
    "Talk to your users every week. Their problems are the best roadmap you will ever get.",
    "Tests are a safety net, not a goal. Write the ones that would catch the bugs you actually had.",
    "Finally, rest. Tired people write the bugs that rested people spend next week fixing.",
]


def make_videos(folder: Path, count: int) -> list[Path]:
    from core.media.synth import talk_video

    videos = []
    for i in range(count):
        a, b = TEXTS[(2 * i) % len(TEXTS)], TEXTS[(2 * i + 1) % len(TEXTS)]
        videos.append(talk_video([a, b, a], folder / f"talk{i}.mp4", size="640x360", words_per_minute=160 + i))
    return videos


def run_once(videos: list[Path], processes: int, clips: int, redis_url: str, work: Path) -> tuple[float, int]:
    from core import jobs, tasks
    from core.app import Clipcast
    from core.config import load_settings
    from core.models import JobStatus

    namespace = f"cc-bench-{uuid.uuid4().hex[:8]}"
    data = work / f"data-{processes}"
    config = work / f"clipcast-{processes}.yaml"
    stt_threads = int(os.environ.get("BENCH_STT_THREADS", "1"))  # one core per worker process, as deployed
    config.write_text(
        yaml.safe_dump(
            {
                "worker": {"namespace": namespace, "concurrency": {"analyze": 2, "render": 2, "publish": 2}},
                "stt": {"backend": "faster-whisper", "faster-whisper": {"cpu_threads": stt_threads}},
            }
        )
    )
    env = {**os.environ, "REDIS_URL": redis_url, "CLIPCAST_DATA_DIR": str(data), "CLIPCAST_CONFIG": str(config)}
    os.environ.update({k: env[k] for k in ("REDIS_URL", "CLIPCAST_DATA_DIR", "CLIPCAST_CONFIG")})
    app = Clipcast(load_settings())
    client = redis.Redis.from_url(redis_url)
    cmd = [sys.executable, "-c", "from core.cli import main; main()", "worker", "--processes", str(processes)]
    proc = subprocess.Popen(
        [*cmd, "--threads", "1"],
        env=env,
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while client.zcard(f"{namespace}:__heartbeats__") < processes:  # every worker process is up
            if time.monotonic() > deadline:
                raise RuntimeError("workers did not start")
            time.sleep(0.2)
        render = {"reframe": "crop", "preset": "veryfast", "remove_silence": False}
        started = time.monotonic()
        ids = []
        for video in videos:
            job = jobs.create_job(
                app,
                "process",
                options={
                    "source": str(video),
                    "request": {"clips": clips, "min_seconds": 3, "max_seconds": 12},
                    "render_options": render,
                },
            )
            tasks.enqueue(app, job)
            ids.append(job.id)
        done = [jobs.wait_for_job(app, i, timeout=1800) for i in ids]
        elapsed = time.monotonic() - started
        failed = [j for j in done if j.status != JobStatus.SUCCEEDED]
        if failed:
            raise RuntimeError(f"{len(failed)} jobs failed: {failed[0].stage}: {failed[0].error}")
        rendered = sum(len(jobs.children(app, j.id)) for j in done)
        return elapsed, rendered
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        keys = list(client.scan_iter(f"{namespace}:*"))
        if keys:
            client.delete(*keys)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def publish_latency(posts: int, backlog: int) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from fakes.fault_rig import Rig
    from fakes.publish_env import make_clip

    from core.leases import aware
    from core.models import Job, Post
    from core.pipeline.publish import schedule_post

    def measure(rig: Rig, label: str) -> None:
        ids = [
            schedule_post(rig.app, make_clip(rig.app, rig.video, title=f"{label}{i}", duration=3.5),
                          rig.accounts["folder"]).id
            for i in range(posts)
        ]  # fmt: skip

        def published() -> bool:
            with rig.app.session() as s:
                return all(s.get(Post, i).status == "published" for i in ids)

        rig.wait_until(published, 300, "posts to be published")
        with rig.app.session() as s:
            due = {p.id: aware(p.scheduled_at) for p in s.exec(select(Post)) if p.id in ids}
            started = {
                j.options["post_id"]: aware(j.started_at) for j in s.exec(select(Job).where(Job.kind == "publish"))
                if j.options.get("post_id") in due and j.started_at
            }  # fmt: skip
        lat = [(started[i] - due[i]).total_seconds() for i in ids]
        print(
            f"{label}: {posts} posts, due → started "
            f"p50 {_percentile(lat, 0.5):.2f} s, p99 {_percentile(lat, 0.99):.2f} s"
        )

    from sqlmodel import select

    with tempfile.TemporaryDirectory(prefix="clipcast-bench-") as tmp:
        rig = Rig(Path(tmp), latency=0.0)
        try:
            rig.start("scheduler")
            rig.start("worker")
            measure(rig, "baseline (no renders queued)")
            for _ in range(backlog):
                rig.new_process_job()
            time.sleep(3)  # analyses done, renders queued behind the slots
            measure(rig, f"under a render backlog ({backlog * 3} renders, 1.5 s each)")
        finally:
            rig.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=4)
    parser.add_argument("--clips", type=int, default=2, help="clips asked for per video")
    parser.add_argument("--publish-latency", action="store_true", help="publish due → started under a backlog")
    parser.add_argument("--posts", type=int, default=20)
    parser.add_argument("--backlog", type=int, default=6, help="process jobs (3 renders each) queued first")
    args = parser.parse_args()
    if args.publish_latency:
        publish_latency(args.posts, args.backlog)
        return
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
    with tempfile.TemporaryDirectory(prefix="clipcast-bench-") as tmp:
        work = Path(tmp)
        t0 = time.monotonic()
        videos = make_videos(work, args.videos)
        print(f"generated {len(videos)} talk videos in {time.monotonic() - t0:.1f} s (not measured)")
        results = {}
        for processes in (1, 2):
            elapsed, clips = run_once(videos, processes, args.clips, redis_url, work)
            results[processes] = (elapsed, clips)
            rate = clips / elapsed * 60
            print(f"{processes} worker process(es): {clips} clips in {elapsed:.1f} s = {rate:.1f} clips/min")
        (e1, c1), (e2, c2) = results[1], results[2]
        ratio = (c2 / e2) / (c1 / e1)
        print(f"speed-up with 2 processes: {ratio:.2f}x (baseline: 1 process, same run; cpus={os.cpu_count()})")


if __name__ == "__main__":
    main()
