"""A distributed Clipcast for fault injection: a private redis-server, ``clipcast worker`` and ``clipcast scheduler``
subprocesses, the local platform fakes (slowed down so kills land inside uploads) and one SQLite database.

``tests/fakes/fault_stages.py`` kills its processes inside a chosen stage; ``tests/test_faults.py`` runs it at a
small size in CI, ``bench/fault_injection.py`` at any size by hand. Stages:
``analyze`` and ``render`` run the ffmpeg-backed stages of ``tests/test_tasks.py`` (the analyze one in the
isolated child process, as in production); ``publish`` uploads to the TikTok, YouTube, Instagram, webhook and
folder fakes, which count what went live per post.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import yaml

from core import accounts, jobs, scratch
from core.app import Clipcast
from core.config import load_settings
from core.models import Job, Post
from fakes.instagram_server import InstagramFake
from fakes.publish_env import SECRET_KEY, make_clip, vertical_video
from fakes.tiktok_server import TikTokFake
from fakes.webhook_receiver import WebhookReceiver
from fakes.youtube_server import YouTubeFake

ROOT = Path(__file__).resolve().parents[2]
CLIPCAST = [sys.executable, "-c", "from core.cli import main; main()"]
HOOK_SECRET = "whsec-fault-rig-0123456789"
PLATFORMS = ("folder", "webhook", "tiktok", "youtube", "instagram")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivateRedis:
    """redis-server on a free port, without persistence: a restart loses every message, as in repro 9."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


