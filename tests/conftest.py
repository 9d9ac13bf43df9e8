"""Shared fixtures. Services (Redis, PostgreSQL) are used for real: a test that needs one skips when it is
absent locally and fails when ``CI`` is set, so CI can never go green by skipping."""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.app import Clipcast
from core.config import Settings
from core.plugins import reset_manager

ROOT = Path(__file__).resolve().parent.parent
SHARED_MEDIA = ROOT.parent / "shared" / "media"
TALK_VIDEO = SHARED_MEDIA / "talk-example.mp4"
IN_CI = bool(os.environ.get("CI"))


def need(condition: bool, why: str) -> None:
    """Skip locally, fail under CI, when a required service or tool is missing."""
    if not condition:
        if IN_CI:
            pytest.fail(f"{why} (CI is set, so this is a failure, not a skip)")
        pytest.skip(why)


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A Redis database of this test process's own: under pytest-xdist each worker (gw0, gw1, ...) takes the
    next lower database number, so queues and keys of parallel workers never meet."""
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    need(_port_open("127.0.0.1", 6379), "Redis is not running on 127.0.0.1:6379")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    base, _, number = url.rpartition("/")
    return f"{base}/{(int(number or 0) - int(worker.removeprefix('gw'))) % 16}"


def postgres_database() -> Iterator[str]:
    """A throwaway PostgreSQL database, dropped afterwards (tests never see each other's rows)."""
    need(_port_open("127.0.0.1", 5432), "PostgreSQL is not running on 127.0.0.1:5432")
    import psycopg

    base = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    name = f"clipcast_test_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield base.rsplit("/", 1)[0] + f"/{name}"
    from core import db

    for url, engine in list(db._engines.items()):
        if name in url:
            engine.dispose()
            db._engines.pop(url)
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL database for one test."""
    yield from postgres_database()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Embedded defaults in a temporary data directory."""
    return Settings(data_dir=tmp_path / "data", output_dir=tmp_path / "clips")


@pytest.fixture
def app(settings: Settings) -> Clipcast:
    return Clipcast(settings)


@pytest.fixture
def talk_video() -> Path:
    if not TALK_VIDEO.is_file():
        pytest.skip(f"{TALK_VIDEO} is absent (the shared sample talk); tests that need real speech skip")
    return TALK_VIDEO


@pytest.fixture
def ffmpeg() -> str:
    path = shutil.which("ffmpeg")
    need(path is not None, "ffmpeg is not installed (make setup installs it)")
    return path  # type: ignore[return-value]


@pytest.fixture(autouse=True)
def _fresh_plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test sees a freshly built plugin manager and a clean environment for Clipcast variables. No installed
    third-party plugin loads (``CLIPCAST_LOAD_PLUGINS`` empty) unless a test sets the variable itself."""
    for var in (
        "CLIPCAST_CONFIG",
        "CLIPCAST_PLUGINS",
        "DATABASE_URL",
        "REDIS_URL",
        "CLIPCAST_DATA_DIR",
        "CLIPCAST_SECRET_KEY",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("CLIPCAST_LOAD_PLUGINS", "")
    reset_manager()
    yield
    reset_manager()
