"""Stage-targeted fault injection: wait until a process is really inside a stage, then ``kill -9`` it.

Each injection starts one piece of work, waits until the target is inside its stage (the job row's stage, an
``ffmpeg`` child of the worker, the platform fake serving an upload request, an outbox ``.part-`` directory, an
API request whose body is half sent...), kills the process that does it, starts a replacement at once and waits
until the work has ended. Then, per stage: every job ended well, every post is published exactly once (the fakes
count what they received per post), nothing is stuck, the bytes a platform received are the render the post was
scheduled with, no file and no child process of a killed process is left. Recovery time is kill → the work ended.

Used by ``tests/test_faults.py`` (a few injections) and ``bench/fault_injection.py`` (``--per-stage N``).
"""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import requests
from sqlmodel import select

from core import jobs
from core.leases import aware
from core.models import Clip, Job, Post, SocialAccount, Video, utcnow
from fakes.fault_rig import CLIPCAST, ROOT, Rig
from fakes.publish_env import make_clip

PUBLISHERS = ("youtube", "tiktok", "instagram", "folder", "webhook")
STAGES = (
    "worker:analyze",
    "worker:render",
    *(f"worker:publish:{p}" for p in PUBLISHERS),
    "scheduler:dispatch",
    "cli:publish",
    "api:upload",
    "api:post",
)
FINAL_POST = ("published", "failed", "cancelled")
#: Where each publisher's upload is in flight at its fake (method, path regex).
UPLOADS = {
    "youtube": ("PUT", r"/upload/session/\w+"),
    "tiktok": ("PUT", r"/upload/"),
    "instagram": ("POST", r"/v[\d.]+/\w+/media(_publish)?"),
    "webhook": ("POST", r"/hook"),
}


@dataclass
class Injection:
    stage: str
    landed: bool = False
    detail: str = ""
    victim: int | None = None
    killed_at: float = 0.0
    recovered_s: float | None = None
    posts: list[int] = field(default_factory=list)
    jobs: list[int] = field(default_factory=list)
    videos: list[int] = field(default_factory=list)
    problems: dict[str, list[Any]] = field(default_factory=dict)

    def problem(self, kind: str, what: Any) -> None:
        self.problems.setdefault(kind, []).append(what)


def owner_pid(owner: str | None) -> int | None:
    """``worker:host:pid:nonce`` → pid."""
    if not owner:
        return None
    try:
        return int(owner.split(":")[2])
    except (IndexError, ValueError):
        return None


def sha_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def wait_for(predicate: Callable[[], Any], timeout: float, poll: float = 0.01) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    return None


