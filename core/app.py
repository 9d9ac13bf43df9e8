"""The application context: settings plus the backends and database they select, built once and shared.

Pipeline stages, the CLI, workers and the API all take a ``Clipcast`` rather than reading globals, so a test
can build one around a temporary directory.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection
from sqlmodel import Session

from core import db
from core.config import Settings, load_settings, make_backend
from core.contracts import ClipSelector, Event, Publisher, SpeechToText, Storage
from core.logging import get_logger
from core.plugins import PluginManager, get_manager
from core.usage import make_sink  # AI usage rows, tagged by core.usage.usage_context

log = get_logger("clipcast.app")


class Clipcast:
    def __init__(self, settings: Settings, *, migrate: bool = True) -> None:
        self.settings = settings
        self.db_url = settings.effective_database_url
        self._lock = threading.Lock()
        self._backends: dict[tuple[str, str], Any] = {}
        if migrate:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            db.upgrade(self.db_url)

    @classmethod
    def from_config(cls, path: str | None = None, **kw: Any) -> Clipcast:
        return cls(load_settings(path), **kw)

    @property
    def plugins(self) -> PluginManager:
        return get_manager()

    @contextmanager
    def session(self) -> Iterator[Session]:
        with db.session(self.db_url) as s:
            yield s

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """For reads only: no transaction around them (``db.reader``)."""
        with db.read_session(self.db_url) as s:
            yield s

    @contextmanager
    def read_connection(self) -> Iterator[Connection]:
        """For Core reads only (``db.read_connection``)."""
        with db.read_connection(self.db_url) as conn:
            yield conn

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """For Core writes (``db.transaction``)."""
        with db.transaction(self.db_url) as conn:
            yield conn

    def _backend(self, section: str, name: str | None) -> Any:
        """One instance per (section, backend name), built on first use and bound to this installation."""
        if name is None:  # the configured one; publishers are always named ("" is an unknown name, not a default)
            name = getattr(self.settings, section).backend
        with self._lock:
            if (section, name) not in self._backends:
                backend = make_backend(self.settings, section, name)
                backend.bind(self.settings)
                backend.usage_sink = make_sink(self)
                self._backends[(section, name)] = backend
            return self._backends[(section, name)]

    @property
    def storage(self) -> Storage:
        return self._backend("storage", None)

    def stt(self, name: str | None = None) -> SpeechToText:
        return self._backend("stt", name)

    def selector(self, name: str | None = None) -> ClipSelector:
        return self._backend("llm", name)

    def publisher(self, name: str) -> Publisher:
        return self._backend("publishers", name)

    def broll_provider(self, name: str) -> Any:
        """The B-roll provider called ``name`` (options from ``broll.<name>``)."""
        return self._backend("broll", name)

    def emit(self, name: str, **fields: Any) -> None:
        """Fire ``on_event``; a failing listener is logged and never breaks the pipeline."""
        event = Event(name=name, **fields)
        for impl in self.plugins.hook.on_event.get_hookimpls():
            try:
                impl.function(event=event)
            except Exception as exc:
                log.warning("on_event listener failed", plugin=impl.plugin_name, event_name=name, error=repr(exc))
