"""The studio in a real browser: Debian's chromium driven by Playwright, against ``clipcast serve`` (embedded:
API, worker and scheduler in one process) with no user yet and a short espeak-ng talk video.

One server and one browser for the module; the tests run in file order and build on each other like a new
user would: first-run admin → upload → analysis → review → edit caption and trim → render → the preview plays
→ approve → a folder account → a schedule → a post on the calendar → the scheduler publishes it → the posts
list says published. Then: logout and a wrong password, a failed job, every page at 390 px with no sideways
scroll, and an axe-core accessibility check of every page. Every page is also checked for console errors.

Screenshots of every page at 390 and 1440 px go to ``$STUDIO_SCREENS`` when it is set (never in the repo).
"""

from __future__ import annotations

import os
import re
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from api_support import clean_env, serve_process
from conftest import need
from fakes.youtube_server import YouTubeFake

from core.media.synth import talk_video

pytestmark = pytest.mark.slow
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]  # fmt: skip
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
EMAIL, PASSWORD = "creator@example.com", "studio password 1"
PAGES = ["start", "library", "video/1", "clip/1", "accounts", "schedules", "calendar", "calendar?view=month", "posts",
         "usage", "login"]  # fmt: skip
SPEECH = [
    "Bananas are the most popular fruit in the world.",
    "Here is the secret: a banana is technically a berry.",
    "Strawberries, on the other hand, are not berries at all.",
]


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    need(Path(CHROMIUM).is_file(), "chromium is not installed (scripts/install-system-deps.sh installs it)")
    need(shutil.which("espeak-ng") is not None, "espeak-ng is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    base = tmp_path_factory.mktemp("studio")
    video = talk_video(SPEECH, base / "bananas.mp4", pause=0.5, size="640x360")
    config = {
        "data_dir": str(base / "data"),
        "secret_key": "studio test passphrase, not a real secret",
        "selection": {"clips": 2, "min_seconds": 3, "max_seconds": 8},
        "render": {"preset": "ultrafast", "reframe": "crop", "remove_silence": False, "loudness_lufs": None, "crf": 34},
        "publishers": {"folder": {"path": str(base / "outbox")}},
        "scheduler": {"dispatch_interval": 1},
        "worker": {"max_retries": 0},  # the failed-job test wants the failure now, not after backoff
        "log": {"level": "WARNING"},
        "sources": {"folder_roots": [str(base / "watched")]},  # the admin's directories that may be watched
        "ingest": {"allowed_networks": ["127.0.0.0/8", "::1/128"]},  # the fake platform listens on loopback
    }
    youtube = YouTubeFake()  # the platform's token endpoint; its consent page is stood in for by page.route
    config["publishers"]["youtube"] = youtube.options()
    with youtube, serve_process(base, config, clean_env(TZ="UTC")) as url, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 1440, "height": 900}, base_url=url)
        context.set_default_timeout(20_000)
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
        yield {"page": page, "url": url, "base": base, "video": video, "errors": errors, "expect": sync_api.expect,
               "youtube": youtube}  # fmt: skip
        browser.close()


def shots(page, name: str) -> None:
    """Screenshots at 390 and 1440 px to $STUDIO_SCREENS (when set), and no sideways scroll at 390 px."""
    folder = os.environ.get("STUDIO_SCREENS")
    for width in (390, 1440):
        page.set_viewport_size({"width": width, "height": 900 if width > 400 else 844})
        page.wait_for_timeout(100)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{name} scrolls sideways by {overflow} px at {width} px"
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=f"{folder}/{name.replace('/', '-').replace('?', '-')}-{width}.png", full_page=True)


def goto(page, hash_: str) -> None:
    """Open a studio page (a reload when it is the current one: the same hash fires no hashchange)."""
    if page.url.endswith(f"#/{hash_}"):
        page.reload()
    else:
        page.goto(f"/#/{hash_}")
    page.wait_for_selector("#view h1")


def no_console_errors(s) -> None:
    assert s["errors"] == [], s["errors"]


