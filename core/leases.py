"""Durable ownership of unfinished work: every running job and every post in flight names its owner and a deadline.

An owner is one process (``worker:host:pid:nonce``, ``cli:...``, ``serve:...``). It takes a row with a conditional
``UPDATE ... WHERE owner IS NULL OR lease_until < now`` (so exactly one process wins), and a keeper thread in that
process pushes ``lease_until`` forward every ``lease_seconds / 3`` while the work runs. A process that dies
stops renewing; once ``lease_until`` has passed, the sweeper (``core.sweeper``) hands the row to someone else, who
carries on from the checkpoint the row holds. A live owner is never second-guessed: its lease is fresh.

Ownership says who may act, not what is done: the row's status and checkpoint say that.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, update
from sqlmodel import col

from core.logging import get_logger
from core.models import Job, Post, utcnow

log = get_logger("clipcast.leases")

_identity = {"kind": "process"}
_thread = threading.local()  # job ids this thread claimed (released by the message's own outcome, never another's)
_token: str | None = None


def set_kind(kind: str) -> None:
    """Name this process's role in its owner token (``worker``, ``cli``, ``serve``, ``scheduler``)."""
    global _token
    _identity["kind"] = kind
    _token = None


def me() -> str:
    """This process's owner token (new after a fork: the pid is part of it)."""
    global _token
    if _token is None or f":{os.getpid()}:" not in _token:
        _token = f"{_identity['kind']}:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    return _token


def aware(at: datetime) -> datetime:
    """Naive datetimes are taken as UTC (SQLite returns them naive)."""
    return at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)


def expired(row: Any, now: datetime | None = None) -> bool:
    """True when nobody holds ``row`` (no owner, or its lease has run out)."""
    return row.owner is None or row.lease_until is None or aware(row.lease_until) <= (now or utcnow())


def lease_seconds(app: Any) -> float:
    return float(app.settings.worker.lease_seconds)


def claim(app: Any, model: type[Job] | type[Post], row_id: int, *, where: Any = None, **values: Any) -> bool:
    """Take ``row_id`` for this process when nobody holds it (and ``where`` holds); sets ``values`` too."""
    now = utcnow()
    cond = [
        col(model.id) == row_id,
        or_(col(model.owner).is_(None), col(model.lease_until).is_(None), col(model.lease_until) <= now),
    ]
    if where is not None:
        cond.append(where)
    with app.session() as s:
        done = s.exec(  # type: ignore[call-overload]
            update(model)
            .where(*cond)
            .values(owner=me(), lease_until=now + timedelta(seconds=lease_seconds(app)), updated_at=now, **values)
        ).rowcount
    if done:
        keeper(app).add(model, row_id)
    return bool(done)


def release(app: Any, model: type[Job] | type[Post], row_id: int, **values: Any) -> None:
    """Give ``row_id`` up (only when this process still holds it); sets ``values`` in the same statement."""
    keeper(app).discard(model, row_id)
    with app.session() as s:
        s.exec(  # type: ignore[call-overload]
            update(model)
            .where(col(model.id) == row_id, col(model.owner) == me())
            .values(owner=None, lease_until=None, **values)
        )


@contextmanager
def holding(app: Any, model: type[Job] | type[Post], row_id: int) -> Iterator[None]:
    """Release ``row_id`` at the end of the block whatever happens (the row's state says what is left)."""
    try:
        yield
    finally:
        try:
            release(app, model, row_id)
        except Exception as exc:  # database away: the lease expires by itself and the sweeper takes over
            log.warning("could not release a lease", table=model.__tablename__, id=row_id, error=repr(exc))


def claimed_here(row_id: int) -> None:
    """Note that this thread's current message claimed job ``row_id``."""
    if not hasattr(_thread, "jobs"):
        _thread.jobs = set()
    _thread.jobs.add(row_id)


def take_claimed_here(row_id: int) -> bool:
    """True (once) when this thread claimed job ``row_id``: only then may its message's outcome release it."""
    mine = getattr(_thread, "jobs", set())
    if row_id in mine:
        mine.discard(row_id)
        return True
    return False


class Keeper:
    """One thread per process renewing the leases of the rows it holds (every ``lease_seconds / 3``)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.rows: set[tuple[type[Any], int]] = set()
        self.lock = threading.Lock()
        self.interval = max(0.2, lease_seconds(app) / 3)
        self.thread: threading.Thread | None = None

    def add(self, model: type[Any], row_id: int) -> None:
        with self.lock:
            self.rows.add((model, row_id))
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="clipcast-leases", daemon=True)
                self.thread.start()

    def discard(self, model: type[Any], row_id: int) -> None:
        with self.lock:
            self.rows.discard((model, row_id))

    def renew(self) -> None:
        with self.lock:
            rows = list(self.rows)
        until = utcnow() + timedelta(seconds=lease_seconds(self.app))
        for model in {m for m, _ in rows}:
            ids = [i for m, i in rows if m is model]
            with self.app.session() as s:
                s.exec(  # type: ignore[call-overload]
                    update(model).where(col(model.id).in_(ids), col(model.owner) == me()).values(lease_until=until)
                )

    def _run(self) -> None:
        while True:
            threading.Event().wait(self.interval)
            with self.lock:
                if not self.rows:
                    self.thread = None
                    return
            try:
                self.renew()
            except Exception as exc:  # database away: retried next beat
                log.warning("lease renewal failed", error=repr(exc))


_keepers: dict[int, Keeper] = {}
_keepers_lock = threading.Lock()


def keeper(app: Any) -> Keeper:
    with _keepers_lock:
        if id(app) not in _keepers:
            _keepers[id(app)] = Keeper(app)
        return _keepers[id(app)]
