"""Watched sources: a folder and an RSS feed (served from a local HTTP server) yield each item once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from core import jobs, scheduler, tasks
from core.app import Clipcast
from core.config import Settings, SourceConfig, WorkerSettings
from core.errors import InputError, PluginError
from core.models import JobStatus, SourceItemSeen, WatchedSource
from plugins.sources.youtube import entries_to_items


def collector() -> tuple[list[Any], Any]:
    sent: list[Any] = []
    return sent, lambda _app, job: sent.append(job)


@pytest.fixture(autouse=True)
def _folder_roots(app: Clipcast, tmp_path: Path) -> None:
    """The administrator lets this test's temporary directory be watched."""
    app.settings.sources.folder_roots = [tmp_path]


def test_watched_folder_picks_up_a_new_file_once(app: Clipcast, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "old.mp4").write_bytes(b"x")
    (inbox / "notes.txt").write_text("not a video")
    source = scheduler.add_source(
        app, "folder", str(inbox), preset={"clips": 2, "options": {"settle_seconds": 0}, "accounts": [3]}
    )
    sent, send = collector()
    first = scheduler.poll_source(app, source, send=send)
    assert [j.options["source"] for j in sent] == [str((inbox / "old.mp4").resolve())]
    assert sent[0].kind == "process" and sent[0].options["request"] == {"clips": 2}
    assert sent[0].options["accounts"] == [3] and first.new_jobs == [sent[0].id]

    (inbox / "new.mov").write_bytes(b"y")
    for _ in range(3):
        scheduler.poll_source(app, _reload(app, source.id), send=send)
    assert [Path(j.options["source"]).name for j in sent] == ["old.mp4", "new.mov"]
    with app.session() as s:
        assert len(list(s.exec(select(SourceItemSeen)))) == 2


def test_a_file_still_being_copied_waits_for_the_next_poll(app: Clipcast, tmp_path: Path) -> None:
    (tmp_path / "inbox").mkdir()
    source = scheduler.add_source(app, "folder", str(tmp_path / "inbox"), preset={"options": {"settle_seconds": 60}})
    (tmp_path / "inbox" / "copying.mp4").write_bytes(b"x")
    _, send = collector()
    assert scheduler.poll_source(app, source, send=send).new_jobs == []
    with app.session() as s:
        assert list(s.exec(select(SourceItemSeen))) == []  # not marked seen: it will be picked up later


def test_missing_folder_is_reported_on_the_source(app: Clipcast, tmp_path: Path) -> None:
    source = scheduler.add_source(app, "folder", str(tmp_path / "nope"))
    report = scheduler.poll_source(app, source, send=lambda *_: None)
    assert "watched folder" in report.error and "does not exist" in report.error
    assert "does not exist" in _reload(app, source.id).last_error


def test_unknown_source_kind_lists_the_available_ones(app: Clipcast) -> None:
    with pytest.raises(PluginError, match="available: folder, rss, youtube"):
        scheduler.add_source(app, "ftp", "ftp://example")


# ------------------------------------------------------------------------------------------------- RSS


class Feed:
    def __init__(self) -> None:
        self.entries: list[tuple[str, str]] = []
        self.status = 200
        self.body: bytes | None = None

    def render(self) -> bytes:
        items = "".join(
            f"<item><guid>{guid}</guid><title>{title}</title><link>https://example.org/{guid}</link>"
            f'<enclosure url="https://cdn.example.org/{guid}.mp4" type="video/mp4" length="1"/></item>'
            for guid, title in reversed(self.entries)  # newest first, as feeds are
        )
        return f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'.encode()


@pytest.fixture
def feed() -> Iterator[tuple[Feed, str]]:
    state = Feed()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = state.body if state.body is not None else state.render()
            self.send_response(state.status)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}/feed.xml"
    server.shutdown()


def test_rss_feed_new_entries_become_jobs_once(app: Clipcast, feed: tuple[Feed, str]) -> None:
    state, url = feed
    with pytest.raises(InputError, match=r"127\.0\.0\.1 is a loopback address"):
        scheduler.add_source(app, "rss", url)  # loopback feeds are refused unless the installation allows them
    app.settings.ingest.allow_private_addresses = True  # this test's feed is served on 127.0.0.1
    state.entries = [("ep1", "Episode 1"), ("ep2", "Episode 2"), ("ep3", "Episode 3")]
    source = scheduler.add_source(app, "rss", url, preset={"backfill": 1, "render": False})
    sent, send = collector()
    scheduler.poll_source(app, source, send=send)
    # First poll: only the newest entry (backfill 1); the older ones are history, recorded as seen.
    assert [(j.kind, j.options["source"]) for j in sent] == [("analyze", "https://cdn.example.org/ep3.mp4")]

    state.entries.append(("ep4", "Episode 4"))
    scheduler.poll_source(app, _reload(app, source.id), send=send)
    scheduler.poll_source(app, _reload(app, source.id), send=send)
    assert [j.options["title"] for j in sent] == ["Episode 3", "Episode 4"]


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (404, b"gone", "answered 404"),
        (503, b"busy", "answered 503; trying again"),
        (200, b"<html><body>not a feed", "is not an RSS or Atom feed"),
    ],
)
def test_rss_problems_are_recorded_clearly(
    app: Clipcast, feed: tuple[Feed, str], status: int, body: bytes, message: str
) -> None:
    state, url = feed
    state.status, state.body = status, body
    app.settings.ingest.allow_private_addresses = True
    source = scheduler.add_source(app, "rss", url)
    report = scheduler.poll_source(app, source, send=lambda *_: None)
    assert message in report.error
    assert message in _reload(app, source.id).last_error


