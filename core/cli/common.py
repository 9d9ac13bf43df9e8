"""Shared CLI state: the --config path and the lazily built application context."""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console

from core.app import Clipcast
from core.config import Settings, load_settings
from core.logging import configure

console = Console(stderr=True)
out = Console()


@dataclass
class State:
    config_path: str | None = None
    _app: Clipcast | None = None

    def settings(self) -> Settings:
        return load_settings(self.config_path)

    def app(self) -> Clipcast:
        if self._app is None:
            settings = self.settings()
            from core.config import secret_values

            configure(settings.log.level, settings.log.format, secrets=secret_values(settings))
            self._app = Clipcast(settings)
        return self._app


state = State()
