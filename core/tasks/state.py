"""The process-wide task state: the app, its broker, the declared actors and the embedded worker(s)."""

from __future__ import annotations

import threading
from typing import Any

import dramatiq

from core.errors import ClipcastError


class _State:
    app: Any = None
    broker: dramatiq.Broker | None = None
    actors: dict[str, dramatiq.Actor] = {}
    workers: list[dramatiq.Worker] = []
    lock = threading.RLock()


_state = _State()


def current_app() -> Any:
    if _state.app is None:
        raise ClipcastError("the task system is not set up", "call core.tasks.setup(app) first")
    return _state.app