def test_youtube_flat_entries_map_to_items() -> None:
    info = {
        "_type": "playlist",
        "entries": [
            {"_type": "playlist", "entries": [{"id": "abc123", "url": "https://www.youtube.com/watch?v=abc123"}]},
            {"id": "def456", "title": "Second", "url": "def456"},
            None,
        ],
    }
    items = entries_to_items(info)
    assert [(i.id, i.location, i.title) for i in items] == [
        ("youtube:abc123", "https://www.youtube.com/watch?v=abc123", ""),
        ("youtube:def456", "https://www.youtube.com/watch?v=def456", "Second"),
    ]


def test_source_due_by_interval_and_cron() -> None:
    now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    fresh = WatchedSource(kind="rss", target="x", interval_minutes=15, last_polled_at=now - timedelta(minutes=10))
    stale = WatchedSource(kind="rss", target="x", interval_minutes=15, last_polled_at=now - timedelta(minutes=16))
    cron = WatchedSource(kind="rss", target="x", cron="0 * * * *", last_polled_at=now - timedelta(minutes=59))
    cron_done = WatchedSource(kind="rss", target="x", cron="0 * * * *", last_polled_at=now)
    never = WatchedSource(kind="rss", target="x")
    assert [scheduler.source_due(s, now) for s in (fresh, stale, cron, cron_done, never)] == [
        False,
        True,
        True,
        False,
        True,
    ]


@pytest.mark.slow
def test_yaml_sources_sync_and_a_new_file_is_analyzed_end_to_end(tmp_path: Path, monkeypatch: Any) -> None:
    """Scheduler tick → job → embedded worker → clips, with the ffmpeg-backed test stages."""
    from test_tasks import STAGES, make_video

    root = Path(__file__).resolve().parent.parent
    monkeypatch.setenv("PYTHONPATH", f"{root}:{root / 'tests'}")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    settings = Settings(
        data_dir=tmp_path / "data",
        worker=WorkerSettings(stages=STAGES, isolate_analyze=False),
        sources={
            "folder_roots": [tmp_path],
            "watch": [SourceConfig(kind="folder", target=str(inbox), preset={"options": {"settle_seconds": 0}})],
        },
    )
    app = Clipcast(settings)
    try:
        assert scheduler.sync_yaml_sources(app) == 1
        assert scheduler.sync_yaml_sources(app) == 1  # idempotent
        with app.session() as s:
            assert len(list(s.exec(select(WatchedSource)))) == 1
        make_video(inbox / "talk.mp4", seconds=3.2)
        reports = scheduler.poll_sources(app)
        assert len(reports) == 1 and len(reports[0].new_jobs) == 1
        job = jobs.wait_for_job(app, reports[0].new_jobs[0], timeout=90)
        assert job.status == JobStatus.SUCCEEDED, job.error
        assert len(jobs.children(app, job.id)) == 2
        assert scheduler.poll_sources(app) == []  # polled a moment ago: not due
    finally:
        tasks.stop_embedded_worker()


def _reload(app: Clipcast, source_id: int) -> WatchedSource:
    with app.session() as s:
        return s.get(WatchedSource, source_id)


def test_a_feed_link_that_is_a_server_path_is_never_ingested(app: Clipcast, feed: tuple[Feed, str]) -> None:
    """Reproduction 4: ``<link>/srv/.../original.mp4</link>`` used to be ingested from the server's disk."""
    state, url = feed
    local = app.settings.data_dir / "storage" / "videos" / "ab" / "original.mp4"
    state.body = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        f"<item><guid>evil</guid><title>x</title><link>{local}</link></item>"
        "<item><guid>file</guid><title>y</title><link>file:///etc/passwd</link></item>"
        "<item><guid>ok</guid><title>z</title><link>https://example.org/watch/1</link></item>"
        "</channel></rss>"
    ).encode()
    app.settings.ingest.allow_private_addresses = True
    source = scheduler.add_source(app, "rss", url, preset={"backfill": 10})
    sent, send = collector()
    scheduler.poll_source(app, source, send=send)
    assert [j.options["source"] for j in sent] == ["https://example.org/watch/1"]


def test_rss_and_youtube_targets_must_be_urls_at_creation(app: Clipcast) -> None:
    with pytest.raises(InputError, match="must start with http"):
        scheduler.add_source(app, "rss", "/etc/passwd")
    with pytest.raises(InputError, match="not a YouTube channel or playlist URL"):
        scheduler.add_source(app, "youtube", "https://evil.example.com/youtube.com/x")


def test_a_stored_folder_source_outside_the_roots_is_refused_at_poll(app: Clipcast, tmp_path: Path) -> None:
    """A row written before the rules (or by hand) gets no pass: the poll re-checks it."""
    (app.settings.data_dir / "storage").mkdir(parents=True)
    with app.session() as s:
        row = WatchedSource(kind="folder", target=str(app.settings.data_dir / "storage"), preset={})
        s.add(row)
        s.flush()
        s.refresh(row)
    report = scheduler.poll_source(app, row, send=lambda *_: None)
    assert "inside Clipcast's data_dir" in report.error and report.new_jobs == []


def test_a_symlink_out_of_the_watched_folder_is_skipped(app: Clipcast, tmp_path: Path) -> None:
    inbox, secret = tmp_path / "inbox", tmp_path / "elsewhere"
    inbox.mkdir()
    secret.mkdir()
    (secret / "private.mp4").write_bytes(b"x")
    (inbox / "link.mp4").symlink_to(secret / "private.mp4")
    (inbox / "own.mp4").write_bytes(b"y")
    source = scheduler.add_source(app, "folder", str(inbox), preset={"options": {"settle_seconds": 0}})
    sent, send = collector()
    scheduler.poll_source(app, source, send=send)
    assert [Path(j.options["source"]).name for j in sent] == ["own.mp4"]
