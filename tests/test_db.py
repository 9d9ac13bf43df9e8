"""State: migrations match the models, and both SQLite and PostgreSQL work for real.

Migrations are incremental since the first release (one hand-written revision per schema change): the drift
check compares the database that the whole chain builds with the models, on both databases.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel, select

from core import db
from core.models import AiUsage, Clip, Job, Post, SocialAccount, User, Video


def _roundtrip(url: str) -> None:
    db.upgrade(url)
    with db.session(url) as s:
        user = User(email="a@example.com", password_hash="x")
        s.add(user)
        s.flush()
        video = Video(user_id=user.id, sha256="ab" * 32, duration=42.0, title="talk")
        s.add(video)
        s.flush()
        clip = Clip(video_id=video.id, start=1.0, end=20.0, score=77.5, hashtags=["a", "b"], sub_scores={"hook": 80})
        account = SocialAccount(user_id=user.id, platform="youtube", remote_id="chan")
        s.add_all([clip, account, Job(kind="analyze", video_id=video.id, options={"clips": 3})])
        s.flush()
        s.add(Post(clip_id=clip.id, account_id=account.id, platform="youtube"))
        s.add(AiUsage(provider="openai", model="gpt", input_tokens=10, cost_usd=0.01, video_id=video.id))
    with db.session(url) as s:
        clip = s.exec(select(Clip)).one()
        assert clip.hashtags == ["a", "b"] and clip.sub_scores == {"hook": 80}
        assert s.exec(select(Job)).one().options == {"clips": 3}
        assert s.exec(select(Post)).one().status == "scheduled"


def _assert_no_drift(url: str) -> None:
    with db.get_engine(url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == [], f"models and migrations disagree; add a migration in core/migrations/versions: {diff}"


def test_sqlite_migrates_in_wal_mode(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    _roundtrip(url)
    _assert_no_drift(url)
    with db.get_engine(url).connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    assert db.current_revision(url) is not None
    tables = set(inspect(db.get_engine(url)).get_table_names())
    expected = {
        "user",
        "api_token",
        "video",
        "job",
        "transcript",
        "clip",
        "social_account",
        "schedule",
        "post",
        "watched_source",
        "source_item_seen",
        "ai_usage",
    }
    assert expected <= tables


def test_postgresql_migrates_and_round_trips(postgres_url: str) -> None:
    _roundtrip(postgres_url)
    _assert_no_drift(postgres_url)
    db.upgrade(postgres_url)  # a second upgrade is a no-op


def test_foreign_keys_are_enforced_on_sqlite(tmp_path: Path) -> None:
    from sqlalchemy.exc import IntegrityError

    url = f"sqlite:///{tmp_path / 'fk.db'}"
    db.upgrade(url)
    with pytest.raises(IntegrityError), db.session(url) as s:
        s.add(Clip(video_id=999, start=0, end=1))


def test_postgres_url_uses_psycopg3() -> None:
    assert db.normalise_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"
    assert db.normalise_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    assert db.normalise_url("sqlite:///x.db") == "sqlite:///x.db"


def test_postgresql_ids_past_int4_after_the_incremental_upgrade(postgres_url: str) -> None:
    """0001 made int4 ids; 0002 widens them (columns and sequences) in place, keeping the rows."""
    db.upgrade(postgres_url, "0001")
    with db.session(postgres_url) as s:
        s.add(User(email="old@example.com", password_hash="x"))
    db.upgrade(postgres_url)
    big = 2**40
    with db.session(postgres_url) as s:
        s.add(User(id=big, email="big@example.com", password_hash="x"))
        s.flush()
        s.add(Video(id=big + 1, user_id=big, sha256="cd" * 32, duration=1.0))
        s.execute(text("SELECT setval('user_id_seq', :v)"), {"v": 2**35})
        nxt = User(email="next@example.com", password_hash="x")
        s.add(nxt)
        s.flush()
        assert nxt.id == 2**35 + 1  # the sequence itself is 64-bit now
    with db.session(postgres_url) as s:
        assert s.get(Video, big + 1).user_id == big
        assert s.exec(select(User).where(User.email == "old@example.com")).one().id == 1
    _assert_no_drift(postgres_url)


def test_read_sessions_hold_no_transaction_on_postgresql(postgres_url: str) -> None:
    """API reads cost one round trip: no BEGIN before the query, no COMMIT after (db.reader)."""
    from psycopg.pq import TransactionStatus
    from sqlmodel import select

    from core.models import Job

    db.upgrade(postgres_url)

    def status_after_a_select(session_of) -> TransactionStatus:  # type: ignore[no-untyped-def]
        with session_of(postgres_url) as s:
            s.exec(select(Job).limit(1)).all()
            return s.connection().connection.dbapi_connection.info.transaction_status

    assert status_after_a_select(db.read_session) == TransactionStatus.IDLE
    assert status_after_a_select(db.session) == TransactionStatus.INTRANS  # writes keep their transaction


def test_postgresql_pings_only_idle_connections_and_replaces_dead_ones(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pool pings a connection before reuse only after PING_AFTER_IDLE_S of idleness (db._ping_when_idle); a
    connection the server has dropped meanwhile is replaced, and the caller never sees the error."""
    import psycopg

    db.upgrade(postgres_url)
    engine = db.get_engine(postgres_url)
    pings: list[object] = []
    ping = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda conn: pings.append(conn) or ping(conn))

    def backend_pid() -> int:
        with db.read_connection(postgres_url) as conn:
            return conn.execute(text("SELECT pg_backend_pid()")).scalar_one()

    first = backend_pid()
    assert backend_pid() == first and pings == []  # reused at once: no ping
    with psycopg.connect(postgres_url.replace("+psycopg", ""), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (first,))
    monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 0.0)  # every pooled connection now counts as idle
    second = backend_pid()
    assert second != first and len(pings) == 1  # pinged, found dead, replaced by a new connection
    assert backend_pid() == second and len(pings) == 2


def test_insert_jobs_on_postgresql_writes_plain_values(postgres_url: str) -> None:
    """The Core job insert stores the status's value (not an enum name) and the options as JSON on PostgreSQL."""
    from core import jobs

    db.upgrade(postgres_url)
    with db.transaction(postgres_url) as conn:
        [row] = jobs.insert_jobs(conn, [{"kind": "render", "options": {"render_options": {"captions": False}}}])
    with db.read_connection(postgres_url) as conn:
        stored = conn.execute(text("SELECT status, kind, options FROM job WHERE id = :id"), {"id": row["id"]}).one()
    assert tuple(stored) == ("queued", "render", {"render_options": {"captions": False}})