def test_first_run_creates_the_admin(studio):
    page, expect = studio["page"], studio["expect"]
    page.goto("/")
    expect(page.get_by_role("heading", name="Welcome: create the first administrator")).to_be_visible()
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password (at least 8 characters)").fill("short")
    page.get_by_label("Repeat the password").fill("short")
    page.get_by_role("button", name="Create administrator").click()
    expect(page.locator("#setup-error")).to_contain_text("8")  # the server's own rule, shown by the form
    page.get_by_label("Password (at least 8 characters)").fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Create administrator").click()
    expect(page.get_by_role("heading", name="Getting started")).to_be_visible()
    expect(page.locator("#who")).to_have_text(EMAIL)
    expect(page.get_by_role("link", name="Connect an account")).to_be_visible()
    studio["errors"].clear()  # the 422 of the short password is the console's only (expected) error


def test_upload_analyze_and_review(studio):
    page, expect = studio["page"], studio["expect"]
    goto(page, "library")
    expect(page.get_by_text("No videos yet")).to_be_visible()
    watched = studio["base"] / "watched"
    watched.mkdir()
    form = page.get_by_role("form", name="Watch a source")
    form.get_by_label("Kind").select_option("folder")
    form.get_by_label("Folder path or link").fill(str(watched))
    form.get_by_role("button", name="Watch").click()
    expect(page.locator("#sources")).to_contain_text(f"folder: {watched}")
    form.get_by_label("Kind").select_option("rss")
    form.get_by_label("Folder path or link").fill("http://10.1.2.3/feed.xml")
    form.get_by_role("button", name="Watch").click()
    expect(page.locator("#source-error")).not_to_be_empty()  # a private address: the egress check's message
    studio["errors"].clear()  # that refusal's 400 is this page's only (expected) console error
    item = page.locator("#sources li", has_text=f"folder: {watched}")
    item.get_by_role("button", name=f"Edit folder: {watched}").click()
    item.get_by_label("Check every (minutes)").fill("30")
    item.get_by_label("Watching (unchecked: paused)").uncheck()
    item.get_by_role("button", name="Save").click()
    expect(item).to_contain_text("every 30 min")
    expect(item.locator(".badge")).to_have_text("paused")
    page.once("dialog", lambda d: d.accept())
    item.get_by_role("button", name=f"Stop watching folder: {watched}").click()
    expect(page.locator("#sources")).to_contain_text("Nothing is watched yet.")
    assert page.evaluate("fetch('/api/sources').then(r => r.json())")["total"] == 0
    page.locator("#upload-file").set_input_files(str(studio["video"]))
    # the button is disabled from the moment the form is sent (three clicks never make three jobs)
    assert page.evaluate("() => { const f = document.querySelector('#upload'); f.requestSubmit();"
                         " return f.querySelector('button').disabled; }")  # fmt: skip
    job = page.locator(".job").first
    expect(job.locator(".badge")).to_have_text("succeeded", timeout=90_000)
    expect(job.locator("progress")).to_have_attribute("value", "100")
    link = page.locator("#videos a").first
    expect(link).to_contain_text("bananas")
    expect(page.locator("#videos")).to_contain_text("2 clips")
    link.click()
    cards = page.locator("article.clip")
    expect(cards).to_have_count(2)
    scores = [float(s) for s in page.locator("article.clip .score").all_inner_texts()]
    assert scores == sorted(scores, reverse=True), scores
    first = cards.first
    src = first.locator("video").get_attribute("src")
    assert src and "/source#t=" in src, src  # before rendering: the source segment as a media fragment
    expect(first).to_contain_text("Why:")
    page.keyboard.press("j")
    expect(first).to_be_focused()
    page.keyboard.press("j")
    expect(cards.nth(1)).to_be_focused()
    page.keyboard.press("k")
    expect(first).to_be_focused()
    second = cards.nth(1).get_attribute("id")
    page.keyboard.press("j")
    page.keyboard.press("r")  # reject the second clip from the keyboard
    expect(page.locator(f"#{second} .badge")).to_have_text("rejected")
    no_console_errors(studio)


