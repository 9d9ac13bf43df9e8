"""``clipcast notes VIDEO``: Markdown study notes (summary, chapters, key points, quotable lines)."""

from __future__ import annotations

from pathlib import Path

import typer

from core.cli.common import console, state
from core.cli.progress import CliReporter


def notes(
    source: str = typer.Argument(..., metavar="VIDEO_OR_URL", help="a video file, an http(s) URL or a video id"),
    out_path: Path | None = typer.Option(None, "--out", "-o", help="write the Markdown here (default: stdout)"),
    llm: str | None = typer.Option(None, "--llm", help="who writes the summary and chapters (default: llm.backend)"),
    stt: str | None = typer.Option(None, "--stt", help="speech-to-text backend"),
) -> None:
    """Write study notes for a talk or lecture: summary, chapters with timestamps, key points, quotable lines."""
    from core.pipeline.notes import notes_for

    app = state.app()
    target: str | int = int(source) if source.isdigit() else source
    with CliReporter(console) as reporter:
        text = notes_for(app, target, stt=stt, llm=llm, reporter=reporter)
    if out_path is None:
        typer.echo(text, nl=False)
    else:
        out_path.write_text(text, encoding="utf-8")
        console.print(f"notes written to {out_path}")