class Targeted:
    """Runs stage-targeted injections on a ``Rig`` with ``workers`` workers, two schedulers (one standing by) and
    ``apis`` API processes, so a replacement can boot while the others carry on."""

    def __init__(self, rig: Rig, *, workers: int = 2, apis: int = 2, recover_timeout: float = 90) -> None:
        self.rig = rig
        self.roles = {
            "worker": [f"worker-{i}" for i in range(workers)],
            "scheduler": ["scheduler-0", "scheduler-1"],
            "api": [f"api-{i}" for i in range(apis)],
        }
        self.recover_timeout = recover_timeout
        self.injections: list[Injection] = []
        self.expected_sha: dict[int, str] = {}  # post id → sha of its render when it was scheduled
        self.tags: dict[int, str] = {}  # post id → the unique word in its title and caption
        self.small = rig.video
        self.token: str | None = None
        self.user_id: int | None = None
        self.n = 0
        self.lock = threading.RLock()  # lanes run in threads: process table and counters under one lock

    # ------------------------------------------------------------------------------------------ processes

    def boot(self, stages: list[str]) -> None:
        kinds = {"worker", "scheduler"} | ({"api"} if any(s.startswith("api:") for s in stages) else set())
        if "api" in kinds:
            self._admin()
        for kind in sorted(kinds):
            for role in self.roles[kind]:
                self.rig.start(role, wait=False)
        for kind in sorted(kinds):
            for role in self.roles[kind]:
                self.rig.wait_until(lambda r=role: self.rig.started(r), 120, f"{role} start")

    def live(self, kind: str) -> list[str]:
        return [r for r in self.roles[kind] if self.rig.started(r)]

    def ensure(self, kind: str) -> str:
        with self.lock:
            for role in self.roles[kind]:
                if role not in self.rig.procs:
                    self.rig.start(role, wait=False)
        found = wait_for(lambda: self.live(kind), 120, 0.05)
        if not found:
            raise AssertionError(f"no {kind} came up; {self.rig.describe()}")
        return found[0]

    def kill(self, inj: Injection, pid: int, *, cli: bool = False) -> bool:
        """kill -9 ``pid`` and start its replacement at once; False when another lane killed it first."""
        with self.lock:
            role = self.rig.role_of(pid)
            if role is None and not cli:
                inj.landed, inj.detail = False, f"{inj.detail}; its process was already killed by another injection"
                return False
            inj.victim = pid
            inj.killed_at = time.monotonic()
            if role is None:  # a CLI process (not a rig role)
                self.rig.kill_pid(pid)
            else:
                self.rig.kill(role)
                self.rig.start(role, wait=False)  # the replacement boots while the others take over
            return True

    def alive(self, pid: int | None) -> int | None:
        """``pid`` when it is one of the rig's running processes."""
        return pid if pid is not None and self.rig.role_of(pid) else None

    def _admin(self) -> None:
        from core import users

        with self.rig.app.session() as s:
            user = users.create_user(s, "faults@example.com", "fault-rig-password-1", is_admin=True)
            _, self.token = users.create_token(s, user, name="fault rig")
            self.user_id = user.id
            for account in s.exec(select(SocialAccount)):
                account.user_id = user.id
                s.add(account)

    # ------------------------------------------------------------------------------------------ work

    def new_post(self, platform: str, *, at: Any = None, schedule: bool = True) -> tuple[int, int]:
        """A clip (its own tag in title and caption) and, when ``schedule``, its post due ``at`` (default now)."""
        from core.pipeline.publish import schedule_post

        with self.lock:
            self.n += 1
            tag = f"fault{self.n}x{uuid.uuid4().hex[:6]}"
        clip = make_clip(self.rig.app, self.small, title=tag, caption=f"{tag} says hi", duration=3.5)
        with self.rig.app.session() as s:
            row = s.get(Clip, clip)
            row.user_id = self.user_id
            s.add(row)
        if not schedule:
            return clip, 0
        post = schedule_post(self.rig.app, clip, self.rig.accounts[platform], at=at or utcnow()).id
        self.remember(post)
        return clip, post  # type: ignore[return-value]

    def remember(self, post_id: int) -> None:
        with self.rig.app.session() as s:
            post = s.get(Post, post_id)
            clip = s.get(Clip, post.clip_id)
        self.tags[post_id] = clip.title
        self.expected_sha[post_id] = sha_file(self.rig.app.storage.local_path(post.video_key))

    def job(self, job_id: int) -> Job:
        return jobs.get_job(self.rig.app, job_id)

    def post(self, post_id: int) -> Post:
        with self.rig.app.session() as s:
            return s.get(Post, post_id)

    def posts_of(self, clip_id: int) -> list[Post]:
        with self.rig.app.session() as s:
            return list(s.exec(select(Post).where(Post.clip_id == clip_id)))

    # ------------------------------------------------------------------------------------------ stages

    def inject(self, stage: str) -> Injection:
        inj = Injection(stage)
        kind = stage.split(":")[0]
        if kind != "cli":
            self.ensure("worker")
        self.ensure("scheduler")
        if kind == "api":
            self.ensure("api")
        if stage == "worker:analyze":
            self._analyze(inj)
        elif stage == "worker:render":
            self._render(inj)
        elif stage.startswith("worker:publish:"):
            self._publish(inj, stage.rsplit(":", 1)[1])
        elif stage == "scheduler:dispatch":
            self._dispatch(inj)
        elif stage == "cli:publish":
            self._cli(inj)
        elif stage == "api:upload":
            self._api_upload(inj)
        elif stage == "api:post":
            self._api_post(inj)
        else:
            raise ValueError(f"unknown stage {stage}")
        self._recover(inj)
        with self.lock:
            self.injections.append(inj)
        return inj

    def _analyze(self, inj: Injection) -> None:
        from core import tasks

        job = jobs.create_job(self.rig.app, "analyze", options={"source": str(self.rig.source)})
        tasks.enqueue(self.rig.app, job)
        job_id: int = job.id  # type: ignore[assignment]
        inj.jobs.append(job_id)

        def inside() -> int | None:
            j = self.job(job_id)
            if j.status == "running" and j.stage in ("ingest", "transcribe") and j.owner:
                return self.alive(owner_pid(j.owner))
            return None

        pid = wait_for(inside, 60)
        if pid is None:
            inj.detail = "the analysis never ran"
            return
        time.sleep(self.rig.rng.uniform(0.0, 0.3))
        inj.landed = inside() == pid
        inj.detail = self.job(job_id).stage
        self.kill(inj, pid)

    def _render(self, inj: Injection) -> None:
        from core import tasks

        app = self.rig.app
        with app.session() as s:
            video = s.exec(select(Video).where(Video.source == str(self.rig.source))).first()
            if video is None:
                video = Video(source=str(self.rig.source), sha256=uuid.uuid4().hex, duration=3.0)
                s.add(video)
                s.flush()
            clip = Clip(video_id=video.id, start=0.0, end=1.5, score=50, title="render fault")
            s.add(clip)
            s.flush()
            clip_id, video_id = clip.id, video.id
        job = jobs.create_job(app, "render", clip_id=clip_id, video_id=video_id)
        tasks.enqueue(app, job)
        inj.jobs.append(job.id)  # type: ignore[arg-type]

        def inside() -> int | None:
            j = self.job(job.id)  # type: ignore[arg-type]
            pid = self.alive(owner_pid(j.owner)) if j.status == "running" and j.stage == "render" else None
            if pid and any(_comm(c) == "ffmpeg" for c, _ in _children(pid)):
                return pid
            return None

        pid = wait_for(inside, 60)
        if pid is None:
            inj.detail = "the render never ran"
            return
        time.sleep(self.rig.rng.uniform(0.0, 0.6))
        inj.landed = inside() == pid
        self.kill(inj, pid)

    def _publish(self, inj: Injection, platform: str) -> None:
        _, post_id = self.new_post(platform)
        inj.posts.append(post_id)
        outbox = self.rig.app.settings.data_dir / "outbox"
        fake = {"youtube": self.rig.yt, "tiktok": self.rig.tt, "instagram": self.rig.ig, "webhook": self.rig.hook}
        target = ""
        if platform == "instagram":  # the container (publish) or media_publish (the status check's last step)
            target = self.rig.rng.choice(["media", "media_publish"])

        def inside() -> int | None:  # is the upload in flight (cheap), then who drives it (the database)
            if platform == "folder":
                busy = (outbox / f".part-{post_id}").exists()
            else:
                method, path = UPLOADS[platform]
                if target:
                    path = path.replace("media(_publish)?", target)
                busy = fake[platform].busy(method, path)
            if not busy:
                return None
            post = self.post(post_id)
            if target == "media_publish":
                return self.alive(owner_pid(((post.options or {}).get("checkpoint") or {}).get("publishing_by")))
            return self.alive(owner_pid(post.owner)) if post.status == "uploading" else None

        pid = wait_for(inside, 60, 0.005)
        if pid is None:
            inj.detail = f"no {platform} upload seen in flight"
            return
        if platform != "folder":
            time.sleep(self.rig.rng.uniform(0.0, self.rig.yt.latency * 0.8))
        inj.detail = target or platform
        if not self.kill(inj, pid):
            return
        if platform == "folder":
            inj.landed = (outbox / f".part-{post_id}").exists()
        else:
            inj.landed = True  # the request was in flight (the fakes add latency before they answer)

    def _active_scheduler(self) -> int | None:
        import redis

        token = redis.Redis.from_url(self.rig.redis.url).get(f"{self.rig.namespace}:scheduler:lease")
        if not token:
            return None
        pid = int(token.decode().split(":")[1])
        return pid if self.rig.role_of(pid) and self.rig.started(self.rig.role_of(pid) or "") else None

    def _dispatch(self, inj: Injection) -> None:
        pid = wait_for(self._active_scheduler, 60, 0.05)
        if pid is None:
            inj.detail = "no active scheduler"
            return
        at = utcnow()
        interval = float(self.rig.app.settings.scheduler.dispatch_interval)
        due = at + timedelta(seconds=0.6)
        # due one after the other over two dispatch ticks: at any moment in there some are due and not yet sent
        for i, platform in enumerate(("webhook", "folder", "webhook", "folder")):
            _, post_id = self.new_post(platform, at=due + timedelta(seconds=i * interval * 2 / 3))
            inj.posts.append(post_id)
        time.sleep(max(0.0, (due - utcnow()).total_seconds() + self.rig.rng.uniform(0.0, 2 * interval)))
        with self.lock:  # the posts' dispatch state and the kill at one moment
            now = utcnow()
            posts = [self.post(p) for p in inj.posts]
            dispatched = sum(1 for p in posts if p.dispatched_at is not None)
            waiting = sum(1 for p in posts if p.dispatched_at is None and aware(p.scheduled_at) <= now)
            inj.detail = f"{dispatched} dispatched, {waiting} due and waiting"
            if self.kill(inj, pid):
                inj.landed = waiting > 0  # it died with due posts it had not dispatched yet

    def _cli(self, inj: Injection) -> None:
        platform = self.rig.rng.choice(["youtube", "tiktok"])
        clip, _ = self.new_post(platform, schedule=False)
        proc = subprocess.Popen(
            [*CLIPCAST, "publish", str(clip), "--account", str(self.rig.accounts[platform]), "--at", "now",
             "--no-wait"],
            env=self.rig.env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        method, path = UPLOADS[platform]
        fake = self.rig.yt if platform == "youtube" else self.rig.tt

        def inside() -> bool:  # the in-memory check first: the database read is slow on a loaded machine
            if not fake.busy(method, path):
                return False
            posts = self.posts_of(clip)
            return bool(posts and posts[0].owner and owner_pid(posts[0].owner) == proc.pid)

        if not wait_for(inside, 90, 0.005):
            inj.detail = f"the CLI never uploaded (exit {proc.poll()})"
            proc.wait(60)
            inj.posts = [p.id for p in self.posts_of(clip)]  # type: ignore[misc]
            return
        time.sleep(self.rig.rng.uniform(0.0, self.rig.yt.latency * 0.8))
        inj.posts = [p.id for p in self.posts_of(clip)]  # type: ignore[misc]
        for p in inj.posts:
            self.remember(p)
        inj.landed = proc.poll() is None
        inj.detail = platform
        self.kill(inj, proc.pid, cli=True)
        proc.wait()

    # ------------------------------------------------------------------------------------------ the API

    def _request(self, role: str, method: str, path: str, body: bytes, ctype: str) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.rig.ports[role]), timeout=30)
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {self.token}\r\n"
            f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        sock.sendall(head.encode())
        return sock

    def _api_upload(self, inj: Injection) -> None:
        role = self.ensure("api")
        pid = self.rig.procs[role].pid
        data = unique_video(self.rig.source, self.rig.tmp / "uploads")
        boundary = uuid.uuid4().hex
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="talk.mp4"\r\n'
                "Content-Type: video/mp4\r\n\r\n"
            ).encode()
            + data
            + f"\r\n--{boundary}--\r\n".encode()
        )
        sock = self._request(role, "POST", "/api/videos", body, f"multipart/form-data; boundary={boundary}")
        tmp = self.rig.app.settings.data_dir / "tmp"
        mid_body = self.rig.rng.random() < 0.5
        try:
            if mid_body:  # half the file sent: the API is writing its upload file
                sock.sendall(body[: int(len(body) * self.rig.rng.uniform(0.2, 0.8))])
                seen = wait_for(lambda: [p for p in tmp.glob(f"upload-*-{pid}-*")] if tmp.is_dir() else [], 30)
                inj.landed = bool(seen)
                inj.detail = "mid-body"
            else:  # the whole body sent: the API stores, probes and creates the job
                sock.sendall(body)
                time.sleep(self.rig.rng.uniform(0.0, 0.25))
                sock.setblocking(False)
                try:
                    inj.landed = not sock.recv(1, socket.MSG_PEEK)
                except BlockingIOError:
                    inj.landed = True
                inj.detail = "after-body"
            self.kill(inj, pid)
        finally:
            sock.close()
        # the client saw the connection break: it sends the upload again, to an API that is up
        other = self.ensure("api")
        res = requests.post(
            f"{self.rig.api_url(other)}/api/videos",
            headers={"Authorization": f"Bearer {self.token}"},
            files={"file": ("talk.mp4", data, "video/mp4")},
            timeout=60,
        )
        if res.status_code != 201:
            inj.problem("lost", f"upload retry answered {res.status_code}: {res.text[:200]}")
            return
        video_id = res.json()["video"]["id"]
        inj.videos.append(video_id)

    def _api_post(self, inj: Injection) -> None:
        role = self.ensure("api")
        pid = self.rig.procs[role].pid
        platform = self.rig.rng.choice(["webhook", "folder", "youtube"])
        clip, _ = self.new_post(platform, schedule=False)
        account = self.rig.accounts[platform]
        body = json.dumps({"clip_id": clip, "account_id": account}).encode()
        sock = self._request(role, "POST", "/api/posts", body, "application/json")
        sock.sendall(body)
        time.sleep(self.rig.rng.uniform(0.0, 0.06))
        sock.setblocking(False)
        try:
            inj.landed = not sock.recv(1, socket.MSG_PEEK)
        except BlockingIOError:
            inj.landed = True
        inj.detail = "created before the kill" if self.posts_of(clip) else "not created yet"
        self.kill(inj, pid)
        sock.close()
        other = self.ensure("api")
        res = requests.post(
            f"{self.rig.api_url(other)}/api/posts",
            headers={"Authorization": f"Bearer {self.token}"},
            json={"clip_id": clip, "account_id": account},
            timeout=60,
        )
        if res.status_code not in (201, 400, 409):  # 400/409: the first request's post exists (one per clip)
            inj.problem("lost", f"post retry answered {res.status_code}: {res.text[:200]}")
        inj.posts = [p.id for p in self.posts_of(clip)]  # type: ignore[misc]
        for p in inj.posts:
            self.remember(p)
        if len(inj.posts) != 1:
            inj.problem("duplicated" if len(inj.posts) > 1 else "lost", f"clip {clip} has {len(inj.posts)} posts")

    # ------------------------------------------------------------------------------------------ checks

    def _watched_jobs(self, inj: Injection) -> list[Job]:
        with self.rig.app.session() as s:
            rows = [s.get(Job, j) for j in inj.jobs]
            ids = set(inj.jobs)
            rows += [j for j in s.exec(select(Job).where(Job.kind == "render")) if j.options.get("parent_id") in ids]
            if inj.videos:
                rows += list(s.exec(select(Job).where(Job.video_id.in_(inj.videos))))  # type: ignore[union-attr]
            rows += [
                j for j in s.exec(select(Job).where(Job.kind == "publish")) if j.options.get("post_id") in inj.posts
            ]
        return [j for j in rows if j is not None]

    def _ended(self, inj: Injection) -> bool:
        if any(self.post(p).status not in FINAL_POST for p in inj.posts):
            return False
        return all(j.status in jobs.FINAL for j in self._watched_jobs(inj))

    def _recover(self, inj: Injection) -> None:
        start = inj.killed_at or time.monotonic()
        if wait_for(lambda: self._ended(inj), self.recover_timeout, 0.05):
            inj.recovered_s = time.monotonic() - start
        else:
            inj.problem("stuck", self.rig.describe())
        self.verify(inj)

    def verify(self, inj: Injection) -> None:
        """The injection's jobs succeeded and its posts are live once, with their render's bytes."""
        for kind in ("lost", "duplicated", "mutated"):  # from an earlier verify (the API's own findings stay)
            kept = [w for w in inj.problems.get(kind, []) if not str(w).startswith(("job ", "post "))]
            inj.problems.pop(kind, None)
            if kept:
                inj.problems[kind] = kept
        for j in self._watched_jobs(inj):
            if j.status in jobs.FINAL and j.status != "succeeded":
                inj.problem("lost", f"job {j.id} {j.kind} {j.status}: {j.error}")
        for post_id in inj.posts:
            self._check_post(inj, post_id)

    def received(self, post_id: int) -> list[str]:
        """What the platform of ``post_id`` holds of it: one entry per copy (a sha or a URL)."""
        post, tag, rig = self.post(post_id), self.tags[post_id], self.rig
        if post.platform == "youtube":
            return [
                hashlib.sha256(bytes(s["data"])).hexdigest()
                for s in list(rig.yt.sessions.values())
                if s["video"] and tag in json.dumps(s["body"])
            ]
        if post.platform == "tiktok":
            return [
                p["sha"].hexdigest()
                for p in list(rig.tt.publishes.values())
                if p["done"] and tag in json.dumps(p["body"])
            ]
        if post.platform == "instagram":
            return [
                c["params"].get("video_url", "")
                for c in list(rig.ig.containers.values())
                if c["status"] == "PUBLISHED" and tag in c["params"].get("caption", "")
            ]
        if post.platform == "webhook":
            return [
                str(p.get("download_url") or p.get("video_url"))
                for p in list(rig.hook.accepted)
                if tag in json.dumps(p)
            ]
        outbox = rig.app.settings.data_dir / "outbox"
        return [sha_file(d / "clip.mp4") for d in outbox.glob(f"{post_id}-*") if (d / "metadata.json").is_file()]

    def _check_post(self, inj: Injection, post_id: int) -> None:
        if post_id not in self.tags:
            self.remember(post_id)
        post = self.post(post_id)
        copies = self.received(post_id)
        if post.status != "published" or not copies:
            inj.problem(
                "lost", f"post {post_id} {post.platform} {post.status} ({len(copies)} at the platform): {post.error}"
            )
        if len(copies) > 1:
            inj.problem("duplicated", f"post {post_id} {post.platform}: {len(copies)} copies")
        want = self.expected_sha[post_id]
        now = sha_file(self.rig.app.storage.local_path(post.video_key))
        for copy in copies:
            same = copy == want if len(copy) == 64 and "/" not in copy else (post.video_key or "?") in copy
            if not same or now != want:
                inj.problem("mutated", f"post {post_id} {post.platform}: received {copy[:80]}, render {want[:12]}")

    def leftovers(self) -> dict[int | None, list[str]]:
        """Files left by killed processes (by pid; None: not attributable), after the live ones cleaned."""
        rig = self.rig
        data = rig.app.settings.data_dir
        found: list[Path] = []
        outbox = data / "outbox"
        found += list(outbox.glob(".part-*")) if outbox.is_dir() else []
        storage = Path(getattr(rig.app.storage, "root", rig.tmp / "none"))
        found += list(storage.rglob(".part-*")) if storage.is_dir() else []
        found += list((data / "tmp").iterdir()) if (data / "tmp").is_dir() else []
        found += [
            p for p in Path(tempfile.gettempdir()).glob("clipcast-*") if any(f"-{d}-" in p.name for d in rig.dead_pids)
        ]
        out: dict[int | None, list[str]] = {}
        post_victim = {p: i.victim for i in self.injections for p in i.posts}
        for path in found:
            pid = next((d for d in rig.dead_pids if f"-{d}-" in path.name), None)
            if pid is None and path.name.startswith(".part-") and path.name[6:].isdigit():
                pid = post_victim.get(int(path.name[6:]))
            out.setdefault(pid, []).append(str(path))
        return out

    def table(self) -> tuple[str, dict[str, dict[str, Any]]]:
        """Per stage: injections (landed inside the stage / tried), lost, duplicated, stuck, mutated, leftovers,
        orphan children, recovery p50/max."""
        left = self.leftovers()
        orphans = set(self.rig.orphans())
        rows: dict[str, dict[str, Any]] = {}
        for stage in STAGES:
            mine = [i for i in self.injections if i.stage == stage]
            if not mine:
                continue
            rec = sorted(i.recovered_s for i in mine if i.recovered_s is not None)
            pids = {i.victim for i in mine}
            kids = {k for i in mine if i.victim for k, _ in self.rig.dead_children.get(i.victim, [])}
            rows[stage] = {
                "injections": sum(i.landed for i in mine),
                "tried": len(mine),
                "lost": sum(len(i.problems.get("lost", [])) for i in mine),
                "duplicated": sum(len(i.problems.get("duplicated", [])) for i in mine),
                "stuck": sum(len(i.problems.get("stuck", [])) for i in mine),
                "mutated": sum(len(i.problems.get("mutated", [])) for i in mine),
                "leftovers": sum(len(v) for k, v in left.items() if k in pids),
                "orphans": len(kids & orphans),
                "p50_s": rec[len(rec) // 2] if rec else None,
                "max_s": rec[-1] if rec else None,
            }
        unattributed = left.get(None, [])
        lines = [
            f"{'stage':26} {'inject':>7} {'lost':>5} {'dup':>4} {'stuck':>6} {'mutated':>8} {'leftover':>9} "
            f"{'orphans':>8} {'recovery p50':>13} {'max':>7}"
        ]
        for stage, r in rows.items():
            p50 = f"{r['p50_s']:.1f} s" if r["p50_s"] is not None else "-"
            mx = f"{r['max_s']:.1f} s" if r["max_s"] is not None else "-"
            lines.append(
                f"{stage:26} {str(r['injections']) + '/' + str(r['tried']):>7} {r['lost']:>5} {r['duplicated']:>4} "
                f"{r['stuck']:>6} {r['mutated']:>8} {r['leftovers']:>9} {r['orphans']:>8} {p50:>13} {mx:>7}"
            )
        if unattributed:
            lines.append(f"leftovers not named by a killed process: {unattributed}")
        return "\n".join(lines), rows

    def problems(self) -> list[tuple[str, str, Any]]:
        return [(i.stage, kind, what) for i in self.injections for kind, items in i.problems.items() for what in items]


#: Stages that run one after the other in one lane; lanes run at once. Only one lane kills workers: kills
#: in two worker lanes would keep interrupting each other's work (an analysis killed again and again by the
#: other lane's upload kills), and the figures would no longer say which stage a loss came from. The other
#: lanes kill schedulers and CLIs, and API processes.
LANES = (
    (
        "worker:analyze",
        "worker:render",
        *(f"worker:publish:{p}" for p in PUBLISHERS),
    ),
    ("scheduler:dispatch", "cli:publish"),
    ("api:upload", "api:post"),
)


def run_targeted(
    rig: Rig,
    stages: list[str],
    per_stage: int,
    *,
    progress: Callable[[str], None] | None = None,
    lanes: bool = True,
    until: float | None = None,
) -> Targeted:
    """``per_stage`` injections in each of ``stages``, round-robin within a lane (a partial run has every stage);
    with ``lanes`` the lanes of ``LANES`` run at once, so one lane's kills also hit the others' work. ``until``
    (a ``time.time()``): no new round starts after it."""
    run = Targeted(rig, workers=3 if lanes else 2, recover_timeout=180 if lanes else 90)
    run.boot(stages)
    groups = [[s for s in lane if s in stages] for lane in LANES] if lanes else [list(stages)]
    groups = [g for g in groups if g] + ([[s for s in stages if not any(s in lane for lane in LANES)]] if lanes else [])
    groups = [g for g in groups if g]
    said = threading.Lock()
    failures: list[BaseException] = []

    def lane(group: list[str]) -> None:
        try:
            for n in range(per_stage):
                if until is not None and time.time() > until:
                    return
                for stage in group:
                    inj = run.inject(stage)
                    if progress:
                        took = f"{inj.recovered_s:.1f} s" if inj.recovered_s is not None else "not recovered"
                        with said:
                            progress(
                                f"[{n + 1}/{per_stage}] {stage}: landed={inj.landed} ({inj.detail}) {took} "
                                f"{inj.problems or ''}"
                            )
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=lane, args=(g,), name=f"lane-{i}", daemon=True) for i, g in enumerate(groups)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise failures[0]
    for inj in run.injections:  # stuck at its deadline: ended since? then it was slow, not stuck
        if inj.problems.get("stuck") and run._ended(inj):
            inj.problems.pop("stuck")
            inj.recovered_s = None  # ended after its deadline; counted as neither stuck nor timed
            inj.detail += "; ended after the deadline"
            run.verify(inj)
    # a live worker's cleaner (every worker.clean_interval) runs twice before leftovers are counted
    run.ensure("worker")
    time.sleep(2 * float(rig.app.settings.worker.clean_interval) + 0.5)
    return run