class Rig:
    def __init__(
        self,
        tmp: Path,
        *,
        seed: int = 0,
        latency: float = 0.08,
        worker: dict[str, Any] | None = None,
        scheduler: dict[str, Any] | None = None,
    ) -> None:
        """``worker``/``scheduler``: settings over the rig's fast ones (lease 2 s, heartbeat 3 s, sweep 0.5 s)."""
        if shutil.which("redis-server") is None:
            raise RuntimeError("redis-server is not installed")
        self.tmp = tmp
        self.rng = random.Random(seed)
        self.redis = PrivateRedis(tmp)
        self.redis.start()
        self.tt, self.yt, self.ig, self.hook = (
            TikTokFake(),
            YouTubeFake(),
            InstagramFake(),
            WebhookReceiver(HOOK_SECRET),
        )
        for fake in (self.tt, self.yt, self.ig, self.hook):
            fake.__enter__()
            fake.latency = latency
        self.ig.polls_until_finished = 0
        self.ig.quota_total = 100_000  # a long run must not meet Instagram's real 50-a-day limit (it would defer)
        self.namespace = f"faults-{uuid.uuid4().hex[:6]}"
        config = {
            "secret_key": SECRET_KEY,
            "server": {"public_base_url": "https://clips.example.com"},
            "ingest": {"allowed_networks": ["127.0.0.0/8", "::1/128"]},  # the fakes listen on loopback
            "worker": {
                "namespace": self.namespace,
                "stages": {"analyze": "test_tasks:cut_analyze", "render": "test_tasks:cut_render"},
                "isolate_analyze": True,
                "lease_seconds": 2,
                "heartbeat_timeout": 3,
                "check_delay": 0.3,
                "min_backoff": 0.2,
                "max_backoff": 1,
                "max_retries": 20,
                "clean_interval": 2,  # dead processes' scratch goes soon (production: 600 s)
                **(worker or {}),
            },
            "scheduler": {"dispatch_interval": 0.3, "sweep_interval": 0.5, "lock_ttl": 3, **(scheduler or {})},
            "publishers": {
                "tiktok": self.tt.options(),
                "youtube": self.yt.options(),
                "instagram": self.ig.options(),
                "webhook": {"url": f"{self.hook.url}/hook", "secret": HOOK_SECRET, "backoff_seconds": 0.05},
            },
        }
        self.config = tmp / "clipcast.yaml"
        self.config.write_text(yaml.safe_dump(config))
        self.env = {
            **os.environ,
            "REDIS_URL": self.redis.url,
            "CLIPCAST_DATA_DIR": str(tmp / "data"),
            "CLIPCAST_CONFIG": str(self.config),
            "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'tests'}",
            "CLIPCAST_PLUGINS": "fakes.slow_outbox",  # a folder copy takes 0.4 s: a kill can land inside it
            "CUT_ANALYZE_SLEEP": "0.1",  # the test analysis "listens" 0.5 s: long enough to kill it inside
        }
        saved = {k: os.environ.get(k) for k in ("REDIS_URL", "CLIPCAST_DATA_DIR", "CLIPCAST_CONFIG")}
        os.environ.update({k: self.env[k] for k in saved})
        try:
            self.app = Clipcast(load_settings())
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._starts: dict[str, int] = {}
        self.dead_pids: list[int] = []
        self.dead_children: dict[int, list[tuple[int, str]]] = {}  # killed pid → its children then (pid, start)
        self.ports: dict[str, int] = {}
        self.accounts = self._connect_all()
        self.video = vertical_video(tmp / "vertical.mp4", seconds=3.5)  # Reels need at least 3 s
        self.source = tmp / "talk.mp4"
        from test_tasks import make_video

        make_video(self.source, seconds=3.0)

    # ------------------------------------------------------------------------------------------ processes

    def start(self, role: str, *, wait: bool = True) -> None:
        """Start ``role``: ``worker``, ``scheduler`` or ``api``, optionally numbered (``worker-1``: several of a
        kind run at once). ``wait``: until it says it runs (Python start-up takes seconds)."""
        kind = role.split("-")[0]
        if kind == "worker":
            args = ["worker", "--threads", "2"]
        elif kind == "scheduler":
            args = ["scheduler"]
        else:
            self.ports.setdefault(role, free_port())
            args = ["serve", "--host", "127.0.0.1", "--port", str(self.ports[role])]
        path = self.tmp / f"{role}.log"
        before = self._marks(role) if path.exists() else 0
        self._starts[role] = before + 1
        log = open(path, "ab")  # noqa: SIM115 (the child owns it)
        self.procs[role] = subprocess.Popen(
            [*CLIPCAST, *args], env=self.env, cwd=ROOT, start_new_session=True, stdout=log, stderr=log
        )
        if wait:
            self.wait_until(lambda: self.started(role), 90, f"{role} start")

    def _marks(self, role: str) -> int:
        text = (self.tmp / f"{role}.log").read_text(errors="replace")
        kind = role.split("-")[0]
        if kind == "worker":
            return text.count("worker started")
        if kind == "scheduler":
            return text.count("scheduler active") + text.count("standing by")
        return text.count("Application startup complete")

    def api_url(self, role: str) -> str:
        return f"http://127.0.0.1:{self.ports[role]}"

    def started(self, role: str) -> bool:
        if role not in self.procs or self.procs[role].poll() is not None:
            return False
        if role.startswith("api"):
            try:
                with socket.create_connection(("127.0.0.1", self.ports[role]), timeout=0.2):
                    return True
            except OSError:
                return False
        return (self.tmp / f"{role}.log").exists() and self._marks(role) >= self._starts[role]

    def role_of(self, pid: int) -> str | None:
        return next((r for r, p in self.procs.items() if p.pid == pid and p.poll() is None), None)

    def kill(self, role: str) -> int | None:
        """kill -9 the process of ``role`` (only it: its children must die by themselves); returns its pid."""
        proc = self.procs.pop(role, None)
        if proc is None or proc.poll() is not None:
            return None
        self.kill_pid(proc.pid)
        proc.wait()
        return proc.pid

    def kill_pid(self, pid: int) -> None:
        self.dead_children[pid] = children_of(pid)
        self.dead_pids.append(pid)
        os.kill(pid, signal.SIGKILL)

    def stop_gracefully(self, role: str, timeout: float = 60) -> str:
        """SIGTERM ``role`` and wait for it; returns what it logged while stopping."""
        path = self.tmp / f"{role}.log"
        before = path.stat().st_size if path.exists() else 0
        proc = self.procs.pop(role)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=timeout)
        with open(path, "rb") as f:
            f.seek(before)
            return f.read().decode(errors="replace")

    def close(self) -> None:
        for role in list(self.procs):
            proc = self.procs.pop(role)
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        for fake in (self.tt, self.yt, self.ig, self.hook):
            fake.__exit__(None, None, None)
        self.redis.stop()

    # ------------------------------------------------------------------------------------------ work

    def _connect_all(self) -> dict[str, int]:
        app = self.app
        out = {"folder": accounts.save_connection(app, "folder", {}, name="outbox").id}
        out["webhook"] = accounts.save_connection(app, "webhook", {}, name="hook").id
        for platform, fake, redirect, tail in (
            ("tiktok", self.tt, "http://127.0.0.1:9/callback", ""),
            ("youtube", self.yt, "http://127.0.0.1:9/callback", ""),
            ("instagram", self.ig, "https://clips.example.com/callback", "#_"),
        ):
            pending = accounts.begin_connect(app, platform, redirect)
            out[platform] = accounts.finish_connect(app, pending, fake.authorize(pending.url) + tail).id  # type: ignore[attr-defined]
        return out  # type: ignore[return-value]

    def new_posts(self) -> list[int]:
        """One post per platform, due now (the scheduler dispatches them)."""
        from core.pipeline.publish import schedule_post

        ids = []
        for platform in PLATFORMS:
            clip = make_clip(self.app, self.video, title=f"fault {uuid.uuid4().hex[:6]}", duration=3.5)
            ids.append(schedule_post(self.app, clip, self.accounts[platform], at=_now()).id)  # type: ignore[arg-type]
        return ids

    def new_process_job(self) -> int:
        from core import tasks

        job = jobs.create_job(self.app, "process", options={"source": str(self.source)})
        tasks.enqueue(self.app, job)
        return job.id  # type: ignore[return-value]

    def wait_until(self, predicate: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; {self.describe()}")
            time.sleep(0.1)

    def unfinished(self) -> tuple[list[Any], list[Any]]:
        with self.app.session() as s:
            js = [j for j in s.exec(_select(Job)) if j.status not in jobs.FINAL]
            ps = [p for p in s.exec(_select(Post)) if p.status not in ("published", "failed", "cancelled")]
        return js, ps

    def describe(self) -> str:
        js, ps = self.unfinished()
        return (
            f"jobs {[(j.id, j.kind, j.status, j.stage, j.owner, j.message) for j in js]} "
            f"posts {[(p.id, p.platform, p.status, p.owner, p.error) for p in ps]}"
        )

    def settled(self) -> bool:
        js, ps = self.unfinished()
        return not js and not ps

    # ------------------------------------------------------------------------------------------ checks

    def orphans(self) -> list[int]:
        """Children of killed processes that still run (they should have died with their parent)."""
        return sorted({pid for kids in self.dead_children.values() for pid, start in kids if still_running(pid, start)})

    def verdict(self) -> dict[str, Any]:
        """What an exactly-once run must show: every job ended well, every post published once, no leftovers."""
        with self.app.session() as s:
            all_jobs = list(s.exec(_select(Job)))
            posts = list(s.exec(_select(Post)))
        by = {p: [x for x in posts if x.platform == p] for p in PLATFORMS}
        outbox = self.app.settings.data_dir / "outbox"
        folders = [d for d in outbox.iterdir() if not d.name.startswith(".")] if outbox.is_dir() else []
        live = {
            "folder": len(folders),
            "webhook": len(self.hook.accepted),
            "tiktok": self.tt.published(),
            "youtube": len(self.yt.videos),
            "instagram": len(self.ig.media),
        }
        leftovers = [str(p) for p in outbox.glob(".part-*")] if outbox.is_dir() else []
        storage = Path(getattr(self.app.storage, "root", self.tmp / "none"))
        leftovers += [str(p) for p in storage.rglob(".part-*")] if storage.is_dir() else []
        data_tmp = self.app.settings.data_dir / "tmp"
        now = time.time()
        if data_tmp.is_dir():
            leftovers += [str(p) for p in data_tmp.iterdir() if scratch.stale(p, now)]
        system = Path(tempfile.gettempdir())
        leftovers += [str(p) for p in system.glob("clipcast-*") if any(f"-{pid}-" in p.name for pid in self.dead_pids)]
        orphans = _analysis_children(self.dead_pids) + self.orphans()
        return {
            "jobs": len(all_jobs),
            "jobs_not_succeeded": [(j.id, j.kind, j.status, j.error) for j in all_jobs if j.status != "succeeded"],
            "posts": {p: len(v) for p, v in by.items()},
            "posts_not_published": [(p.id, p.platform, p.status, p.error) for p in posts if p.status != "published"],
            "live_on_platforms": live,
            "duplicates": {p: live[p] - len(by[p]) for p in PLATFORMS if live[p] > len(by[p])},
            "lost": {p: len(by[p]) - live[p] for p in PLATFORMS if live[p] < len(by[p])},
            "leftovers": leftovers,
            "orphan_children": orphans,
            "webhook_redeliveries": sum(1 for _, again in self.hook.deliveries if again),
        }


def children_of(pid: int) -> list[tuple[int, str]]:
    """The live children of ``pid``: (pid, start time) so a reused pid is not mistaken for one of them."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            stat = (proc / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == pid:
            found.append((int(proc.name), fields[19]))
    return found


def still_running(pid: int, start: str) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    fields = stat[stat.rindex(")") + 2 :].split()
    return fields[19] == start and fields[0] != "Z"


def _select(model: Any) -> Any:
    from sqlmodel import select

    return select(model)


def _now() -> Any:
    from core.models import utcnow

    return utcnow()


def _analysis_children(dead_parents: list[int]) -> list[int]:
    """Analysis children (``-m core.tasks analyze-child``) whose parent was one of the killed workers."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmd = (proc / "cmdline").read_bytes().split(b"\0")
            environ = (proc / "environ").read_bytes()
        except OSError:
            continue
        if b"analyze-child" in cmd and any(f"CLIPCAST_PARENT={pid}".encode() in environ for pid in dead_parents):
            found.append(int(proc.name))
    return found
