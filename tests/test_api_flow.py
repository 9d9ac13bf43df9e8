"""The whole product through HTTP against a real server process (``clipcast serve``, embedded mode: API, worker
and scheduler in one process) on 127.0.0.1 with a temporary data directory:

create a user (CLI) → log in → create a token → upload the shared talk video → follow the SSE stream until the
analysis ends → list clips → edit one → render it (SSE again) → download it (whole and by Range) → connect a
folder-publisher account (the local "fake platform") → schedule the clip → the scheduler publishes it.
"""

from __future__ import annotations

import json
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import yaml
from api_support import CLI, clean_env, serve_process

from core.media import ffmpeg as ff

ROOT = Path(__file__).resolve().parent.parent


def sse_events(
    client: httpx.Client, path: str, headers: dict[str, str], timeout: float = 600
) -> list[tuple[str, dict]]:
    """Read a Server-Sent Events stream to its end; returns (event, data) pairs."""
    events: list[tuple[str, dict]] = []
    event, data = "message", []
    with client.stream("GET", path, headers=headers, timeout=httpx.Timeout(timeout, connect=10)) as r:
        assert r.status_code == 200, r.read()
        assert r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
            elif line == "" and data:
                events.append((event, json.loads("\n".join(data))))
                if event == "end":
                    return events
                event, data = "message", []
    return events


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``clipcast serve`` in a subprocess with a small, fast configuration."""
    base = tmp_path_factory.mktemp("flow")
    config = {
        "data_dir": str(base / "data"),
        "secret_key": "flow test passphrase, not a real secret",
        "selection": {"clips": 2, "min_seconds": 4, "max_seconds": 14},
        "render": {"preset": "ultrafast", "reframe": "crop", "remove_silence": False, "loudness_lufs": None, "crf": 32},
        "publishers": {"folder": {"path": str(base / "outbox")}},
        "scheduler": {"dispatch_interval": 1},
        "log": {"level": "INFO", "format": "json"},
    }
    env = clean_env(CLIPCAST_PASSWORD="flow password 1")
    (base / "clipcast.yaml").write_text(yaml.safe_dump(config))
    made = subprocess.run(
        [*CLI, "--config", str(base / "clipcast.yaml"), "users", "create", "owner@example.com"],
        env=env, cwd=base, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    with serve_process(base, config, env) as url:
        yield {"url": url, "base": base}


@pytest.mark.slow
def test_full_flow_over_http(server, talk_video, ffmpeg):
    base: Path = server["base"]
    with httpx.Client(base_url=server["url"], timeout=60) as http:
        # log in (session cookie + token), then a personal token for the "script"
        r = http.post("/api/auth/login", json={"email": "owner@example.com", "password": "flow password 1"})
        assert r.status_code == 200, r.text
        assert "httponly" in r.headers["set-cookie"].lower()
        r = http.post("/api/tokens", json={"name": "flow"})
        assert r.status_code == 201, r.text
        auth = {"Authorization": f"Bearer {r.json()['token']}"}
        http.cookies.clear()  # from here on, only the bearer token

        assert http.get("/readyz").json()["status"] == "ok"

        # upload (multipart, streamed from the file) → analyze job
        with open(talk_video, "rb") as f:
            r = http.post("/api/videos", files={"file": ("talk.mp4", f, "video/mp4")}, headers=auth, timeout=300)
        assert r.status_code == 201, r.text
        created = r.json()
        video_id, job = created["video"]["id"], created["job"]
        assert abs(created["video"]["duration"] - 42.4) < 0.5 and job["status"] in ("queued", "running")

        events = sse_events(http, f"/api/jobs/{job['id']}/events", auth)
        kinds = [e for e, _ in events]
        assert kinds[-1] == "end" and kinds.count("progress") >= 2, events
        final = events[-1][1]
        assert final["status"] == "succeeded", final
        stages = {d["stage"] for e, d in events if e == "progress"}
        assert stages & {"transcribe", "select"}, stages

        detail = http.get(f"/api/videos/{video_id}", headers=auth).json()
        assert "banana" in json.dumps(detail["transcript"]).lower()
        assert detail["clips"] >= 1

        # list clips, best first, and edit one
        clips = http.get(f"/api/clips?video={video_id}&sort=score&min_score=0", headers=auth).json()["items"]
        assert clips and clips == sorted(clips, key=lambda c: -c["score"])
        clip = clips[0]
        r = http.patch(
            f"/api/clips/{clip['id']}",
            json={"title": "Banana, explained", "hashtags": ["#banana", "demo"], "caption_style": "clean"},
            headers=auth,
        )
        assert r.status_code == 200, r.text
        edited = r.json()
        assert edited["title"] == "Banana, explained" and edited["hashtags"] == ["banana", "demo"]
        assert edited["render_job"] is None  # nothing rendered yet, so nothing to re-render
        assert http.post(f"/api/clips/{clip['id']}/approve", headers=auth).json()["status"] == "approved"

        # render it and follow that job too
        r = http.post(f"/api/videos/{video_id}/render", json={"reframe": "crop"}, headers=auth)
        assert r.status_code == 202, r.text
        (render_job,) = r.json()
        events = sse_events(http, f"/api/jobs/{render_job['id']}/events", auth)
        assert events[-1][1]["status"] == "succeeded", events[-1]

        # download: whole file, then a byte range
        r = http.get(f"/api/clips/{clip['id']}/download", headers=auth)
        assert r.status_code == 200 and r.headers["content-type"] == "video/mp4"
        local = base / "downloaded.mp4"
        local.write_bytes(r.content)
        info = ff.probe(local)
        assert info.has_video and info.has_audio and info.duration > 3
        r = http.get(f"/api/clips/{clip['id']}/download", headers={**auth, "Range": "bytes=0-99"})
        assert r.status_code == 206 and len(r.content) == 100 and r.content == local.read_bytes()[:100]
        assert http.get(f"/api/clips/{clip['id']}/thumbnail", headers=auth).content[:3] == b"\xff\xd8\xff"

        # a trim on a rendered clip queues a re-render
        r = http.patch(f"/api/clips/{clip['id']}", json={"end": clip["end"] - 0.5}, headers=auth)
        assert r.status_code == 200 and r.json()["render_job"]["kind"] == "render", r.text
        events = sse_events(http, f"/api/jobs/{r.json()['render_job']['id']}/events", auth)
        assert events[-1][1]["status"] == "succeeded", events[-1]

        # the fake platform: a folder-publisher account, then a post the scheduler publishes
        r = http.post("/api/accounts", json={"platform": "folder", "name": "outbox"}, headers=auth)
        assert r.status_code == 201, r.text
        account_id = r.json()["id"]
        r = http.post(
            "/api/posts",
            json={"clip_id": clip["id"], "account_id": account_id, "at": datetime.now(UTC).isoformat()},
            headers=auth,
        )
        assert r.status_code == 201, r.text
        post = r.json()
        assert post["status"] == "scheduled"
        deadline = time.monotonic() + 120
        while post["status"] not in ("published", "failed") and time.monotonic() < deadline:
            time.sleep(1)
            post = http.get(f"/api/posts/{post['id']}", headers=auth).json()
        assert post["status"] == "published", post
        assert list((base / "outbox").rglob("*.mp4")), "the folder publisher wrote nothing"

        metrics = http.get("/metrics").text
        assert 'clipcast_jobs{kind="analyze",state="succeeded"} 1.0' in metrics
        assert 'clipcast_posts{platform="folder",status="published"} 1.0' in metrics
