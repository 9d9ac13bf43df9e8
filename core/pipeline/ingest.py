"""Ingest: bring a video into Clipcast (local path, upload or URL), validate it and record it.

Every input is ffprobed and refused with a specific ``InputError`` when it is not usable (not media, corrupt or
truncated, no audio, zero length, over the configured size or duration). The original is stored through the
storage plugin under ``videos/<sha[:2]>/<sha>/original.<ext>``; the same file ingested twice by the same user
returns the existing row. Audio for speech-to-text (16 kHz mono WAV) is extracted once per sha256 and stored
as ``audio/<sha>.wav``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from sqlmodel import select

from core import models, scratch
from core.contracts import MediaInfo
from core.egress import ydl_guard
from core.errors import InputError
from core.keys import video_key
from core.logging import get_logger
from core.media import ffmpeg
from core.media.sniff import CONTAINERS, check_demuxer, sniff
from core.progress import NullReporter, Reporter
from core.urls import check_url

__all__ = ["check_url", "ensure_audio", "ingest", "ingest_upload", "local_source", "probe_input", "ydl_options"]

log = get_logger("clipcast.ingest")
MB = 1024 * 1024
CHUNK = MB

# ------------------------------------------------------------------------------------------------- probing


def _size(n: float) -> str:
    return f"{n / MB:.1f} MB" if n >= 0.1 * MB else f"{int(n)} bytes"


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.1f} minutes" if seconds >= 120 else f"{seconds:.1f} s"


def _tail_is_truncated(path: Path, demuxer: str, timeout: float = 60) -> str | None:
    """Demux the last seconds of the audio: a file cut short (interrupted download or copy) fails here even when
    its index at the front probes fine. Returns ffmpeg's complaint, or None when the tail reads cleanly."""
    cmd = [ffmpeg.binary("ffmpeg"), "-hide_banner", "-nostdin", "-v", "error", "-sseof", "-3", *ffmpeg.PROTOCOLS]
    cmd += ["-f", demuxer, "-i", str(path)]
    cmd += ["-map", "0:a:0", "-f", "null", "-"]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"reading its end took longer than {timeout:.0f} s"
    complaint = next(
        (ln for ln in res.stderr.splitlines() if re.search(r"partial file|Invalid data|truncat|EOF", ln, re.I)), None
    )
    if res.returncode != 0:
        return complaint or (res.stderr.strip().splitlines() or [f"exit code {res.returncode}"])[-1]
    return complaint


def probe_input(path: Path, settings: Any, *, name: str | None = None) -> MediaInfo:
    """ffprobe ``path`` and check it against ``settings.ingest``; raise a specific ``InputError`` otherwise.

    ``name`` is how the file is called in messages (an upload's original filename).
    """
    path = Path(path)
    name = name or path.name
    limits = settings.ingest
    if not path.exists():
        raise InputError(f"{path} does not exist", "check the path")
    if not path.is_file():
        raise InputError(f"{path} is not a regular file (a directory or a device?)", "give the path of a video file")
    size = path.stat().st_size
    if size == 0:
        raise InputError(f"{name} is empty (0 bytes)", "the file was probably not copied or downloaded completely")
    max_bytes = int(limits.max_file_mb * MB)
    if size > max_bytes:
        raise InputError(
            f"{name} is {_size(size)}, over the {limits.max_file_mb:g} MB limit (ingest.max_file_mb)",
            "raise ingest.max_file_mb in the configuration, or trim the video first",
        )
    container = sniff(path, name)  # before anything else reads it: playlists and lists are refused here
    try:
        info = ffmpeg.probe(path, fmt=container.demuxer)
    except InputError as exc:
        detail = exc.message.split("(", 1)[-1].rstrip(")") if "(" in exc.message else exc.message
        raise InputError(
            f"{name} looks like {container.label} file but is corrupt or truncated ({detail})",
            "the download or copy was probably interrupted: fetch the file again",
        )
    check_demuxer(container, info.format_name, name)
    if info.duration <= 0:
        raise InputError(f"{name} has zero duration (no playable media)", "the file is probably damaged")
    if not info.has_audio:
        raise InputError(
            f"{name} has no audio stream; Clipcast finds clips from speech, so it needs a video with sound",
            "check that the right file was given, or that the export included audio",
        )
    max_seconds = limits.max_duration_minutes * 60
    if info.duration > max_seconds:
        raise InputError(
            f"{name} is {_duration(info.duration)} long, over the {limits.max_duration_minutes:g}-minute "
            "limit (ingest.max_duration_minutes)",
            "raise ingest.max_duration_minutes in the configuration, or cut the video first",
        )
    problem = _tail_is_truncated(path, container.demuxer)
    if problem:
        raise InputError(
            f"{name} is corrupt or truncated: its end cannot be read ({problem})",
            "the download or copy was probably interrupted: fetch the file again",
        )
    return info


