"""Scratch files that name their process, so the leftovers of a killed one can be found and removed.

Every scratch directory or partial file Clipcast makes starts with ``prefix(kind)`` =
``<kind>-<host>-<pid>-``: render and publish work directories in the system temp dir, uploads, downloads and
ingest's copies of local files in ``data_dir/tmp``, ``.part-`` files of local storage. ``clean(app)`` removes
those whose process is gone on this host (a live pid's are never touched, however old), plus unnamed leftovers
of older versions once they are a day old, and outbox ``.part-<post>`` directories of posts nobody drives.
Workers and ``clipcast serve`` run it at start and every ``CLEAN_EVERY`` seconds.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from core.logging import get_logger

log = get_logger("clipcast.scratch")

#: Seconds between two cleanups in a long-running process (``worker.clean_interval`` overrides it).
CLEAN_EVERY = 600.0
#: Leftovers that do not name a process (made by older versions) are removed after this many seconds.
UNNAMED_AGE = 86400.0
_KINDS = ("clipcast-render", "clipcast-publish", "clipcast-stt", "upload", "download", "ingest", "scratch", ".part")
_NAMED = re.compile(rf"^(?:{'|'.join(re.escape(k) for k in _KINDS)})-(?P<host>[^-]+)-(?P<pid>\d+)-")


def _host() -> str:
    """This host in scratch names (letters and digits only)."""
    return re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:40] or "host"


def prefix(kind: str) -> str:
    """The name start for a scratch entry of this process: ``tempfile.mkdtemp(prefix=prefix("clipcast-render"))``."""
    return f"{kind}-{_host()}-{os.getpid()}-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove(path: Path) -> int:
    size = 0
    try:
        if path.is_dir() and not path.is_symlink():
            size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
            shutil.rmtree(path, ignore_errors=True)
        else:
            size = path.stat().st_size
            path.unlink(missing_ok=True)
    except OSError:
        return 0
    return size


def stale(path: Path, now: float) -> bool:
    """A leftover: named by a process of this host that has ended, or unnamed and older than ``UNNAMED_AGE``."""
    m = _NAMED.match(path.name)
    if m:
        return m["host"] == _host() and not _alive(int(m["pid"]))
    try:
        return now - path.lstat().st_mtime > UNNAMED_AGE
    except OSError:
        return False


def clean(app: Any) -> dict[str, int]:
    """Remove this host's scratch leftovers; returns {"entries": n, "bytes": b}."""
    now = time.time()
    removed, freed = 0, 0
    data = Path(app.settings.data_dir)
    candidates: list[Path] = []
    system = Path(tempfile.gettempdir())
    candidates += [p for p in system.glob("clipcast-*") if p.name.startswith(_KINDS)]
    if (data / "tmp").is_dir():
        candidates += list((data / "tmp").iterdir())
    storage_root = getattr(app.storage, "root", None)
    if storage_root is not None and Path(storage_root).is_dir():
        candidates += list(Path(storage_root).rglob(".part-*"))
    for path in candidates:
        if stale(path, now):
            freed += _remove(path)
            removed += 1
    removed_outbox, freed_outbox = _clean_outbox(app, data / "outbox")
    removed, freed = removed + removed_outbox, freed + freed_outbox
    if removed:
        log.info("removed scratch leftovers", entries=removed, bytes=freed)
    return {"entries": removed, "bytes": freed}


def _clean_outbox(app: Any, outbox: Path) -> tuple[int, int]:
    """``.part-<post id>`` directories of the folder publisher whose post no process drives."""
    if not outbox.is_dir():
        return 0, 0
    from core.leases import expired
    from core.models import Post

    removed, freed = 0, 0
    for path in outbox.glob(".part-*"):
        ident = path.name[len(".part-") :]
        if not ident.isdigit():
            continue
        with app.session() as s:
            post = s.get(Post, int(ident))
        if post is None or expired(post):
            freed += _remove(path)
            removed += 1
    return removed, freed


def start_cleaner(app: Any, every: float | None = None) -> threading.Event:
    """Clean now and then every ``every`` seconds (default ``worker.clean_interval``) in a daemon thread; set the
    returned event to stop it."""
    every = every or float(getattr(app.settings.worker, "clean_interval", CLEAN_EVERY))
    stop = threading.Event()

    def run() -> None:
        while True:
            try:
                clean(app)
            except Exception as exc:  # a cleanup problem never stops the process
                log.warning("scratch cleanup failed", error=repr(exc))
            if stop.wait(every):
                return

    threading.Thread(target=run, name="clipcast-scratch", daemon=True).start()
    return stop
