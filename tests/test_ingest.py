"""Ingest: local files, uploads and URLs (yt-dlp locked down), validation errors, dedupe, audio extraction."""

from __future__ import annotations

import functools
import hashlib
import io
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlmodel import select

from core import models
from core.app import Clipcast
from core.config import IngestSettings, Settings
from core.errors import InputError
from core.media import ffmpeg as ff
from core.pipeline.ingest import ensure_audio, ingest, ingest_upload, local_source, ydl_options
from core.progress import Cancelled, NullReporter
from tests.conftest import need


def _make(dest: Path, *args: str) -> Path:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args, str(dest)], check=True, capture_output=True, timeout=60)
    return dest


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Small generated inputs, good and bad, made once for the module."""
    need(shutil.which("ffmpeg") is not None, "ffmpeg is not installed (make setup installs it)")
    d = tmp_path_factory.mktemp("media")
    picture = ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:d=2"]
    tone = ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:d=2"]
    h264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    clip = _make(d / "clip.mp4", *picture, *tone, *h264, "-c:a", "aac", "-shortest")
    faststart = _make(d / "faststart.mp4", "-i", str(clip), "-c", "copy", "-movflags", "+faststart")
    data = clip.read_bytes()
    (d / "cut.mp4").write_bytes(data[: len(data) // 2])  # moov index (at the end) missing
    fs = faststart.read_bytes()
    (d / "cut-faststart.mp4").write_bytes(fs[: len(fs) // 2])  # index fine, media data cut short
    (d / "notes.mp4").write_text("These are my meeting notes, not a video.\n" * 20)
    (d / "empty.mp4").write_bytes(b"")
    (d / "noise.mp4").write_bytes(bytes(range(256)) * 16)
    return {
        "clip": clip,
        "faststart": faststart,
        "silent": _make(d / "silent.mp4", *picture, *h264),
        "zero": _make(d / "zero.m4a", "-f", "lavfi", "-i", "sine", "-t", "0", "-c:a", "aac"),
        "cut": d / "cut.mp4",
        "cut-faststart": d / "cut-faststart.mp4",
        "notes": d / "notes.mp4",
        "empty": d / "empty.mp4",
        "noise": d / "noise.mp4",
        "dir": d,
    }


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _videos(app: Clipcast) -> list[models.Video]:
    with app.session() as s:
        return list(s.exec(select(models.Video)).all())


def _user(app: Clipcast, email: str) -> int:
    with app.session() as s:
        user = models.User(email=email, password_hash="x")
        s.add(user)
        s.flush()
        assert user.id is not None
        return user.id


# ---------------------------------------------------------------------------------------------- local files


def test_ingest_real_talk_records_metadata_and_stores_original(app: Clipcast, talk_video: Path) -> None:
    video = ingest(app, talk_video)
    assert video.id is not None
    assert video.sha256 == _sha(talk_video)
    assert video.duration == pytest.approx(42.45, abs=0.1)
    assert (video.width, video.height, video.fps) == (1280, 720, pytest.approx(30.0))
    assert (video.video_codec, video.audio_codec) == ("h264", "aac")
    assert video.size_bytes == talk_video.stat().st_size
    assert video.source_kind == "file" and video.source == str(talk_video.resolve())
    assert video.title == "talk-example"
    assert video.storage_key == f"videos/{video.sha256[:2]}/{video.sha256}/original.mp4"
    assert app.storage.size(video.storage_key) == talk_video.stat().st_size
    assert local_source(app, video).read_bytes() == talk_video.read_bytes()


def test_same_file_same_user_is_deduplicated(app: Clipcast, media: dict[str, Path], tmp_path: Path) -> None:
    first = ingest(app, media["clip"])
    copy = tmp_path / "renamed copy.mp4"
    copy.write_bytes(media["clip"].read_bytes())
    assert ingest(app, copy).id == first.id
    assert len(_videos(app)) == 1
    alice = _user(app, "alice@example.org")
    theirs = ingest(app, media["clip"], user_id=alice)
    assert theirs.id != first.id and theirs.user_id == alice
    assert theirs.storage_key == first.storage_key  # same bytes, stored once
    assert ingest(app, media["clip"], user_id=alice).id == theirs.id
    assert len(_videos(app)) == 2


def test_lost_original_is_restored_on_reingest(app: Clipcast, media: dict[str, Path]) -> None:
    video = ingest(app, media["clip"])
    app.storage.delete(video.storage_key)
    again = ingest(app, media["clip"])
    assert again.id == video.id and app.storage.exists(video.storage_key)


BAD_INPUTS = [
    ("notes", "notes.mp4 is not a video or audio file: it contains plain text"),
    ("cut", "cut.mp4 looks like an MP4/MOV file but is corrupt or truncated"),
    ("cut-faststart", "cut-faststart.mp4 is corrupt or truncated: its end cannot be read"),
    ("noise", "noise.mp4 is not a video or audio file ffmpeg can read"),
    ("silent", "silent.mp4 has no audio stream; Clipcast finds clips from speech"),
    ("zero", "zero.m4a has zero duration (no playable media)"),
    ("empty", "empty.mp4 is empty (0 bytes)"),
]


@pytest.mark.parametrize(("name", "message"), BAD_INPUTS)
def test_bad_input_is_refused_with_a_specific_message(
    app: Clipcast, media: dict[str, Path], name: str, message: str
) -> None:
    with pytest.raises(InputError) as info:
        ingest(app, media[name])
    assert str(info.value).startswith(message)
    assert _videos(app) == [] and list(app.storage.list()) == []  # nothing half-stored


def test_missing_path_and_directory(app: Clipcast, media: dict[str, Path]) -> None:
    with pytest.raises(InputError, match=r"nope\.mp4 does not exist \(check the path\)"):
        ingest(app, media["dir"] / "nope.mp4")
    with pytest.raises(InputError, match="is not a regular file"):
        ingest(app, media["dir"])


def test_size_and_duration_limits(tmp_path: Path, media: dict[str, Path]) -> None:
    small = Clipcast(Settings(data_dir=tmp_path / "a", ingest=IngestSettings(max_file_mb=0.01)))
    size = media["clip"].stat().st_size
    with pytest.raises(InputError) as info:
        ingest(small, media["clip"])
    assert str(info.value).startswith(
        f"clip.mp4 is {size / 1024 / 1024:.1f} MB, over the 0.01 MB limit (ingest.max_file_mb)"
    )
    short = Clipcast(Settings(data_dir=tmp_path / "b", ingest=IngestSettings(max_duration_minutes=0.02)))
    with pytest.raises(InputError) as info:
        ingest(short, media["clip"])
    assert str(info.value).startswith(
        "clip.mp4 is 2.0 s long, over the 0.02-minute limit (ingest.max_duration_minutes)"
    )
    assert _videos(short) == []


# ------------------------------------------------------------------------------------------------- uploads


def test_upload_is_streamed_checked_and_deduplicated(app: Clipcast, media: dict[str, Path]) -> None:
    data = media["clip"].read_bytes()
    video = ingest_upload(app, io.BytesIO(data), "../../etc/My Talk.mp4")
    assert video.source_kind == "upload" and video.source == "My Talk.mp4" and video.title == "My Talk"
    assert video.sha256 == hashlib.sha256(data).hexdigest()
    assert video.storage_key.startswith("videos/") and app.storage.size(video.storage_key) == len(data)
    assert ingest_upload(app, io.BytesIO(data), "again.mp4").id == video.id
    assert list((app.settings.data_dir / "tmp").iterdir()) == []  # temporary files removed


def test_upload_over_the_cap_stores_nothing(app: Clipcast, media: dict[str, Path]) -> None:
    with pytest.raises(InputError) as info:
        ingest_upload(app, io.BytesIO(media["clip"].read_bytes()), "big.mp4", max_bytes=5000)
    assert str(info.value).startswith("upload big.mp4 is larger than the 5000 bytes limit; nothing was stored")
    assert _videos(app) == [] and list(app.storage.list()) == []
    assert list((app.settings.data_dir / "tmp").iterdir()) == []


def test_bad_upload_gets_the_same_errors_as_files(app: Clipcast) -> None:
    with pytest.raises(InputError, match=r"^report\.mp4 is not a video or audio file: it contains plain text"):
        ingest_upload(app, io.BytesIO(b"quarterly numbers\n" * 10), "report.mp4")


# --------------------------------------------------------------------------------------------------- audio


def test_audio_is_extracted_once_per_sha(app: Clipcast, media: dict[str, Path], monkeypatch) -> None:
    calls: list[Path] = []
    real = ff.extract_audio

    def counting(src: Path, dest: Path, **kw: object) -> Path:
        calls.append(src)
        return real(src, dest, **kw)

    monkeypatch.setattr(ff, "extract_audio", counting)
    video = ingest(app, media["clip"])
    wav = ensure_audio(app, video)
    info = ff.probe(wav)
    assert (info.audio_sample_rate, info.audio_channels, info.audio_codec) == (16000, 1, "pcm_s16le")
    assert info.duration == pytest.approx(2.0, abs=0.1)
    assert video.audio_key == f"audio/{video.sha256}.wav" and app.storage.exists(video.audio_key)
    with app.session() as s:
        assert s.get(models.Video, video.id).audio_key == video.audio_key
    assert ensure_audio(app, video) == wav
    other = ingest(app, media["clip"], user_id=_user(app, "bob@example.org"))
    assert ensure_audio(app, other) == wav
    assert len(calls) == 1


def test_a_users_file_is_copied_while_it_is_hashed_and_no_copy_is_left(
    app: Clipcast, media: dict[str, Path], monkeypatch
) -> None:
    from core.pipeline import ingest as ingest_mod

    tmp = Path(app.settings.data_dir) / "tmp"
    threads: list[str] = []
    real_copy = ingest_mod.shutil.copyfile

    def copy(src: Path, dest: Path) -> None:
        threads.append(threading.current_thread().name)
        real_copy(src, dest)

    monkeypatch.setattr(ingest_mod.shutil, "copyfile", copy)
    video = ingest(app, media["clip"])
    assert threads and threads[0].startswith("ingest-copy")  # beside the hash, not after it
    with app.storage.open(video.storage_key) as f:
        assert hashlib.sha256(f.read()).hexdigest() == _sha(media["clip"]) == video.sha256
    assert not list(tmp.glob("ingest-*"))
    assert ingest(app, media["clip"]).id == video.id and not list(tmp.glob("ingest-*"))  # known: copy deleted

    def disk_full(src: Path, dest: Path) -> None:
        Path(dest).write_bytes(b"half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ingest_mod.shutil, "copyfile", disk_full)
    with pytest.raises(OSError, match="No space"):
        ingest(app, media["faststart"])
    assert not list(tmp.glob("ingest-*")) and len(_videos(app)) == 1


def test_the_model_warms_in_a_thread_while_the_audio_is_extracted(
    app: Clipcast, media: dict[str, Path], monkeypatch
) -> None:
    import threading

    extracting = threading.Event()
    seen: list[tuple[str, bool]] = []
    real = ff.extract_audio

    def slow(src: Path, dest: Path, **kw: object) -> Path:
        extracting.set()
        out = real(src, dest, **kw)
        assert warmed.wait(5), "the warm-up never ran while ffmpeg extracted"
        return out

    warmed = threading.Event()

    def warm() -> None:
        seen.append((threading.current_thread().name, extracting.wait(5)))
        warmed.set()
        raise RuntimeError("a model that fails to load here is loaded (and reported) again by transcribe")

    monkeypatch.setattr(ff, "extract_audio", slow)
    video = ingest(app, media["clip"])
    ensure_audio(app, video, warm=warm)
    assert seen == [("stt-warm", True)]
    ensure_audio(app, video, warm=warm)  # the audio is there: nothing to overlap, no model loaded for it
    assert len(seen) == 1


def test_remote_storage_is_read_through_a_local_cache(app: Clipcast, media: dict[str, Path], monkeypatch) -> None:
    video = ingest(app, media["clip"])
    monkeypatch.setattr(type(app.storage), "local_path", lambda self, key: None)  # behave like S3
    path = local_source(app, video)
    assert path.is_relative_to(app.settings.data_dir / "cache")
    assert path.read_bytes() == media["clip"].read_bytes()
    wav = ensure_audio(app, video)
    assert wav.is_relative_to(app.settings.data_dir / "cache") and ff.probe(wav).audio_sample_rate == 16000


# ----------------------------------------------------------------------------------------------------- URLs


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("file:///etc/passwd", "file:// URLs are refused"),
        ("http://127.0.0.1/video.mp4", "the URL's host 127.0.0.1 is a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "is the cloud metadata address 169.254.169.254"),
        ("ftp://example.com/talk.mp4", "unsupported URL scheme 'ftp:'"),
        ("rtmp://example.com/live", "unsupported URL scheme 'rtmp:'"),
    ],
)
def test_hostile_urls_are_refused_before_any_download(app: Clipcast, url: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        ingest(app, url)
    assert message in str(info.value)
    assert _videos(app) == []


def test_ydl_options_are_locked_down(settings: Settings, tmp_path: Path) -> None:
    import yt_dlp

    events: list[float] = []

    class Recorder(NullReporter):
        cancelled = False

        def progress(self, percent: float, message: str = "") -> None:
            events.append(percent)

        def check_cancelled(self) -> None:
            if self.cancelled:
                raise Cancelled("stop")

    reporter = Recorder()
    opts = ydl_options(settings, tmp_path, reporter)
    assert opts["allowed_extractors"] == ["default", "-generic"]
    assert opts["enable_file_urls"] is False
    assert opts["default_search"] == "error"
    assert opts["noplaylist"] is True and opts["max_downloads"] == 1
    assert opts["max_filesize"] == 4096 * 1024 * 1024
    assert opts["outtmpl"]["default"] == str(tmp_path / "source.%(ext)s")
    assert opts["outtmpl"]["default"].endswith(".%(ext)s")
    hook = opts["progress_hooks"][0]
    hook({"status": "downloading", "downloaded_bytes": 50, "total_bytes": 200})
    assert events == [25.0]
    reporter.cancelled = True
    with pytest.raises(yt_dlp.utils.DownloadCancelled):
        hook({"status": "downloading", "downloaded_bytes": 60, "total_bytes": 200})
    # The lockdown follows the configuration.
    custom = Settings(ingest=IngestSettings(url_extractors=["youtube", "vimeo"], max_file_mb=10))
    opts = ydl_options(custom, tmp_path)
    assert opts["allowed_extractors"] == ["youtube", "vimeo"] and opts["max_filesize"] == 10 * 1024 * 1024


@pytest.fixture
def media_server(media: dict[str, Path]) -> Iterator[str]:
    """A local HTTP server (127.0.0.1 only) serving the generated media directory."""
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(media["dir"]))
    handler.log_message = lambda *a, **k: None  # type: ignore[attr-defined]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.handle_error = lambda request, address: None  # type: ignore[method-assign]  # aborted downloads
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _url_app(tmp_path: Path, **ingest_opts: object) -> Clipcast:
    # Explicitly a test setting: the generic extractor and private addresses are both off by default.
    opts = {"allow_private_addresses": True, "url_extractors": ["generic"]} | ingest_opts
    return Clipcast(Settings(data_dir=tmp_path / "data", ingest=IngestSettings.model_validate(opts)))


def test_url_download_through_yt_dlp(tmp_path: Path, media_server: str, media: dict[str, Path]) -> None:
    app = _url_app(tmp_path)
    events: list[tuple[str, float, str]] = []

    class Recorder(NullReporter):
        def stage(self, name: str) -> None:
            events.append(("stage", 0.0, name))

        def progress(self, percent: float, message: str = "") -> None:
            events.append(("progress", percent, message))

    url = f"{media_server}/faststart.mp4"
    video = ingest(app, url, reporter=Recorder())
    assert video.source_kind == "url" and video.source == url
    assert video.sha256 == _sha(media["faststart"]) and video.title == "faststart"
    assert video.duration == pytest.approx(2.0, abs=0.1) and app.storage.exists(video.storage_key)
    assert ("stage", 0.0, "ingest") in events and any(m == "downloading" for _, _, m in events)
    assert ingest(app, url).id == video.id
    assert [p.name for p in (app.settings.data_dir / "tmp").iterdir()] == []  # download dir removed


def test_url_download_is_validated_like_files(tmp_path: Path, media_server: str) -> None:
    app = _url_app(tmp_path)
    with pytest.raises(InputError, match=rf"^{media_server}/silent\.mp4 has no audio stream"):
        ingest(app, f"{media_server}/silent.mp4")
    tiny = _url_app(tmp_path / "tiny", max_file_mb=0.01)
    with pytest.raises(InputError, match=r"over the 0\.01 MB limit \(ingest\.max_file_mb\)"):
        ingest(tiny, f"{media_server}/clip.mp4")
    assert _videos(app) == [] and _videos(tiny) == []


def test_generic_extractor_is_off_by_default(tmp_path: Path, media_server: str) -> None:
    app = _url_app(tmp_path, url_extractors=["default", "-generic"])
    with pytest.raises(InputError) as info:
        ingest(app, f"{media_server}/clip.mp4")
    assert "no allowed downloader handles" in str(info.value)
    assert "add 'generic' to ingest.url_extractors" in str(info.value)


def test_url_download_can_be_cancelled(tmp_path: Path, media_server: str) -> None:
    app = _url_app(tmp_path)

    class CancelOnDownload(NullReporter):
        downloading = False

        def progress(self, percent: float, message: str = "") -> None:
            self.downloading = message == "downloading"

        def check_cancelled(self) -> None:
            if self.downloading:
                raise Cancelled("the user cancelled the job")

    with pytest.raises(Cancelled):
        ingest(app, f"{media_server}/clip.mp4", reporter=CancelOnDownload())
    assert _videos(app) == []


def test_a_killed_ingests_copy_is_a_leftover_the_cleaner_removes(app: Clipcast) -> None:
    import os

    from core import scratch

    tmp = Path(app.settings.data_dir) / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    dead = tmp / (scratch.prefix("ingest").replace(f"-{os.getpid()}-", "-999999999-") + "abc")
    mine = tmp / (scratch.prefix("ingest") + "def")  # a live process's copy is never touched
    dead.write_bytes(b"half a video")
    mine.write_bytes(b"a video being copied")
    scratch.clean(app)
    assert not dead.exists() and mine.exists()