def test_edit_trim_render_preview_approve(studio):
    page, expect = studio["page"], studio["expect"]
    page.locator("article.clip").first.get_by_role("link", name="Edit").click()
    expect(page.locator("#clip-text")).to_be_visible()
    clip_id = int(page.url.rsplit("/", 1)[1])
    page.get_by_label("Caption", exact=True).fill("A banana is a berry. Who knew?")
    page.get_by_label("Hashtags (separated by spaces)").fill("#banana #facts")
    with page.expect_response(lambda r: r.request.method == "PATCH" and f"/api/clips/{clip_id}" in r.url) as saved:
        page.get_by_role("button", name="Save words").click()
    assert saved.value.status == 200, saved.value.text()
    expect(page.locator("#text-error")).to_be_empty()
    # trim on the transcript: start at "Here", end at "technically" (snapped to the words' times); then fix a
    # mis-heard word (espeak-ng's "berry" comes back from the tiny model as "mary" or "marry.")
    words = page.locator(".words button")
    page.get_by_label("sets the start").check()
    words.filter(has_text="Here").first.click()
    page.get_by_label("sets the end").check()
    words.filter(has_text="technically").first.click()
    bounds = page.locator("#trim-bounds").inner_text()
    page.get_by_label("corrects the word").check()
    words.filter(has_text=re.compile(r"^\s*marr?y\W*$", re.IGNORECASE)).first.click()
    page.locator("#fix-word").fill("berry")
    page.get_by_role("button", name="Use this word").click()
    expect(words.filter(has_text="berry")).to_have_count(1)
    with page.expect_response(lambda r: r.request.method == "PATCH" and f"/api/clips/{clip_id}" in r.url) as saved:
        page.get_by_role("button", name="Save trim and word fixes").click()
    assert saved.value.status == 200, saved.value.text()
    expect(page.locator("#trim-error")).to_be_empty()
    clip = page.evaluate(f"fetch('/api/clips/{clip_id}').then(r => r.json())")
    assert f"{clip['start']:.2f}" in bounds and f"{clip['end']:.2f}" in bounds, (bounds, clip)
    assert clip["caption"] == "A banana is a berry. Who knew?" and clip["hashtags"] == ["banana", "facts"]
    assert list(clip["render_options"]["word_fixes"].values()) == ["berry"], clip["render_options"]
    # a preview frame of the style before any render: the server's still, square once the aspect is 1:1
    still = page.locator("#style-still")
    page.wait_for_function("() => document.querySelector('#style-still').naturalWidth > 0", timeout=30_000)
    with page.expect_response(lambda r: "/preview-frame" in r.url and "aspect=1%3A1" in r.url) as shot:
        page.get_by_label("Aspect").select_option("1:1")
    assert shot.value.status == 200 and shot.value.headers["content-type"] == "image/jpeg"
    square = "() => { const i = document.querySelector('#style-still'); return i.complete && i.naturalWidth > 0"
    page.wait_for_function(square + " && i.naturalWidth === i.naturalHeight; }")
    expect(page.locator("#still-note")).to_have_text("preview frame (clip start)")
    assert "aspect=1%3A1" in still.get_attribute("src")
    shots(page, "clip-before-render")
    page.get_by_label("Aspect").select_option("")  # back to the default before rendering
    # the render options added with the creator features: chosen here, stored, used by the render below
    page.get_by_label("Caption position").select_option("top")
    page.get_by_label("Hook title card").select_option("on")
    with page.expect_response(lambda r: r.request.method == "PATCH" and f"/api/clips/{clip_id}" in r.url) as saved:
        page.get_by_role("button", name="Save style").click()
    assert saved.value.status == 200, saved.value.text()
    expect(page.locator("#style-error")).to_be_empty()
    clip = page.evaluate(f"fetch('/api/clips/{clip_id}').then(r => r.json())")
    assert clip["render_options"]["caption_position"] == "top" and clip["render_options"]["hook_title"] is True
    page.get_by_role("button", name="Render").click()
    expect(page.locator("#clip-state")).to_contain_text("render v1 ready", timeout=90_000)
    expect(page.locator("#style-error")).to_be_empty()
    player = page.locator("video.player").first
    assert "/download" in player.get_attribute("src")
    page.evaluate("() => { const v = document.querySelector('video.player'); v.muted = true; return v.play(); }")
    page.wait_for_function("document.querySelector('video.player').readyState >= 2", timeout=20_000)
    # a rendered clip is approved already: the page offers scheduling, not Approve
    expect(page.locator("#clip-state .state")).to_have_text("rendered")
    expect(page.locator("#approve")).to_have_count(0)
    expect(page.locator("#clip-actions").get_by_role("link", name="Schedule…")).to_be_visible()
    clip = page.evaluate(f"fetch('/api/clips/{clip_id}').then(r => r.json())")
    assert clip["has_video"] and clip["status"] == "rendered" and clip["render_version"] == 1, clip
    studio["clip_id"] = clip_id
    no_console_errors(studio)


