"""The API routes the studio added: first-run setup, video search/thumbnail/source, clip words and word fixes,
approve-and-render, styles, overall job progress, posts by time window and retry, platforms, the OAuth return
to the studio, daily AI usage. Jobs are not run here (``core.tasks.enqueue`` records what would be sent)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from api_support import client, error_of, make_user, seed
from fakes.youtube_server import YouTubeFake
from sqlmodel import select

from core.api.job_progress import eta_seconds, overall_percent
from core.api.routes.accounts import OAUTH_COOKIE
from core.api.security import SESSION_COOKIE
from core.app import Clipcast
from core.contracts import Word
from core.models import AiUsage, Clip, Job, Post, Transcript, User, Video
from core.pipeline.render import RenderOptions, _fixed


@pytest.fixture
def sent(monkeypatch):
    sent: list[int] = []
    monkeypatch.setattr("core.tasks.enqueue", lambda app, job, **kw: sent.append(job.id))
    return sent


@pytest.fixture
def api(app):
    return client(app)


def test_first_run_creates_one_admin_then_refuses(app, api):
    assert api.get("/api/setup").json() == {"needs_admin": True, "user": None}
    r = api.post("/api/setup", json={"email": "boss@example.com", "password": "short"})
    assert r.status_code in (400, 422) and "8" in error_of(r)["message"], r.text  # the CLI's own rule
    r = api.post("/api/setup", json={"email": "not-an-email", "password": "long enough pass"})
    assert r.status_code == 400, r.text
    r = api.post("/api/setup", json={"email": "boss@example.com", "password": "long enough pass"})
    assert r.status_code == 201, r.text
    assert r.json()["user"]["is_admin"] is True and "httponly" in r.headers["set-cookie"].lower()
    state = api.get("/api/setup").json()  # the cookie set above
    assert state["needs_admin"] is False and state["user"]["email"] == "boss@example.com"
    assert api.get("/api/users/me").json()["email"] == "boss@example.com"
    api.cookies.clear()
    r = api.post("/api/setup", json={"email": "late@example.com", "password": "long enough pass"})
    assert r.status_code == 409, r.text
    api.cookies.set(SESSION_COOKIE, "cc_not_a_token")
    assert api.get("/api/setup").json() == {"needs_admin": False, "user": None}  # never a 401


def _first_run_race(app, n: int = 6) -> list[int]:
    """``n`` first-run requests released at the same moment, each with its own email; their status codes."""
    import threading

    api = client(app)
    gate = threading.Barrier(n)
    codes: list[int] = []

    def one(i: int) -> None:
        gate.wait()
        r = api.post("/api/setup", json={"email": f"admin{i}@example.com", "password": "long enough pass"})
        codes.append(r.status_code)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return sorted(codes)


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_simultaneous_first_runs_leave_exactly_one_admin(settings, database, request):
    if database == "postgresql":
        settings.database_url = request.getfixturevalue("postgres_url")
    app = Clipcast(settings)
    codes = _first_run_race(app)
    assert codes == [201] + [409] * 5, codes
    with app.session() as s:
        users = s.exec(select(User)).all()
    assert len(users) == 1 and users[0].is_admin, [u.email for u in users]


def test_video_list_search_counts_and_status(app, api, sent):
    alice = make_user(app, "alice@example.com")
    ids = seed(app, alice.id, tag="cooking")
    other = seed(app, alice.id, tag="bike")
    items = api.get("/api/videos", headers=alice.headers).json()["items"]
    by_id = {v["id"]: v for v in items}
    assert by_id[ids["video"]]["clips"] == 1 and by_id[ids["video"]]["status"] == "failed"
    assert by_id[ids["video"]]["job_id"] == ids["job"]
    found = api.get("/api/videos?q=COOK", headers=alice.headers).json()
    assert [v["id"] for v in found["items"]] == [ids["video"]] and found["total"] == 1
    assert api.get("/api/videos?q=nothing", headers=alice.headers).json()["total"] == 0
    assert other["video"] in {v["id"] for v in api.get("/api/videos?q=bike", headers=alice.headers).json()["items"]}
    # seeded rows have no stored original: a clear 404, not a server error
    for path in ("thumbnail", "source"):
        r = api.get(f"/api/videos/{ids['video']}/{path}", headers=alice.headers)
        assert r.status_code == 404 and "no stored original" in error_of(r)["message"]
    bob = make_user(app, "bob@example.com")
    assert api.get(f"/api/videos/{ids['video']}/source", headers=bob.headers).status_code == 404
    assert api.get("/api/videos?q=cook", headers=bob.headers).json()["total"] == 0


def test_video_thumbnail_and_source_from_a_real_file(app, api, ffmpeg, tmp_path):
    from core.media.synth import talk_video
    from core.pipeline.ingest import ingest

    alice = make_user(app, "alice@example.com")
    path = talk_video(["One short line."], tmp_path / "line.mp4", pause=0.2, size="320x180")
    video = ingest(app, str(path), user_id=alice.id)
    r = api.get(f"/api/videos/{video.id}/thumbnail", headers=alice.headers)
    assert r.status_code == 200 and r.content[:3] == b"\xff\xd8\xff", r.text[:200]
    r = api.get(f"/api/videos/{video.id}/source", headers={**alice.headers, "Range": "bytes=0-9"})
    assert r.status_code == 206 and r.content == path.read_bytes()[:10]


def _clip_with_words(app, user_id):
    with app.session() as s:
        words = [
            {"text": " Bananas", "start": 0.0, "end": 0.5},
            {"text": " are", "start": 0.5, "end": 0.7},
            {"text": " mary", "start": 0.7, "end": 1.2},
            {"text": " fruit", "start": 1.2, "end": 1.8},
        ]
        segment = {"start": 0.0, "end": 1.8, "text": "Bananas are mary fruit", "words": words}
        data = {"language": "en", "duration": 2.0, "segments": [segment]}
        tr = Transcript(cache_key="k", audio_sha256="x", backend="fake", duration=2.0, data=data)
        s.add(tr)
        s.flush()
        video = Video(user_id=user_id, source="b.mp4", title="b", sha256="b" * 8, duration=2.0, transcript_id=tr.id)
        s.add(video)
        s.flush()
        clip = Clip(video_id=video.id, user_id=user_id, start=0.0, end=1.8, score=50)
        s.add(clip)
        s.flush()
        return clip.id


def test_clip_words_word_fixes_and_platform_captions(app, api, sent):
    alice = make_user(app, "alice@example.com")
    clip_id = _clip_with_words(app, alice.id)
    words = api.get(f"/api/clips/{clip_id}/words?pad=0", headers=alice.headers).json()
    assert [w["text"] for w in words] == ["Bananas", "are", "mary", "fruit"]
    r = api.patch(f"/api/clips/{clip_id}", headers=alice.headers,
                  json={"word_fixes": {"0.70": "berry"}, "platform_captions": {"tiktok": "so #fruit"}})  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["platform_captions"] == {"tiktok": "so #fruit"}
    assert r.json()["render_options"]["word_fixes"] == {"0.70": "berry"}
    words = api.get(f"/api/clips/{clip_id}/words?pad=0", headers=alice.headers).json()
    assert [(w["text"], w["heard"]) for w in words][2] == ("berry", "mary")
    r = api.patch(f"/api/clips/{clip_id}", headers=alice.headers, json={"word_fixes": {"0.7": "x"}})
    assert r.status_code == 422  # keys are start times with two decimals
    r = api.patch(f"/api/clips/{clip_id}", headers=alice.headers, json={"platform_captions": None})
    assert r.status_code == 422 and "platform_captions" in error_of(r)["message"]  # patch fields are never null
    # the render reads the fixes: the captions' words change, and so does the render hash
    fixed = _fixed([Word(text="mary", start=0.7, end=1.2), Word(text="fruit", start=1.2, end=1.8)], {"0.70": "berry"})
    assert [w.text for w in fixed] == ["berry", "fruit"]
    assert RenderOptions(word_fixes={"0.70": "berry"}).resolved(app.settings).word_fixes == {"0.70": "berry"}


def test_approve_with_render_queues_one_render_only_when_unrendered(app, api, sent):
    alice = make_user(app, "alice@example.com")
    ids = seed(app, alice.id)
    r = api.post(f"/api/clips/{ids['clip']}/approve", headers=alice.headers)
    assert r.status_code == 200 and r.json()["render_job"] is None and sent == []
    r = api.post(f"/api/clips/{ids['clip']}/approve?render=true", headers=alice.headers)
    job = r.json()["render_job"]
    assert r.json()["status"] == "approved" and job["kind"] == "render" and sent == [job["id"]]
    with app.session() as s:
        clip = s.get(Clip, ids["clip"])
        clip.video_key, clip.status = "renders/x.mp4", "rendered"
        s.add(clip)
    r = api.post(f"/api/clips/{ids['clip']}/approve?render=true", headers=alice.headers)
    assert r.json()["render_job"] is None and r.json()["status"] == "rendered" and len(sent) == 1


def test_styles_lists_the_presets(app, api):
    alice = make_user(app, "alice@example.com")
    body = api.get("/api/clips/styles", headers=alice.headers).json()
    assert {"karaoke", "pop", "clean"} <= set(body["caption_styles"]) and "example" in body["brands"]
    assert set(body["reframes"]) == {"crop", "blur", "face"} and body["defaults"]["caption_style"] == "karaoke"


def test_overall_progress_and_eta():
    assert overall_percent("analyze", "running", "ingest", 50) == 5.0
    assert overall_percent("analyze", "running", "transcribe", 50) == 40.0
    assert overall_percent("analyze", "running", "select", 0) == 70.0
    assert overall_percent("analyze", "succeeded", "select", 0) == 100.0
    assert overall_percent("analyze", "queued", "", 0) == 0.0
    assert overall_percent("render", "running", "render", 30) == 30.0
    now = datetime(2026, 1, 1, 12, 0, 10, tzinfo=UTC)
    assert eta_seconds("running", 25.0, now - timedelta(seconds=10), now) == 30.0
    assert eta_seconds("queued", 25.0, None, now) is None and eta_seconds("running", 1.0, now, now) is None


def test_job_out_carries_overall_progress(app, api):
    alice = make_user(app, "alice@example.com")
    with app.session() as s:
        job = Job(user_id=alice.id, kind="analyze", status="running", stage="transcribe", progress=50)
        s.add(job)
        s.flush()
        job_id = job.id
    body = api.get(f"/api/jobs/{job_id}", headers=alice.headers).json()
    assert body["overall"] == 40.0 and body["progress"] == 50


def test_posts_by_window_and_retry(app, api):
    alice = make_user(app, "alice@example.com")
    ids = seed(app, alice.id)
    base = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with app.session() as s:
        seeded = s.get(Post, ids["post"])
        seeded.scheduled_at, seeded.status, seeded.error = base, "failed", "the platform said no"
        s.add(seeded)
        s.add(Post(user_id=alice.id, clip_id=ids["clip"], account_id=ids["account"], platform="folder",
                   scheduled_at=base + timedelta(days=8)))  # fmt: skip
    h = alice.headers
    week = api.get("/api/posts", params={"after": base.isoformat(), "before": (base + timedelta(days=7)).isoformat()},
                   headers=h).json()  # fmt: skip
    assert [p["id"] for p in week["items"]] == [ids["post"]] and week["total"] == 1
    naive = api.get("/api/posts?after=2026-03-10T00:00:00", headers=h).json()  # no offset: UTC
    assert naive["total"] == 1 and naive["items"][0]["id"] != ids["post"]
    r = api.post(f"/api/posts/{ids['post']}/retry", headers=h)
    assert r.status_code == 200 and r.json()["status"] == "scheduled" and r.json()["error"] is None
    r = api.post(f"/api/posts/{ids['post']}/retry", headers=h)
    assert r.status_code == 400 and "only failed or interrupted posts" in error_of(r)["message"]
    bob = make_user(app, "bob@example.com")
    assert api.post(f"/api/posts/{ids['post']}/retry", headers=bob.headers).status_code == 404


def test_platforms_and_the_oauth_return_to_the_studio(app, api):
    alice = make_user(app, "alice@example.com")
    with YouTubeFake() as fake:
        app.settings.publishers = {"youtube": fake.options()}
        app.settings.ingest.allowed_networks = ["127.0.0.0/8", "::1/128"]  # the fake platform listens on loopback
        app.settings.secret_key = "api test passphrase, not a real secret"
        platforms = {p["name"]: p for p in api.get("/api/accounts/platforms", headers=alice.headers).json()}
        assert platforms["youtube"]["oauth"] and platforms["youtube"]["configured"]
        assert not platforms["folder"]["oauth"] and platforms["folder"]["configured"]
        r = api.get("/api/accounts/connect/youtube?studio=true", headers=alice.headers, follow_redirects=False)
        sealed = r.cookies.get(OAUTH_COOKIE)
        back = fake.authorize(r.headers["location"]).split("testserver", 1)[1]
        api.cookies.clear()
        forged = back.replace("state=", "state=x")
        r = api.get(forged, headers=alice.headers, cookies={OAUTH_COOKIE: sealed}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/#/accounts?error=")
        assert "state" in r.headers["location"]
        r = api.get(back, headers=alice.headers, cookies={OAUTH_COOKIE: sealed}, follow_redirects=False)
        assert r.status_code == 303, r.text
        account_id = int(r.headers["location"].rsplit("connected=", 1)[1])
        assert api.get(f"/api/accounts/{account_id}", headers=alice.headers).json()["platform"] == "youtube"


def test_daily_usage_is_zero_filled_and_per_user(app, api):
    alice = make_user(app, "alice@example.com")
    bob = make_user(app, "bob@example.com")
    now = datetime.now(UTC)
    with app.session() as s:
        s.add(AiUsage(user_id=alice.id, provider="openai", kind="llm", cost_usd=0.25, created_at=now))
        s.add(AiUsage(user_id=alice.id, provider="openai", kind="stt", cost_usd=0.05, created_at=now))
        s.add(
            AiUsage(user_id=alice.id, provider="openai", kind="llm", cost_usd=1.0, created_at=now - timedelta(days=2))
        )
        s.add(AiUsage(user_id=bob.id, provider="openai", kind="llm", cost_usd=9.0, created_at=now))
    days = api.get("/api/users/me/usage/daily?days=3", headers=alice.headers).json()
    assert [d["day"] for d in days] == [(now - timedelta(days=n)).date().isoformat() for n in (2, 1, 0)]
    assert [d["cost_usd"] for d in days] == [1.0, 0.0, 0.3]
    assert days[2]["llm_calls"] == 1 and days[2]["stt_calls"] == 1
    assert api.get("/api/users/me/usage/daily?days=0", headers=alice.headers).status_code == 422


def test_the_studio_files_and_the_offline_docs(api):
    page = api.get("/")
    assert page.status_code == 200 and "script-src 'self';" in page.headers["content-security-policy"]
    assert "unsafe-inline" not in page.headers["content-security-policy"]
    for src in ("/web/app.js", "/web/style.css", "/web/dom.js"):
        assert api.get(src).status_code == 200
    assert api.get("/web/app.js").headers["content-type"].startswith("text/javascript")
    assert api.get("/web/..%2Fapp.py").status_code == 404 and api.get("/web/nope.js").status_code == 404
    docs = api.get("/docs").text
    assert "/docs/assets/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()
    assert api.get("/docs/assets/swagger-ui-bundle.js").status_code == 200
    assert api.get("/docs/assets/..%2F__init__.py").status_code == 404
    assert api.get("/redoc").status_code == 404


def test_server_paths_never_reach_users(app, tmp_path):
    """Job and post errors and API error messages hide the server's directories; a user's own path stays."""
    import tempfile

    from fastapi.testclient import TestClient

    from core import jobs
    from core.api.app import create_app
    from core.errors import StorageError
    from core.scratch import prefix

    alice = make_user(app, "alice@example.com")
    with pytest.raises(StorageError) as missing:
        app.storage.open("videos/abc/original.mp4")
    assert str(app.settings.data_dir.resolve()) not in str(missing.value) and "videos/abc" in str(missing.value)

    data = app.settings.data_dir.resolve()
    scratch = f"{tempfile.gettempdir()}/{prefix('clipcast-render')}x1y2/clip.mp4"
    reason = f"ffmpeg could not open '{data}/storage/videos/a.mp4' nor {scratch}: see /srv/my videos"
    with app.session() as s:
        job = Job(user_id=alice.id, kind="analyze", status="running", stage="ingest")
        s.add(job)
        s.flush()
        job_id = job.id
    jobs.fail(app, job_id, reason)
    web = create_app(app)

    @web.get("/boom")
    def boom() -> None:
        raise StorageError(f"no object in {data}/storage", f"look in {data / 'tmp'}")

    api = TestClient(web, raise_server_exceptions=False)
    error = api.get(f"/api/jobs/{job_id}", headers=alice.headers).json()["error"]
    assert error == "ffmpeg could not open '[server file]' nor [server file]: see /srv/my videos", error
    body = api.get("/boom").json()["error"]
    assert body["message"] == "no object in [server file]" and body["detail"] == {"hint": "look in [server file]"}


def _real_clip(app, tmp_path, user_id):
    """A real 320x180 talk video with a two-word transcript and one clip over it (no speech model run)."""
    from core.media.synth import talk_video
    from core.pipeline.ingest import ingest

    path = talk_video(["Bananas are berries."], tmp_path / "b.mp4", pause=0.2, size="320x180")
    video = ingest(app, str(path), user_id=user_id)
    words = [{"text": " Bananas", "start": 0.1, "end": 0.6}, {"text": " rock", "start": 0.6, "end": 1.1}]
    with app.session() as s:
        data = {
            "language": "en",
            "duration": 1.2,
            "segments": [{"start": 0.1, "end": 1.1, "text": "x", "words": words}],
        }
        tr = Transcript(cache_key="real", audio_sha256="y", backend="fake", duration=1.2, data=data)
        s.add(tr)
        s.flush()
        row = s.get(Video, video.id)
        row.transcript_id = tr.id
        s.add(row)
        clip = Clip(video_id=video.id, user_id=user_id, start=0.0, end=min(1.5, video.duration), score=50, title="b")
        s.add(clip)
        s.flush()
        return clip.id


def test_preview_frame_is_one_still_per_settings_and_cached(app, api, ffmpeg, tmp_path):
    from io import BytesIO

    from PIL import Image

    alice = make_user(app, "alice@example.com")
    clip_id = _real_clip(app, tmp_path, alice.id)
    url = f"/api/clips/{clip_id}/preview-frame"
    r = api.get(url, params={"aspect": "1:1", "caption_style": "pop", "reframe": "blur"}, headers=alice.headers)
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg", r.text[:300]
    assert Image.open(BytesIO(r.content)).size == (1080, 1080)
    stored = sorted(app.storage.list("previews/"))
    again = api.get(url, params={"aspect": "1:1", "caption_style": "pop", "reframe": "blur"}, headers=alice.headers)
    assert again.content == r.content and sorted(app.storage.list("previews/")) == stored  # from the cache
    tall = api.get(url, params={"aspect": "9:16", "caption_style": "clean"}, headers=alice.headers)
    assert Image.open(BytesIO(tall.content)).size == (1080, 1920) and len(list(app.storage.list("previews/"))) == 2
    assert api.get(url, params={"brand": "../etc"}, headers=alice.headers).status_code == 422  # names only
    r = api.get(url, params={"brand": "nope"}, headers=alice.headers)
    assert r.status_code == 400 and "nope" in error_of(r)["message"], r.text
    bob = make_user(app, "bob@example.com")
    assert api.get(url, headers=bob.headers).status_code == 404


def test_post_preview_per_platform_and_render_versions(app, api, sent):
    from core.models import SocialAccount

    alice = make_user(app, "alice@example.com")
    ids = seed(app, alice.id)
    with app.session() as s:
        clip = s.get(Clip, ids["clip"])
        clip.caption, clip.hashtags = "Bananas are berries.", ["banana", "#facts"]
        clip.platform_captions = {"folder": "Folder words"}
        clip.video_key, clip.status, clip.render_version = "renders/1/1-v2-abc/clip.mp4", "published", 2
        s.add(clip)
        tiktok = SocialAccount(user_id=alice.id, platform="tiktok", remote_id="tt", name="tt")
        s.add(tiktok)
        post = s.get(Post, ids["post"])
        post.video_key, post.caption, post.options = "renders/1/1-v1-old/clip.mp4", "Old words", {"hashtags": ["a"]}
        s.add(post)
        s.flush()
        tiktok_id = tiktok.id
    h = alice.headers
    folder = api.get(f"/api/posts/{ids['post']}/preview", headers=h).json()
    assert folder["text"] == "Old words\n\n#a" and folder["render_version"] == 1 and folder["current_version"] == 2
    assert api.get(f"/api/posts/{ids['post']}", headers=h).json()["render_version"] == 1
    new = api.get("/api/posts/preview", params={"clip": ids["clip"], "account": ids["account"]}, headers=h).json()
    assert new["text"] == "Folder words\n\n#banana #facts" and new["render_version"] == 2
    app.settings.publishers = {"tiktok": {"client_key": "k", "client_secret": "s"}}
    tt = api.get("/api/posts/preview", params={"clip": ids["clip"], "account": tiktok_id}, headers=h).json()
    assert tt["title"] is None and tt["text"] == "Bananas are berries. #banana #facts", tt
    assert tt["text_limit"] == 2200 and tt["privacy"] == "SELF_ONLY" and tt["problems"] == []
    with app.session() as s:
        clip = s.get(Clip, ids["clip"])
        clip.caption = "x" * 2300
        s.add(clip)
    tt = api.get("/api/posts/preview", params={"clip": ids["clip"], "account": tiktok_id}, headers=h).json()
    assert tt["problems"] == ["the text is 2315 long; tiktok allows 2200"], tt["problems"]
    # a published clip's picture may change: a new render version (its posts keep theirs)
    r = api.patch(f"/api/clips/{ids['clip']}", json={"caption_style": "pop"}, headers=h)
    assert r.status_code == 200 and r.json()["render_job"] is not None and r.json()["render_version"] == 2, r.text
