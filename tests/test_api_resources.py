"""Route families in-process: clips, jobs (SSE, cancel, retry), accounts (OAuth with state), schedules, posts,
sources, quotas, health, metrics and plugins.

Jobs are not run here (``core.tasks.enqueue`` records what would be sent); test_api_flow.py runs real ones.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from api_support import client, error_of, make_user, seed
from fakes.youtube_server import YouTubeFake
from sqlmodel import select

from core import jobs
from core.api.routes.accounts import OAUTH_COOKIE
from core.models import AiUsage, Clip, Job, Post, SocialAccount, Video


@pytest.fixture
def sent(monkeypatch):
    sent: list[int] = []
    monkeypatch.setattr("core.tasks.enqueue", lambda app, job, **kw: sent.append(job.id))
    return sent


@pytest.fixture
def alice(app):
    return make_user(app, "alice@example.com")


@pytest.fixture
def api(app):
    return client(app)


def _clips(app, user_id, video_id, specs):
    with app.session() as s:
        rows = [Clip(video_id=video_id, user_id=user_id, rank=i, start=a, end=b, score=sc, status=st)
                for i, (a, b, sc, st) in enumerate(specs)]  # fmt: skip
        s.add_all(rows)
        s.flush()
        return [r.id for r in rows]


def test_clip_filters_sort_and_status_changes(app, api, alice):
    ids = seed(app, alice.id)
    extra = _clips(app, alice.id, ids["video"], [(2, 9, 95, "proposed"), (20, 30, 40, "rejected")])
    h = alice.headers
    by_score = [c["id"] for c in api.get("/api/clips?sort=score", headers=h).json()["items"]]
    assert by_score == [extra[0], ids["clip"], extra[1]]
    assert [c["id"] for c in api.get("/api/clips?min_score=50", headers=h).json()["items"]] == [extra[0], ids["clip"]]
    assert [c["id"] for c in api.get("/api/clips?status=rejected", headers=h).json()["items"]] == [extra[1]]
    by_start = [c["start"] for c in api.get("/api/clips?sort=start", headers=h).json()["items"]]
    assert by_start == [1.0, 2.0, 20.0]
    page = api.get("/api/clips?limit=1&offset=1", headers=h).json()
    assert page["total"] == 3 and len(page["items"]) == 1
    assert api.post(f"/api/clips/{extra[1]}/approve", headers=h).json()["status"] == "approved"
    assert api.post(f"/api/clips/{ids['clip']}/reject", headers=h).json()["status"] == "rejected"
    r = api.get(f"/api/clips/{ids['clip']}/download", headers=h)
    assert r.status_code == 409 and "render it first" in error_of(r)["detail"]["hint"]


def test_a_page_total_is_right_on_full_short_and_empty_pages(app, api, alice):
    """``paged``: rows carry the total (clips), entities count it unless a short page is its own count (tokens);
    either way an empty page past the end is counted, and a filter applies to the total too."""
    ids = seed(app, alice.id)
    _clips(app, alice.id, ids["video"], [(2, 9, 95, "proposed"), (20, 30, 40, "rejected"), (40, 50, 60, "proposed")])
    h = alice.headers
    for n in range(3):
        assert api.post("/api/tokens", json={"name": f"t{n}"}, headers=h).status_code == 201
    for path, rows in [("/api/clips", 4), ("/api/tokens", 4)]:
        for query, total, n in [
            ("limit=2", rows, 2),  # full
            ("limit=3&offset=2", rows, 2),  # short, past the start
            ("limit=10", rows, rows),  # short from the start
            ("limit=2&offset=9", rows, 0),  # empty past the end
        ]:
            page = api.get(f"{path}?{query}", headers=h).json()
            assert (page["total"], len(page["items"])) == (total, n), (path, query)
    for query, total, n in [("limit=2&status=rejected", 1, 1), ("limit=2&offset=5&status=rejected", 1, 0)]:
        page = api.get(f"/api/clips?{query}", headers=h).json()
        assert (page["total"], len(page["items"])) == (total, n), query
    with app.session() as s:  # what the output models derive from a row's columns, on the rows path
        clip = s.exec(select(Clip).where(Clip.score == 95)).one()
        clip.video_key = "renders/1/1-v2-abc/clip.mp4"
        s.get(Post, ids["post"]).video_key = "renders/1/1-v3-abc/clip.mp4"
    listed = api.get("/api/clips?sort=score", headers=h).json()["items"]
    assert [(c["score"], c["has_video"]) for c in listed][:2] == [(95, True), (70, False)], listed
    assert api.get("/api/posts", headers=h).json()["items"][0]["render_version"] == 3


def test_editing_the_picture_of_a_rendered_clip_queues_a_rerender(app, api, alice, sent):
    ids = seed(app, alice.id)
    with app.session() as s:
        clip = s.get(Clip, ids["clip"])
        clip.video_key, clip.status = "clips/x.mp4", "rendered"
        s.add(clip)
    h = alice.headers
    r = api.patch(f"/api/clips/{ids['clip']}", json={"title": "New title", "caption": "c"}, headers=h)
    assert r.status_code == 200 and r.json()["render_job"] is None and sent == []
    r = api.patch(f"/api/clips/{ids['clip']}", json={"caption_style": "pop", "reframe": "crop"}, headers=h)
    job = r.json()["render_job"]
    assert job["kind"] == "render" and job["clip_id"] == ids["clip"] and sent == [job["id"]]
    assert job["options"]["render_options"] == {"caption_style": "pop", "reframe": "crop"}
    r = api.patch(f"/api/clips/{ids['clip']}", json={"start": 2.0, "end": 12.5}, headers=h)
    assert r.json()["start"] == 2.0 and r.json()["end"] == 12.5 and len(sent) == 2
    r = api.patch(f"/api/clips/{ids['clip']}", json={"caption_style": "pop"}, headers=h)  # unchanged: no job
    assert r.json()["render_job"] is None and len(sent) == 2


def test_analyze_and_render_queue_jobs_with_options(app, api, alice, sent):
    ids = seed(app, alice.id)
    h = alice.headers
    r = api.post(
        f"/api/videos/{ids['video']}/analyze", json={"clips": 3, "min_seconds": 5, "max_seconds": 20}, headers=h
    )
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["kind"] == "analyze" and job["options"]["request"]["clips"] == 3 and sent == [job["id"]]
    r = api.post(f"/api/videos/{ids['video']}/analyze", json={}, headers=h)
    assert r.status_code == 409 and "already analyzing" in error_of(r)["message"]
    r = api.post(f"/api/videos/{ids['video']}/analyze", json={"min_seconds": 30, "max_seconds": 10}, headers=h)
    assert r.status_code == 422
    r = api.post(f"/api/videos/{ids['video']}/render", json={}, headers=h)
    assert r.status_code == 400 and "no approved clips" in error_of(r)["message"]
    r = api.post(f"/api/videos/{ids['video']}/render", json={"clip_ids": [ids["clip"]], "aspect": "1:1"}, headers=h)
    assert r.status_code == 202 and r.json()[0]["options"]["render_options"] == {"aspect": "1:1"}
    r = api.post(f"/api/videos/{ids['video']}/render", json={"clip_ids": [999]}, headers=h)
    assert r.status_code == 400 and "not clips of video" in error_of(r)["message"]


def test_unknown_backend_names_are_400_before_any_work(app, api, alice, sent):
    ids = seed(app, alice.id)
    r = api.post(f"/api/videos/{ids['video']}/analyze", json={"llm": "gpt-99"}, headers=alice.headers)
    assert r.status_code == 400 and "unknown llm backend" in error_of(r)["message"] and sent == []


def test_job_events_stream_progress_until_the_job_ends(app, api, alice):
    ids = seed(app, alice.id)
    job = jobs.create_job(app, "analyze", video_id=ids["video"], user_id=alice.id)

    events: list[tuple[str | None, dict]] = []
    seen = threading.Condition()  # each state is held until the stream has shown it: no race with a sleep

    def shown(status: str, stage: str | None = None, pct: float | None = None) -> None:
        def match(d: dict) -> bool:
            return d["status"] == status and stage in (None, d["stage"]) and pct in (None, d["progress"])

        with seen:
            assert seen.wait_for(lambda: any(match(d) for _n, d in events), timeout=60)

    def work() -> None:
        shown("queued")
        jobs.start_attempt(app, job.id)
        for stage, pct in (("transcribe", 10.0), ("transcribe", 60.0), ("select", 50.0)):
            jobs.update_job(app, job.id, stage=stage, progress=pct, message=f"{stage} {pct}")
            shown("running", stage, pct)
        jobs.succeed(app, job.id, "2 clips proposed")

    worker = threading.Thread(target=work)
    worker.start()
    with api.stream("GET", f"/api/jobs/{job.id}/events", headers=alice.headers) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        name = None
        for line in r.iter_lines():
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                with seen:
                    events.append((name, json.loads(line[5:])))
                    seen.notify_all()
                if name == "end":
                    break
    worker.join()
    progress = [(d["status"], d["stage"], d["progress"]) for n, d in events if n == "progress"]
    assert progress[0][0] == "queued" and ("running", "transcribe", 60.0) in progress
    assert events[-1][0] == "end" and events[-1][1]["status"] == "succeeded"
    assert events[-1][1]["message"] == "2 clips proposed"


def test_cancel_and_retry(app, api, alice, sent):
    ids = seed(app, alice.id)
    queued = jobs.create_job(app, "analyze", video_id=ids["video"], user_id=alice.id)
    r = api.post(f"/api/jobs/{queued.id}/cancel", headers=alice.headers)
    assert r.json()["status"] == "cancelled"
    r = api.post(f"/api/jobs/{ids['job']}/retry", headers=alice.headers)  # the seeded failed job
    assert r.status_code == 200 and r.json()["status"] == "queued" and ids["job"] in sent
    r = api.post(f"/api/jobs/{ids['job']}/retry", headers=alice.headers)
    assert r.status_code == 400 and "only failed or cancelled" in error_of(r)["message"]
    listed = api.get("/api/jobs?status=cancelled", headers=alice.headers).json()["items"]
    assert [j["id"] for j in listed] == [queued.id]


def test_oauth_connect_checks_state_and_owner(app, api, alice):
    bob = make_user(app, "bob@example.com")
    with YouTubeFake() as fake:
        app.settings.publishers = {"youtube": fake.options()}
        app.settings.ingest.allowed_networks = ["127.0.0.0/8"]  # the fake platform listens on loopback
        app.settings.secret_key = "api test passphrase, not a real secret"
        r = api.get("/api/accounts/connect/youtube", headers=alice.headers, follow_redirects=False)
        assert r.status_code == 307 and r.headers["location"].startswith(fake.url)
        sealed = r.cookies.get(OAUTH_COOKIE)
        assert sealed and "httponly" in r.headers["set-cookie"].lower()
        back = fake.authorize(r.headers["location"])
        path = back.split("testserver", 1)[1]
        api.cookies.clear()
        # the right redirect, but a forged state
        forged = path.replace("state=", "state=x")
        r = api.get(forged, headers=alice.headers, cookies={OAUTH_COOKIE: sealed})
        assert r.status_code == 400 and "state does not match" in error_of(r)["message"]
        r = api.get(path, headers=alice.headers)  # no cookie: not started from this browser
        assert r.status_code == 400 and "no connection was started" in error_of(r)["message"]
        r = api.get(path, headers=bob.headers, cookies={OAUTH_COOKIE: sealed})
        assert r.status_code == 400 and "another user" in error_of(r)["message"]
        r = api.get(path, headers=alice.headers, cookies={OAUTH_COOKIE: sealed})
        assert r.status_code == 200, r.text
        account = r.json()
        assert account["platform"] == "youtube" and account["user_id"] == alice.id
        with app.session() as s:
            row = s.get(SocialAccount, account["id"])
            assert row.token_encrypted and "at-" not in row.token_encrypted
        listed = api.get("/api/accounts", headers=alice.headers).json()["items"]
        assert [a["status"] for a in listed] == ["ok"]
        assert api.delete(f"/api/accounts/{account['id']}", headers=alice.headers).status_code == 204
        assert api.get("/api/accounts", headers=alice.headers).json()["items"] == []


def test_schedules_crud(app, api, alice):
    ids = seed(app, alice.id)
    h = alice.headers
    r = api.post("/api/schedules", json={"account_id": ids["account"], "cron": "0 9,18 * * *",
                                          "timezone": "Europe/Paris", "min_score": 60}, headers=h)  # fmt: skip
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    r = api.patch(f"/api/schedules/{sid}", json={"cron": "30 12 * * 1-5", "enabled": False}, headers=h)
    assert r.json()["cron"] == "30 12 * * 1-5" and r.json()["enabled"] is False
    r = api.patch(f"/api/schedules/{sid}", json={"blackout": [{"start": "22:00", "end": "07:00", "days": ["sat"]}]},
                  headers=h)  # fmt: skip
    assert r.json()["blackout"][0]["days"] == ["sat"]
    r = api.patch(f"/api/schedules/{sid}", json={"blackout": [{"start": "late"}]}, headers=h)
    assert r.status_code == 400 and "blackout" in error_of(r)["message"]
    assert api.get("/api/schedules", headers=h).json()["total"] == 2
    assert api.delete(f"/api/schedules/{sid}", headers=h).status_code == 204
    assert api.get(f"/api/schedules/{sid}", headers=h).status_code == 404


def test_posts_schedule_reschedule_and_cancel(app, api, alice):
    ids = seed(app, alice.id)
    with app.session() as s:
        clip = s.get(Clip, ids["clip"])
        clip.video_key, clip.status = "clips/x.mp4", "rendered"
        s.add(clip)
        s.delete(s.get(Post, ids["post"]))
    h = alice.headers
    at = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    r = api.post(
        "/api/posts", json={"clip_id": ids["clip"], "account_id": ids["account"], "at": at.isoformat()}, headers=h
    )
    assert r.status_code == 201, r.text
    post = r.json()
    assert post["status"] == "scheduled" and post["scheduled_at"].startswith(at.strftime("%Y-%m-%dT%H:%M"))
    r = api.post("/api/posts", json={"clip_id": ids["clip"], "account_id": ids["account"]}, headers=h)
    assert r.status_code == 400 and "already scheduled" in error_of(r)["message"]
    r = api.post("/api/posts", json={"clip_id": ids["clip"], "account_id": ids["account"], "at": "2030-01-01T10:00"},
                 headers=h)  # fmt: skip
    assert r.status_code == 400 and "time zone" in error_of(r)["message"]
    later = (at + timedelta(hours=3)).isoformat()
    assert (
        api.patch(f"/api/posts/{post['id']}", json={"at": later, "caption": "hi"}, headers=h).json()["caption"] == "hi"
    )
    assert api.delete(f"/api/posts/{post['id']}", headers=h).json()["status"] == "cancelled"
    r = api.patch(f"/api/posts/{post['id']}", json={"caption": "again"}, headers=h)
    assert r.status_code == 409


def test_sources_crud(app, api, alice, tmp_path):
    h = alice.headers
    app.settings.sources.folder_roots = [tmp_path]
    (tmp_path / "inbox").mkdir()
    body = {"kind": "folder", "target": str(tmp_path / "inbox"), "interval_minutes": 5}
    r = api.post("/api/sources", json=body, headers=h)
    assert r.status_code == 403  # folders read server directories: administrators only
    h = make_user(app, "root@example.com", admin=True).headers
    r = api.post("/api/sources", json=body, headers=h)
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    r = api.post("/api/sources", json={"kind": "carrier-pigeon", "target": "x"}, headers=h)
    assert r.status_code == 400 and "available" in error_of(r)["message"]
    r = api.post("/api/sources", json={"kind": "rss", "target": "http://192.168.1.5/feed.xml"}, headers=h)
    assert r.status_code == 400 and "private" in error_of(r)["message"]
    assert api.patch(f"/api/sources/{sid}", json={"enabled": False}, headers=h).json()["enabled"] is False
    assert api.delete(f"/api/sources/{sid}", headers=h).status_code == 204
    assert api.get("/api/sources", headers=h).json()["items"] == []


def test_delete_video_removes_its_clips_and_posts_but_keeps_history(app, api, alice):
    ids = seed(app, alice.id)
    h = alice.headers
    assert api.delete(f"/api/videos/{ids['video']}", headers=h).status_code == 204
    assert api.get(f"/api/videos/{ids['video']}", headers=h).status_code == 404
    with app.session() as s:
        assert s.get(Clip, ids["clip"]) is None and s.get(Post, ids["post"]) is None
        assert s.get(Job, ids["job"]).video_id is None  # the job's history stays


def test_daily_quotas_answer_429_with_what_and_when(app, api, sent):
    carl = make_user(app, "carl@example.com", videos_per_day=1, minutes_per_day=1.0, llm_usd_per_day=0.5)
    ids = seed(app, carl.id)  # one video today already
    h = carl.headers
    r = api.post("/api/videos", json={"url": "https://example.com/talk"}, headers=h)
    assert r.status_code == 429, r.text
    err = error_of(r)
    assert err["code"] == "quota_exceeded" and err["detail"]["quota"] == "videos_per_day"
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    assert err["detail"]["resets_at"].startswith(tomorrow) and int(r.headers["Retry-After"]) > 0
    r = api.post(f"/api/videos/{ids['video']}/analyze", json={}, headers=h)  # 42 s fits in the 1 minute
    assert r.status_code == 202, r.text
    with app.session() as s:
        second = Video(user_id=carl.id, source="b.mp4", sha256="b" * 8, duration=30.0)
        s.add(second)
        s.add(AiUsage(user_id=carl.id, provider="openai", cost_usd=0.2))
        s.flush()
        second_id = second.id
    r = api.post(f"/api/videos/{second_id}/analyze", json={}, headers=h)
    assert r.status_code == 429 and error_of(r)["detail"]["quota"] == "minutes_per_day"
    with app.session() as s:
        s.get(Video, second_id).duration = 1.0
        s.add(AiUsage(user_id=carl.id, provider="openai", cost_usd=0.4))
    r = api.post(f"/api/videos/{second_id}/analyze", json={}, headers=h)
    assert r.status_code == 429 and error_of(r)["detail"]["quota"] == "llm_usd_per_day"
    assert "0.6 used of 0.5" in error_of(r)["message"]
    usage = api.get("/api/users/me/usage", headers=h).json()
    assert usage["used"]["videos"] == 2 and usage["limits"]["videos_per_day"] == 1


def test_health_ready_metrics_plugins(app, api, alice):
    seed(app, alice.id)
    assert api.get("/healthz").json() == {"status": "ok"}
    ready = api.get("/readyz").json()
    assert ready["status"] == "ok" and set(ready["checks"]) == {"database", "broker", "storage"}
    app.settings.redis_url = "redis://127.0.0.1:1/0"  # nothing listens there
    r = api.get("/readyz")
    assert r.status_code == 503 and r.json()["checks"]["broker"]["ok"] is False
    app.settings.redis_url = None
    text = api.get("/metrics").text
    assert 'clipcast_jobs{kind="analyze",state="failed"} 1.0' in text
    assert 'clipcast_posts{platform="folder",status="scheduled"} 1.0' in text
    assert 'clipcast_queue_depth{queue="render"} 0.0' in text
    plugins = api.get("/api/plugins", headers=alice.headers).json()
    assert "heuristic" in plugins["backends"]["llm"] and "folder" in plugins["backends"]["publisher"]
    assert api.get("/api/plugins").status_code == 401
    spec = api.get("/openapi.json").json()
    assert "/api/jobs/{job_id}/events" in spec["paths"] and "/api/videos" in spec["paths"]


def test_url_with_analysis_becomes_a_download_job(app, api, alice, sent):
    r = api.post("/api/videos", json={"url": "https://93.184.215.14/talk.mp4"}, headers=alice.headers)
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["video"] is None and body["job"]["options"]["source"] == "https://93.184.215.14/talk.mp4"
    assert sent == [body["job"]["id"]] and body["job"]["kind"] == "analyze"


def test_admin_acting_on_a_users_video_leaves_the_work_theirs(app, api, alice, sent):
    admin = make_user(app, "root@example.com", admin=True)
    ids = seed(app, alice.id)
    r = api.post(f"/api/videos/{ids['video']}/render", json={"clip_ids": [ids["clip"]]}, headers=admin.headers)
    assert r.status_code == 202 and r.json()[0]["user_id"] == alice.id
    r = api.post(f"/api/videos/{ids['video']}/analyze", json={}, headers=admin.headers)
    assert r.status_code == 202 and r.json()["user_id"] == alice.id
    assert r.json()["id"] in {j["id"] for j in api.get("/api/jobs", headers=alice.headers).json()["items"]}


def test_clip_patch_knows_the_render_options_and_the_next_render_uses_them(app, api, alice, sent, tmp_path):
    from core.config import BackendSection
    from core.tasks.actors import _render_options

    ids = seed(app, alice.id)
    with app.session() as s:
        clip = s.get(Clip, ids["clip"])
        clip.video_key, clip.status, clip.title_variants = "clips/x.mp4", "rendered", ["One", "Two", "Three"]
        s.add(clip)
    music = tmp_path / "music"
    music.mkdir()
    (music / "bed.wav").write_bytes(b"RIFF")
    app.settings.render.music_dir = music
    h, url = alice.headers, f"/api/clips/{ids['clip']}"
    new = {"platform": "tiktok", "hook_title": True, "hook_seconds": 2.5, "auto_emoji": True, "music": "bed",
           "music_db": -18.0, "caption_position": "top", "export_edit": True}  # fmt: skip
    r = api.patch(url, json=new, headers=h)
    assert r.status_code == 200, r.text
    job = r.json()["render_job"]
    assert job["options"]["render_options"] == new and sent == [job["id"]]
    assert api.get(url, headers=h).json()["render_options"] == new
    # The worker builds its render options from the job: every one arrives as given.
    opts = _render_options(job["options"]["render_options"])
    assert (opts.platform, opts.hook_seconds, opts.auto_emoji, opts.caption_position) == ("tiktok", 2.5, True, "top")
    # A later render of the video uses the stored options too.
    r = api.post(f"/api/videos/{ids['video']}/render", json={"clip_ids": [ids["clip"]]}, headers=h)
    assert r.json()[0]["options"]["render_options"] == new
    # With the hook title on, choosing another title variant changes the picture: a re-render.
    r = api.patch(url, json={"title_variant": 2}, headers=h)
    assert r.json()["title"] == "Two" and r.json()["title_variants"] == ["One", "Two", "Three"]
    assert r.json()["render_job"] is not None and len(sent) == 3
    r = api.patch(url, json={"platform": None, "hook_title": None}, headers=h)  # back to the defaults
    assert "platform" not in r.json()["render_options"] and "hook_title" not in r.json()["render_options"]
    r = api.patch(url, json={"title_variant": 3}, headers=h)  # hook title off now: only the title changes
    assert r.json()["title"] == "Three" and r.json()["render_job"] is None and len(sent) == 4

    # Values the schema refuses are 422s; well-formed names that do not exist (and translations nobody can
    # make) are 400s naming the field, the API's rule for a well-formed value the server refuses.
    bad = [
        ({"platform": "vine"}, 422, "platform"),
        ({"caption_position": "left"}, 422, "caption_position"),
        ({"hook_seconds": 0}, 422, "hook_seconds"),
        ({"music_db": 6}, 422, "music_db"),
        ({"music": "../../etc/passwd"}, 422, "music"),
        ({"music": str(music / "bed.wav")}, 422, "music"),
        ({"translate": ["German"]}, 422, "translate"),
        ({"auto_emoji": "maybe"}, 422, "auto_emoji"),
        ({"title_variant": 0}, 422, "title_variant"),
        ({"music": "nope"}, 400, "music: there is no track 'nope' in the music folder"),
        ({"caption_style": "nosuch"}, 400, "caption_style: unknown caption style 'nosuch'"),
        ({"brand": "nosuch"}, 400, "brand: unknown brand kit 'nosuch'"),
        ({"translate": ["de"]}, 400, "translate: translated captions need an LLM backend"),  # the heuristic
        ({"title_variant": 4}, 400, "there is no variant 4"),
    ]
    for body, status, says in bad:
        r = api.patch(url, json=body, headers=h)
        assert r.status_code == status, (body, r.text)
        assert says in json.dumps(error_of(r)), (body, r.text)
        assert str(tmp_path) not in r.text  # no server path in an answer
    r = api.post(f"/api/videos/{ids['video']}/render", json={"clip_ids": [ids["clip"]], "music": "nope"}, headers=h)
    assert r.status_code == 400 and "music: there is no track" in error_of(r)["message"]
    after = api.get(url, headers=h).json()
    assert after["title"] == "Three" and after["render_options"] == {k: v for k, v in new.items() if k not in
                                                                     ("platform", "hook_title")}  # fmt: skip
    assert len(sent) == 4  # nothing was queued by a refused edit
    # With a backend that can translate, translations are accepted and stored.
    app.settings.llm = BackendSection(
        backend="openai-compatible", **{"openai-compatible": {"base_url": "http://127.0.0.1:9"}}
    )
    r = api.patch(url, json={"translate": ["de", "pt-BR"], "translate_burn": "de"}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["render_options"]["translate"] == ["de", "pt-BR"] and len(sent) == 5