# ------------------------------------------------------------------------------------------------- helpers


def _sha256(path: Path, reporter: Reporter) -> str:
    digest = hashlib.sha256()
    total = max(1, path.stat().st_size)
    done = 0
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            done += len(chunk)
            if done % (64 * MB) < CHUNK:
                reporter.progress(min(99.0, done / total * 100), "hashing")
                reporter.check_cancelled()
    return digest.hexdigest()


@contextlib.contextmanager
def _hashed(
    app: Any, path: Path, sha: str | None, *, own: bool, reporter: Reporter
) -> Iterator[tuple[str, Path | None]]:
    """(sha256, a temporary file of ours with the bytes, or None) for ``path``.

    ``own`` (an upload's or a download's temporary file): the file itself. A user's file to a storage that adopts
    files (``Storage.adopts_files``, local storage): copied into data/tmp while a second thread hashes it,
    since the storage key needs the hash; the copy is then renamed into place. Ingesting a 3 GB file took 8.0 s
    instead of 13.0 s (4.0 vs 8.2 s with the file in the page cache). Caveat: a file ingested before is copied
    too, and the copy deleted. Otherwise hashed, and stored by ``put_file`` later. The staged copy is deleted on
    the way out if the storage did not take it."""
    if own or not app.storage.adopts_files:
        yield sha or _sha256(path, reporter), (path if own else None)
        return
    fd, name = tempfile.mkstemp(dir=_tmp_dir(app.settings), prefix=scratch.prefix("ingest"))
    os.close(fd)
    staged = Path(name)
    try:
        with ThreadPoolExecutor(1, thread_name_prefix="ingest-copy") as pool:  # its exit waits for the copy
            copying = pool.submit(shutil.copyfile, path, staged)
            digest = sha or _sha256(path, reporter)  # cancellation is checked here, as before
            copying.result()
        yield digest, staged
    finally:
        staged.unlink(missing_ok=True)


def _extension(name: str, info: MediaInfo) -> str:
    """The stored file's extension: the given name's when it fits the container, else the container's own (a
    name never decides how ffmpeg reads the file later)."""
    container = next(c for c in CONTAINERS if c.format_name == info.format_name)
    ext = Path(name).suffix.lower().lstrip(".")
    return ext if ext in container.exts else container.exts[0]