def test_account_schedule_calendar_publish(studio):
    page, expect = studio["page"], studio["expect"]
    goto(page, "accounts")
    expect(page.get_by_text("No account yet")).to_be_visible()
    for kind, name in (("folder", "outbox"), ("webhook", "archive")):  # a clip goes to an account once
        page.get_by_label("Kind").select_option(kind)
        page.get_by_label("Name").fill(name)
        page.get_by_role("button", name="Add account").click()
        expect(page.locator("#accounts")).to_contain_text(name)
    expect(page.locator("#accounts .badge")).to_have_text(["ok", "ok"])

    goto(page, "schedules")
    form = page.get_by_role("form", name="New schedule")
    form.get_by_label("Account").select_option(label="webhook: archive")
    form.get_by_label("Name").fill("evenings")
    form.get_by_label("Blackout windows (HH:MM-HH:MM, comma separated)").fill("23:00-06:00")
    form.get_by_label("Posts per day at most").fill("3")
    form.get_by_role("button", name="Create schedule").click()
    expect(page.get_by_role("form", name="Schedule evenings")).to_be_visible()

    # one post far enough ahead to drag on the calendar, one due now for the scheduler (which may also have
    # filled a slot of the new schedule with this clip)
    goto(page, f"posts?clip={studio['clip_id']}")
    rows = page.locator("tbody tr")
    before = rows.count()
    later = (datetime.now() + timedelta(days=1)).replace(hour=10, minute=0)
    when = page.get_by_label("When (your time; empty: the next free slot)")
    page.get_by_label("Account").select_option(label="webhook: archive")
    preview = page.locator("#post-preview")
    expect(preview).to_contain_text("On webhook: archive")
    expect(preview.locator(".post-text")).to_have_text("A banana is a berry. Who knew?\n\n#banana #facts")
    expect(preview).to_contain_text("Publishes render v1")
    when.fill(later.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Schedule", exact=True).click()
    expect(rows).to_have_count(before + 1)
    page.get_by_label("Account").select_option(label="folder: outbox")
    when.fill(datetime.now().strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Schedule", exact=True).click()
    expect(rows).to_have_count(before + 2)
    posts = page.evaluate("fetch('/api/posts?limit=100').then(r => r.json())")["items"]
    later_id, now_id = (p["id"] for p in sorted(posts, key=lambda p: p["id"])[-2:])

    # the calendar pages through the range: here the server answers one post per page
    page.route(
        re.compile(r".*/api/posts\?.*"),
        lambda route: route.continue_(url=route.request.url.replace("limit=100", "limit=1")),
    )
    goto(page, "calendar")
    expect(page.locator(f'.chip[data-post="{now_id}"]')).to_be_visible()
    expect(page.locator(f'.chip[data-post="{later_id}"]')).to_be_visible()
    page.unroute(re.compile(r".*/api/posts\?.*"))
    target = (later + timedelta(days=1)).strftime("%Y-%m-%d")
    if page.locator(f'[data-day="{target}"]').count() == 0:  # the day after is in next week: drag one day back
        target = (later - timedelta(days=1)).strftime("%Y-%m-%d")
    page.locator(f'.chip[data-post="{later_id}"]').drag_to(page.locator(f'[data-day="{target}"]'))
    moved = page.locator(f'[data-day="{target}"] .chip[data-post="{later_id}"]')
    expect(moved).to_have_count(1)
    moved.click()
    expect(page.get_by_role("dialog")).to_contain_text("scheduled")
    expect(page.get_by_role("dialog").locator(".post-text")).to_contain_text("#banana #facts")
    shots(page, "calendar-post-dialog")
    page.get_by_role("button", name="Close").click()
    post = page.evaluate(f"fetch('/api/posts/{later_id}').then(r => r.json())")
    assert post["scheduled_at"][:10] == target or target in post["scheduled_at"], post

    goto(page, "posts")
    for _ in range(60):
        if page.locator(f"#post-{now_id} .post-status", has_text="published").count():
            break
        page.wait_for_timeout(1000)
        goto(page, "posts")
    expect(page.locator(f"#post-{now_id} .post-status")).to_have_text("published")
    assert list((studio["base"] / "outbox").rglob("*.mp4")), "the folder publisher wrote nothing"
    expect(page.locator(f'[data-post-results="{now_id}"]')).to_have_text("no numbers collected yet")
    studio["now_id"] = now_id
    no_console_errors(studio)


def test_analytics_on_posts_calendar_and_review(studio):
    """Numbers the engine stored for the published post (as a collection run would) show up in the studio."""
    from core.analytics.collect import record
    from core.app import Clipcast
    from core.config import Settings
    from core.contracts import PostMetrics
    from core.models import Post, utcnow

    page, expect, now_id = studio["page"], studio["expect"], studio["now_id"]
    engine = Clipcast(Settings(data_dir=studio["base"] / "data"), migrate=False)
    with engine.session() as s:
        post = s.get(Post, now_id)
    values = {"views": 1234, "likes": 50, "comments": 7, "shares": 3, "avg_view_seconds": 4.5}
    record(engine, post, PostMetrics(values=values), taken_at=utcnow(), bucket=utcnow(), next_due=None)
    goto(page, "posts")
    expect(page.locator(f'[data-post-results="{now_id}"]')).to_have_text("1,234 views · 60 engagements")
    # the posts list pages (here the server answers one post per page)
    posts = re.compile(r".*/api/posts\?.*")
    page.route(posts, lambda route: route.continue_(url=route.request.url.replace("limit=50", "limit=1")))
    goto(page, "posts?status=")
    expect(page.locator(".pager span")).to_have_text("1\u20131 of 2")
    first_row = page.locator("tbody tr").first.get_attribute("id")
    page.get_by_role("link", name="Next page").click()
    expect(page.locator(".pager span")).to_have_text("2\u20132 of 2")
    assert page.locator("tbody tr").first.get_attribute("id") != first_row
    page.unroute(posts)
    goto(page, "calendar")
    expect(page.locator(f'.chip[data-post="{now_id}"] .chip-results')).to_have_text("1,234 views · 60 engagements")
    goto(page, f"video/{studio_video(page, post.clip_id)}")
    results = page.locator(f'[data-clip-results="{post.clip_id}"]')
    expect(results).to_contain_text("Results: 1,234 views · 60 engagements over 1 post")
    # the published clip's edit page: its state, its posts, no Approve, and what an edit does now
    goto(page, f"clip/{post.clip_id}")
    expect(page.locator("#clip-state .state")).to_have_text("published")
    expect(page.locator("#approve")).to_have_count(0)
    expect(page.get_by_role("link", name="Posts of this clip (published)")).to_be_visible()
    expect(page.locator("#version-note")).to_contain_text("make a new render version (v2)")
    no_console_errors(studio)


def studio_video(page, clip_id: int) -> int:
    return page.evaluate(f"fetch('/api/clips/{clip_id}').then(r => r.json())")["video_id"]


def test_connect_youtube_through_oauth_in_the_browser(studio):
    page, expect, fake = studio["page"], studio["expect"], studio["youtube"]
    # the platform's consent page, approved at once: it sends the browser back to the server's own callback
    fake.route("GET", "/auth", lambda req, m: (302, {"Location": fake.authorize(f"{fake.url}{req.handler.path}")}, b""))
    goto(page, "accounts")
    page.get_by_role("link", name="Connect YouTube").click()
    expect(page.get_by_text("connected.")).to_be_visible()
    card = page.locator("#accounts .card", has_text="YouTube")
    expect(card.locator(".badge")).to_have_text("ok")
    expect(card.get_by_role("link", name=re.compile("Reconnect YouTube"))).to_be_visible()
    # the platform now grants for three days only: the account says it expires soon, and Reconnect is there
    fake.token_extra = lambda: {"refresh_expires_in": 3 * 86400}
    card.get_by_role("link", name=re.compile("Reconnect YouTube")).click()
    expect(page.get_by_text("connected.")).to_be_visible()
    card = page.locator("#accounts .card", has_text="YouTube")
    expect(card).to_have_count(1)  # the same channel reconnected, not a second account
    expect(card.locator(".badge")).to_have_text("expiring")
    expect(card).to_contain_text("The connection expires soon")
    expect(card.get_by_role("link", name=re.compile("Reconnect YouTube"))).to_be_visible()
    shots(page, "accounts-expiring")
    no_console_errors(studio)


def test_a_failed_job_says_what_to_do(studio):
    page, expect = studio["page"], studio["expect"]
    # another copy of the video (a few bytes more: another sha256) whose original then goes missing from storage
    data = studio["video"].read_bytes() + b"\0" * 16
    sent = page.request.post("/api/videos", multipart={
        "file": {"name": "gone.mp4", "mimeType": "video/mp4", "buffer": data}, "analyze": "false"})  # fmt: skip
    assert sent.status == 201, sent.text()
    created = sent.json()
    video = created["video"]
    for path in list((studio["base"] / "data").rglob(f"*{video['sha256']}*")):
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    goto(page, f"video/{video['id']}")
    expect(page.get_by_text("No clips yet")).to_be_visible()
    page.get_by_role("button", name="Analyze again").click()
    job = page.locator(".job").first
    expect(job.locator(".badge")).to_have_text("failed", timeout=60_000)
    expect(job.get_by_text("Failed during ingest")).to_be_visible()  # the stage and the server's reason
    expect(job.get_by_text("add the video again (upload it, or its link)")).to_be_visible()  # what to do
    text = job.inner_text()
    assert "no object 'videos/" in text and str(studio["base"]) not in text and "/tmp/" not in text, text
    expect(job.get_by_role("button", name=re.compile("^Retry"))).to_have_count(0)  # it would fail the same way
    no_console_errors(studio)
    # its thumbnail cannot be made any more (the original is gone): delete it so later pages load cleanly
    assert page.evaluate(f"fetch('/api/videos/{video['id']}', {{method: 'DELETE'}}).then(r => r.status)") == 204


def test_every_page_fits_390_px_and_passes_axe(studio):
    page = studio["page"]
    axe = AXE.read_text()
    for name in PAGES:
        if name == "login":
            page.locator("#logout").click()
            page.wait_for_selector("#login-title")
        else:
            goto(page, name)
        page.wait_for_timeout(300)
        if name == "usage":  # today's uploads are counted (a whole number, against the limit)
            assert page.get_by_text(re.compile(r"^[1-9]\d* of unlimited$")).count() == 1
        shots(page, name)
        page.evaluate(axe)  # evaluated, not a <script>: the studio's CSP allows only its own files
        result = page.evaluate(
            "axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'best-practice']}).then(r => r.violations.map("
            "v => v.id + ': ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', ')))"
        )
        assert result == [], f"{name}: {result}"
    no_console_errors(studio)


def test_logout_clears_the_header_and_a_wrong_password_says_so(studio):
    page, expect = studio["page"], studio["expect"]
    expect(page.locator("#who")).to_have_text("")
    expect(page.locator("#nav")).to_be_hidden()
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#login-error")).to_have_text("wrong email or password")
    assert all("401" in e for e in studio["errors"]), studio["errors"]  # the failed login's own response only
    studio["errors"].clear()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#who")).to_have_text(EMAIL)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto("/docs")  # the API reference works offline too
    page.wait_for_selector(".swagger-ui .info")
    outside = [u for u in requests if not u.startswith((studio["url"], "data:", f"blob:{studio['url']}"))]
    assert outside == [], outside
    no_console_errors(studio)
