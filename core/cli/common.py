"""Shared CLI state: the --config path and the lazily built application context."""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console

from core.app import Clipcast
from core.config import Settings, load_settings, secret_values
from core.contracts import SelectionRequest
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
            configure(settings.log.level, settings.log.format, secrets=secret_values(settings))
            self._app = Clipcast(settings)
        return self._app


state = State()


def selection_request(
    settings: Settings,
    clips: int | None,
    min_seconds: float | None,
    max_seconds: float | None,
    language: str | None = None,
) -> SelectionRequest:
    """The CLI's clip-count and length options over the configured ``selection`` defaults."""
    sel = settings.selection
    return SelectionRequest(
        clips=clips or sel.clips,
        min_seconds=min_seconds or sel.min_seconds,
        max_seconds=max_seconds or sel.max_seconds,
        language=language,
    )