def _tmp_dir(settings: Any) -> Path:
    path = Path(settings.data_dir) / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _cache_dir(settings: Any, *parts: str) -> Path:
    path = Path(settings.data_dir).joinpath("cache", *parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _existing(app: Any, sha: str, user_id: int | None) -> models.Video | None:
    with app.session() as s:
        query = select(models.Video).where(models.Video.sha256 == sha)
        owner = models.Video.user_id
        query = query.where(owner.is_(None) if user_id is None else owner == user_id)  # type: ignore[union-attr]
        return s.exec(query.order_by(models.Video.id)).first()  # type: ignore[arg-type]


def _ingest_file(
    app: Any,
    path: Path,
    *,
    source: str,
    source_kind: str,
    title: str,
    name: str,
    user_id: int | None,
    reporter: Reporter,
    sha: str | None = None,
) -> models.Video:
    """Validate, hash, dedupe, store and record one local file; ``sha`` when the caller hashed it while writing."""
    info = probe_input(path, app.settings, name=name)
    reporter.check_cancelled()
    with _hashed(app, path, sha, own=source_kind != "file", reporter=reporter) as (sha, staged):
        found = _existing(app, sha, user_id)
        if found is not None and found.storage_key and app.storage.exists(found.storage_key):
            log.info("ingest: already known", video_id=found.id, sha256=sha)
            reporter.progress(100.0, "already ingested")
            return found
        key = video_key(sha, _extension(path.name if source_kind == "url" else name, info))
        stored_now = not app.storage.exists(key)  # another user may have stored the same bytes already
        if stored_now:
            reporter.progress(99.0, "storing")
            if staged is None:  # the user's own file, to a storage that copies anyway
                app.storage.put_file(key, path)
            else:  # a temporary file of ours: the storage may take it as it is
                app.storage.adopt_file(key, staged)
    try:
        return _record(app, found, key, sha, info, user_id, source, source_kind, title, reporter)
    except BaseException:
        if stored_now and not _referenced(app, key):  # else an orphan that no quota counts
            app.storage.delete(key)
        raise


def _referenced(app: Any, key: str) -> bool:
    """Whether a video row points at ``key`` (another user's ingest of the same bytes may have raced ours)."""
    try:
        with app.session() as s:
            return s.exec(select(models.Video.id).where(models.Video.storage_key == key)).first() is not None
    except Exception:
        return True  # the database is what failed: keep the file rather than risk a row without one


def _record(
    app: Any,
    found: models.Video | None,
    key: str,
    sha: str,
    info: MediaInfo,
    user_id: int | None,
    source: str,
    source_kind: str,
    title: str,
    reporter: Reporter,
) -> models.Video:
    """The video row for a stored original: the surviving row repaired, or a new one."""
    if found is not None:  # the row survived but its file was lost: restore the file, keep the row
        with app.session() as s:
            row = s.get(models.Video, found.id)
            assert row is not None
            row.storage_key = key
            s.add(row)
        found.storage_key = key
        return found
    video = models.Video(
        user_id=user_id,
        source=source,
        source_kind=source_kind,
        title=title[:300],
        storage_key=key,
        sha256=sha,
        size_bytes=info.size_bytes,
        duration=info.duration,
        width=info.width,
        height=info.height,
        fps=info.fps,
        video_codec=info.video_codec,
        audio_codec=info.audio_codec,
    )
    with app.session() as s:
        s.add(video)
        s.flush()
        s.refresh(video)
    log.info("ingest: stored", video_id=video.id, sha256=sha, duration=info.duration, source_kind=source_kind)
    reporter.progress(100.0, "ingested")
    return video


# ----------------------------------------------------------------------------------------------- public API


def _is_url(source: str) -> bool:
    """True for anything with a URL scheme (so 'ftp://x' and 'file:///x' get a URL error, not 'no such file')."""
    scheme = urlsplit(source).scheme
    return len(scheme) > 1 and (source[len(scheme) : len(scheme) + 1] == ":") and not Path(source).exists()


def ingest(
    app: Any, source: str | Path, *, user_id: int | None = None, reporter: Reporter | None = None
) -> models.Video:
    """Ingest a local path or an http(s) URL; returns the (possibly pre-existing) ``models.Video``."""
    reporter = reporter or NullReporter()
    reporter.stage("ingest")
    if isinstance(source, str) and _is_url(source.strip()):
        return _ingest_url(app, source.strip(), user_id=user_id, reporter=reporter)
    path = Path(source).expanduser()
    return _ingest_file(
        app,
        path,
        source=str(path.resolve()) if path.exists() else str(path),
        source_kind="file",
        title=path.stem,
        name=path.name,
        user_id=user_id,
        reporter=reporter,
    )


def ingest_upload(
    app: Any,
    stream: BinaryIO,
    filename: str,
    *,
    user_id: int | None = None,
    max_bytes: int | None = None,
    reporter: Reporter | None = None,
) -> models.Video:
    """Ingest an uploaded file: streamed to a temporary file (never held in memory) with a byte cap, then
    treated like a local file. ``max_bytes`` defaults to ``ingest.max_file_mb``."""
    reporter = reporter or NullReporter()
    reporter.stage("ingest")
    limit = max_bytes if max_bytes is not None else int(app.settings.ingest.max_file_mb * MB)
    if "\x00" in str(filename or ""):
        raise InputError("the upload's file name contains a NUL character")
    safe_name = Path(str(filename or "upload").replace("\\", "/")).name or "upload"
    suffix = Path(safe_name).suffix.lower()
    suffix = suffix if re.fullmatch(r"\.[a-z0-9]{2,5}", suffix) else ""
    fd, tmp_name = tempfile.mkstemp(dir=_tmp_dir(app.settings), prefix=scratch.prefix("upload"), suffix=suffix)
    tmp = Path(tmp_name)
    digest = hashlib.sha256()  # hashed as it streams in: the file is not read again just to hash it
    try:
        written = 0
        with open(fd, "wb") as out:
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
                written += len(chunk)
                if written > limit:
                    raise InputError(
                        f"upload {safe_name} is larger than the {_size(limit)} limit; nothing was stored",
                        "upload a smaller file, or raise ingest.max_file_mb",
                    )
                out.write(chunk)
                reporter.check_cancelled()
        return _ingest_file(
            app,
            tmp,
            source=safe_name,
            source_kind="upload",
            title=Path(safe_name).stem,
            name=safe_name,
            user_id=user_id,
            reporter=reporter,
            sha=digest.hexdigest(),
        )
    finally:
        tmp.unlink(missing_ok=True)


def local_source(app: Any, video: models.Video) -> Path:
    """A local path ffmpeg can read for the video's original (a cached copy when storage is remote)."""
    ext = Path(video.storage_key).suffix or ".bin"
    return _local_copy(app, video.storage_key, "videos", f"{video.sha256}{ext}")


def _local_copy(app: Any, key: str, cache: str, name: str) -> Path:
    """The storage's own file for ``key``, or (remote storage) a copy downloaded once to ``cache/<cache>/<name>``."""
    local = app.storage.local_path(key)
    if local is not None:
        return local
    dest = _cache_dir(app.settings, cache) / name
    if not dest.is_file():
        part = dest.with_name(dest.name + ".part")
        app.storage.download(key, part)
        part.replace(dest)
    return dest


def audio_key(video: models.Video) -> str:
    return f"audio/{video.sha256}.wav"


def _warm(warm: Callable[[], None]) -> None:
    try:
        warm()
    except Exception as exc:  # transcribe loads it again and reports the error where it belongs
        log.debug("speech-to-text warm-up failed", error=str(exc))


def ensure_audio(
    app: Any, video: models.Video, *, reporter: Reporter | None = None, warm: Callable[[], None] | None = None
) -> Path:
    """The 16 kHz mono 16-bit WAV of the video, extracted once per sha256 and kept in storage.

    ``warm`` (the speech-to-text backend's ``warm``) runs in a thread while ffmpeg extracts: the model loads
    on one core while the audio decodes on the other. Not called when the audio is already there."""
    reporter = reporter or NullReporter()
    key = audio_key(video)
    if not app.storage.exists(key):
        if warm is not None:
            threading.Thread(target=_warm, args=(warm,), name="stt-warm", daemon=True).start()
        src = local_source(app, video)
        with tempfile.TemporaryDirectory(dir=_tmp_dir(app.settings), prefix=scratch.prefix("scratch")) as tmp:
            wav = ffmpeg.extract_audio(src, Path(tmp) / "audio.wav", reporter=reporter, duration=video.duration or None)
            app.storage.adopt_file(key, wav, "audio/wav")
    if video.audio_key != key and video.id is not None:
        with app.session() as s:
            row = s.get(models.Video, video.id)
            if row is not None:
                row.audio_key = key
                s.add(row)
        video.audio_key = key
    return _local_copy(app, key, "audio", f"{video.sha256}.wav")


# ---------------------------------------------------------------------------------------------------- URLs


class _YdlLog:
    """yt-dlp logger: keeps its messages (to explain a refusal) and sends them to our log at debug level."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def debug(self, msg: str) -> None:
        self.lines.append(msg)

    info = debug

    def warning(self, msg: str) -> None:
        self.lines.append(msg)
        log.debug("yt-dlp warning", message=msg)

    def error(self, msg: str) -> None:
        self.lines.append(msg)
        log.debug("yt-dlp error", message=msg)


def ydl_options(settings: Any, outdir: Path, reporter: Reporter | None = None) -> dict[str, Any]:
    """The locked-down yt-dlp options (see docs/libraries: no generic extractor unless configured, no file://
    URLs, no searches or playlists, size capped, output name fixed by us)."""
    import yt_dlp

    reporter = reporter or NullReporter()
    limits = settings.ingest
    max_bytes = int(limits.max_file_mb * MB)

    def progress_hook(d: dict[str, Any]) -> None:
        try:
            reporter.check_cancelled()
        except Exception as exc:
            raise yt_dlp.utils.DownloadCancelled(f"cancelled: {exc}")
        if d.get("status") == "finished" and d.get("filename"):
            # each downloaded part is media before yt-dlp's own ffmpeg merges it (a "video" that is a playlist
            # of local paths would make that merge read the server's files)
            sniff(Path(d["filename"]), "the downloaded file")
        if d.get("status") == "downloading":
            total = d.get("total_bytes") or d.get("total_bytes_estimate")
            done = d.get("downloaded_bytes") or 0
            if total:
                reporter.progress(min(99.0, done / total * 100), "downloading")

    return {
        "allowed_extractors": list(limits.url_extractors),
        "enable_file_urls": False,
        "default_search": "error",
        "noplaylist": True,
        "max_downloads": 1,
        "max_filesize": max_bytes,
        "format": "bv*[height<=1080]+ba/b[height<=1080]/bv*+ba/b",
        "merge_output_format": "mp4/mkv",
        "outtmpl": {"default": str(Path(outdir) / "source.%(ext)s")},
        "restrictfilenames": True,
        "overwrites": True,
        "continuedl": False,
        "cachedir": False,
        "noprogress": True,
        "quiet": True,
        "no_warnings": True,
        "socket_timeout": 30,
        "retries": 3,
        "updatetime": False,
        "fixup": "never",  # fix-ups run ffmpeg on what was downloaded; ours probes it instead
        "progress_hooks": [progress_hook],
    }


@contextlib.contextmanager
def _download_dir(settings: Any) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(dir=_tmp_dir(settings), prefix=scratch.prefix("download")))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _ingest_url(app: Any, url: str, *, user_id: int | None, reporter: Reporter) -> models.Video:
    import yt_dlp

    settings = app.settings
    check_url(url, settings)
    limits = settings.ingest
    refusal: list[InputError] = []
    seen: list[dict[str, Any]] = []

    def match_filter(info: dict[str, Any], *, incomplete: bool = False) -> str | None:
        """Refuse before downloading: live streams, over-long videos, media URLs on refused hosts."""
        if incomplete:
            return None
        seen.append(info)
        reason: InputError | None = None
        duration = info.get("duration")
        size = info.get("filesize") or info.get("filesize_approx")
        if info.get("is_live") or info.get("live_status") == "is_live":
            reason = InputError("live streams cannot be ingested; wait until the stream has ended")
        elif duration and duration > limits.max_duration_minutes * 60:
            reason = InputError(
                f"the video at {url} is {_duration(duration)} long, over the "
                f"{limits.max_duration_minutes:g}-minute limit (ingest.max_duration_minutes)"
            )
        elif size and size > limits.max_file_mb * MB:
            reason = InputError(
                f"the video at {url} is {_size(size)}, over the {limits.max_file_mb:g} MB limit (ingest.max_file_mb)"
            )
        else:
            for fmt in info.get("requested_formats") or [info]:
                media_url = fmt.get("url")
                if media_url and media_url != url:
                    try:
                        check_url(media_url, settings)
                    except InputError as exc:
                        reason = InputError(f"the media for {url} is served from a refused address: {exc.message}")
                        break
        if reason is not None:
            refusal.append(reason)
            return reason.message
        return None

    with _download_dir(settings) as outdir:
        logger = _YdlLog()
        options = ydl_options(settings, outdir, reporter) | {"match_filter": match_filter, "logger": logger}
        reporter.progress(0.0, "downloading")
        try:
            with ydl_guard(settings, options) as guarded, yt_dlp.YoutubeDL(guarded) as ydl:
                info = ydl.extract_info(url, download=True)
        except yt_dlp.utils.MaxDownloadsReached:  # a subclass of DownloadCancelled: the one download is done
            info = seen[-1] if seen else None
        except yt_dlp.utils.DownloadCancelled:
            reporter.check_cancelled()
            raise InputError(f"the download of {url} was stopped")
        except yt_dlp.utils.DownloadError as exc:
            text = re.sub(r"^ERROR:\s*", "", str(exc)).strip()
            if "Unsupported URL" in text or "No suitable extractor" in text:
                raise InputError(
                    f"no allowed downloader handles {url} (allowed yt-dlp extractors: "
                    f"{', '.join(limits.url_extractors)})",
                    "for a direct link to a media file, add 'generic' to ingest.url_extractors",
                )
            raise InputError(f"downloading {url} failed: {text}")
        if refusal:
            raise refusal[0]
        files = [p for p in outdir.iterdir() if p.is_file() and not p.name.endswith((".part", ".ytdl"))]
        if not files:
            if any("max-filesize" in line for line in logger.lines):
                raise InputError(
                    f"the video at {url} is over the {limits.max_file_mb:g} MB limit (ingest.max_file_mb); "
                    "the download was stopped"
                )
            raise InputError(f"downloading {url} produced no media file", "check that the URL points at one video")
        path = max(files, key=lambda p: p.stat().st_size)
        title = str((info or {}).get("title") or Path(urlsplit(url).path).stem or "video")
        return _ingest_file(
            app,
            path,
            source=url,
            source_kind="url",
            title=title,
            name=url,
            user_id=user_id,
            reporter=reporter,
        )
