"""``clipcast eval MANIFEST``: selection quality on a labelled set, beside random and first-N baselines."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from core.cli.common import console, selection_request, state


def eval_command(
    manifest: Path = typer.Argument(..., help="a labelled manifest (docs/evaluation.md); JSON or YAML"),
    llm: str | None = typer.Option(None, "--llm", help="clip selector to measure (default: llm.backend)"),
    option: list[str] = typer.Option([], "--option", "-o", help="selector option k=v over the configured ones"),
    stt: str | None = typer.Option(None, "--stt", help="speech-to-text backend (transcripts are cached)"),
    clips: int | None = typer.Option(None, "--clips", "-n", min=1, max=100, help="clips per video (default 5)"),
    min_seconds: float | None = typer.Option(None, "--min", min=0.5, help="shortest clip, s"),
    max_seconds: float | None = typer.Option(None, "--max", min=0.5, help="longest clip, s"),
    seeds: int = typer.Option(200, "--seeds", min=1, help="seeds the random baseline is averaged over"),
    as_json: bool = typer.Option(False, "--json", help="print the figures as JSON"),
) -> None:
    """Measure clip selection: top-1, top-3, MRR, recall, cuts inside speech, boundary error, and baselines."""
    from core.evaluation.manifest import load_manifest
    from core.evaluation.run import build_selector, evaluate, format_report, parse_options

    app = state.app()
    request = selection_request(app.settings, clips or 5, min_seconds, max_seconds)
    selector = build_selector(app, llm, parse_options(option))
    loaded = load_manifest(manifest)
    with console.status("evaluating") as status:
        report = evaluate(app, loaded, selector, request, stt=stt, seeds=seeds, progress=status.update)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
    else:
        typer.echo(format_report(report))