def unique_video(source: Path, folder: Path) -> bytes:
    """``source`` remuxed with a unique comment: new bytes (a new video to the API), no re-encode."""
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / f"{uuid.uuid4().hex[:8]}.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(source), "-c", "copy", "-metadata", f"comment={uuid.uuid4().hex}",
         str(dest)],
        check=True,
    )  # fmt: skip
    data = dest.read_bytes()
    dest.unlink()
    return data


def _children(pid: int) -> list[tuple[int, str]]:
    from fakes.fault_rig import children_of

    return children_of(pid)


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def measure_redelivery(rig: Rig, *, kills: int, messages: int = 4, delay: float = 3.0) -> dict[str, Any]:
    """kill -9 a worker holding prefetched, unstarted messages; seconds until another worker starts each one.

    Dramatiq's Redis consumer keeps at most ``prefetch`` unacknowledged messages per queue, and a pool's prefetch
    equals its threads, so unstarted messages a worker holds are the delayed ones (retries, status checks, a
    message sent back to wait for a lease): its delay-queue consumer fetches them early and keeps them in memory
    until their time. So each round sends ``messages`` publish jobs with ``delay`` seconds, waits until one worker
    holds them all (its ``__acks__`` set in Redis), kills it, and times each job from max(kill, due) to running."""
    import redis
    from dramatiq import Message

    from core import tasks
    from core.tasks.state import _state

    client = redis.Redis.from_url(rig.redis.url)
    ns = rig.namespace
    for role in ("scheduler", "worker-0", "worker-1"):
        if role not in rig.procs:
            rig.start(role, wait=False)
    for role in ("scheduler", "worker-0", "worker-1"):
        rig.wait_until(lambda r=role: rig.started(r), 120, f"{role} start")
    run = Targeted(rig)
    waits: list[float] = []
    rounds: list[dict[str, Any]] = []

    def broker_pids() -> dict[str, int]:
        found = {}
        for role in ("worker-0", "worker-1"):
            text = (rig.tmp / f"{role}.log").read_text(errors="replace")
            for line in text.splitlines():
                if '"worker started"' in line:
                    row = json.loads(line[line.index("{") :])
                    found[str(row["broker_id"])] = int(row["pid"])
        return found

    for _ in range(kills):
        batch = []
        for _ in range(messages):
            _, post_id = run.new_post("webhook", at=utcnow().replace(year=utcnow().year + 1))  # never dispatched
            batch.append(jobs.create_job(rig.app, "publish", options={"post_id": post_id}).id)
        tasks.setup(rig.app)
        for job_id in batch:  # sent together: one worker's delay consumer likely fetches them all
            _state.actors["publish"].send_with_options(args=(job_id,), delay=int(delay * 1000))
        sent_at = time.monotonic()

        def holders(batch: list[int] = batch) -> dict[str, set[int]]:
            msgs = {k: Message.decode(v).args[0] for k, v in client.hgetall(f"{ns}:publish.DQ.msgs").items()}
            found = {}
            for key in client.scan_iter(match=f"{ns}:__acks__.*.publish.DQ"):
                held = {msgs.get(m) for m in client.smembers(key)} & set(batch)
                if held:
                    found[key.decode()[len(f"{ns}:__acks__.") :].split(".", 1)[0]] = held
            return found

        held_by = wait_for(lambda b=batch: sum(len(v) for v in holders(b).values()) == len(b) and holders(b), 10, 0.01)
        if not held_by:  # not fetched in time: let the batch end and try again
            rig.wait_until(lambda b=batch: all(run.job(j).status in jobs.FINAL for j in b), 120, "the batch to end")
            continue
        worker_id, mine = max(held_by.items(), key=lambda kv: len(kv[1]))
        job_ids = sorted(mine)
        pid = broker_pids().get(worker_id)
        if pid is None or not rig.role_of(pid):
            continue
        role = rig.role_of(pid)
        rig.kill(role)  # type: ignore[arg-type]
        killed = time.monotonic()
        due = sent_at + delay
        started: dict[int, float] = {}
        deadline = time.monotonic() + 600
        while len(started) < len(job_ids) and time.monotonic() < deadline:
            for j in job_ids:
                if j not in started and run.job(j).status != "queued":
                    started[j] = time.monotonic()
            time.sleep(0.05)
        these = [started[j] - max(killed, due) for j in job_ids if j in started]
        waits += these
        rounds.append({"held": len(job_ids), "started": len(these), "waits_s": [round(w, 2) for w in these]})
        rig.start(role, wait=True)  # type: ignore[arg-type]
    waits.sort()
    return {
        "rounds": rounds,
        "messages": len(waits),
        "p50_s": waits[len(waits) // 2] if waits else None,
        "max_s": waits[-1] if waits else None,
    }
