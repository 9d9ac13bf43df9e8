"""How long-running work reports progress and learns it was cancelled.

Pipeline stages take a ``Reporter``: the CLI shows it as progress bars, workers write it to the job row, tests
use ``NullReporter``. ``check_cancelled`` raises ``Cancelled``; long subprocesses (ffmpeg) poll it and die.
"""

from __future__ import annotations

from typing import Protocol

from core.errors import ClipcastError


class Cancelled(ClipcastError):
    """The job was cancelled by the user; the stage stopped cleanly."""


class Reporter(Protocol):
    def stage(self, name: str) -> None:
        """A new stage began (ingest, transcribe, select, render, publish)."""

    def progress(self, percent: float, message: str = "") -> None:
        """Percent 0-100 of the current stage."""

    def check_cancelled(self) -> None:
        """Raise ``Cancelled`` if the user asked to stop."""


class NullReporter:
    def stage(self, name: str) -> None:
        pass

    def progress(self, percent: float, message: str = "") -> None:
        pass

    def check_cancelled(self) -> None:
        pass
