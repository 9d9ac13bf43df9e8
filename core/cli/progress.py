"""A ``core.progress.Reporter`` for the terminal: one Rich progress bar per stage (ingest, transcribe, ...).

Use it as a context manager around the work; Ctrl-C interrupts the command (there is nothing to cancel
remotely), so ``check_cancelled`` never raises. A stage announced again while it is current keeps its bar.
Bars go to stderr, so ``--json`` output on stdout stays clean.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from core.cli.common import console as stderr_console


class CliReporter:
    def __init__(self, console: Console | None = None) -> None:
        self.ui = Progress(
            TextColumn("[bold]{task.description:<10}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            TextColumn("[dim]{task.fields[detail]}"),
            console=console or stderr_console,
        )
        self.task: TaskID | None = None
        self.current = ""

    def __enter__(self) -> CliReporter:
        self.ui.start()
        return self

    def __exit__(self, exc_type: Any, *rest: Any) -> None:
        if exc_type is None:
            self.finish()
        self.ui.stop()

    def stage(self, name: str) -> None:
        if name == self.current and self.task is not None:
            return
        self.finish()
        self.current = name
        self.task = self.ui.add_task(name, total=100, detail="")

    def progress(self, percent: float, message: str = "") -> None:
        if self.task is None:
            self.stage("working")
        assert self.task is not None
        self.ui.update(self.task, completed=max(0.0, min(100.0, percent)), detail=message[:60])

    def check_cancelled(self) -> None:
        pass

    def finish(self) -> None:
        """Fill the current bar: a stage that reported nothing still ends at 100%."""
        if self.task is not None:
            self.ui.update(self.task, completed=100)
