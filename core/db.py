"""Engines, sessions and migrations. SQLite (WAL, foreign keys on) by default; PostgreSQL via psycopg 3."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, event, exc
from sqlmodel import Session, create_engine

_MIGRATIONS = Path(__file__).parent / "migrations"
_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` / ``postgres://`` URLs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # pool_size 40 = the API's thread pool (anyio's default limit): with SQLAlchemy's default 5 + 10 overflow,
        # 50 concurrent API clients opened and closed a connection (and ran its four PRAGMAs) on most requests.
        # SQLite connections are cheap (no server process), so holding 40 costs little.
        pool = {"pool_size": 40, "max_overflow": 20} if path and path != ":memory:" else {}
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **pool)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            # WAL's recommended durability: commits no longer wait for an fsync each (a power cut may lose the
            # last commits, never corrupts the file); each write request in bench/api_load.py paid one.
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    # pool_size 40, as for SQLite: with 10 (+20 overflow) an API process under 50 clients opened and closed a
    # PostgreSQL connection (a server process each) on most requests. Idle processes open only what they use.
    engine = create_engine(url, pool_size=40, max_overflow=20)
    _ping_when_idle(engine)
    return engine


#: Seconds a pooled PostgreSQL connection may sit unused before its next checkout pings it first.
PING_AFTER_IDLE_S = 1.0


def _ping_when_idle(engine: Engine) -> None:
    """SQLAlchemy's ``pool_pre_ping``, but only for connections idle at least ``PING_AFTER_IDLE_S``.

    Why: the pre-ping is a round trip on every checkout (an API request checks out one to three connections),
    while a connection only goes stale while it sits idle: a server restart, ``idle_session_timeout``, a NAT
    dropping the flow. Under load every connection is back in use within milliseconds and is not pinged.
    Caveat: a server restart while connections are busy fails those in-flight statements, as it would with the
    pre-ping; the dialect's disconnect handling then invalidates the whole pool (the same as a failed ping here).
    """
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _stamp(_dbapi_conn, record):  # type: ignore[no-untyped-def]
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_conn, record, _proxy):  # type: ignore[no-untyped-def]
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_S:
            return  # fresh from connect(), or in steady use
        try:
            dialect.do_ping(dbapi_conn)
        except dialect.loaded_dbapi.Error as err:
            if dialect.is_disconnect(err, dbapi_conn, None):
                raise exc.InvalidatePoolError() from err  # the pool retries with a new connection
            raise


def get_engine(url: str) -> Engine:
    """One engine per URL per process."""
    with _lock:
        if url not in _engines:
            _engines[url] = make_engine(url)
        return _engines[url]


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision`` (creating it if needed)."""
    engine = get_engine(url)
    cfg = alembic_config(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def current_revision(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with get_engine(url).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


_readers: dict[str, Engine] = {}


def reader(url: str) -> Engine:
    """The URL's engine (same pool) with each statement its own transaction (autocommit): a read then costs one
    round trip to PostgreSQL (plus the pool's pre-ping) instead of three (BEGIN, the query, COMMIT; strace: 4 ->
    2 sends per get). Under PostgreSQL's default READ COMMITTED isolation each statement sees its own snapshot
    inside a transaction too, so reads lose nothing. For SQLite it is the engine itself (no round trips)."""
    engine = get_engine(url)
    if url.startswith("sqlite"):
        return engine
    with _lock:
        if url not in _readers:
            _readers[url] = engine.execution_options(isolation_level="AUTOCOMMIT")
        return _readers[url]


@contextmanager
def read_session(url: str) -> Iterator[Session]:
    """A session for reads only (``reader``); nothing it adds is written."""
    with Session(reader(url), expire_on_commit=False) as s:
        yield s


@contextmanager
def read_connection(url: str) -> Iterator[Connection]:
    """A Core connection for reads only (``reader``): for statements that build no ORM objects, without the
    session's own set-up and tear-down (about a tenth of a list request's CPU, two per request)."""
    with reader(url).connect() as conn:
        yield conn


@contextmanager
def transaction(url: str) -> Iterator[Connection]:
    """A Core connection in a transaction that commits on success and rolls back on error: ``session`` for
    statements that build no ORM objects."""
    with get_engine(url).begin() as conn:
        yield conn


@contextmanager
def session(url: str) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(get_engine(url), expire_on_commit=False) as s:
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
