"""``clipcast analyze``: transcribe a video and print the ranked clip plan (nothing is rendered)."""

from __future__ import annotations

import json

import typer
from rich.markdown import Markdown
from rich.table import Table

from core.cli.common import console, out, selection_request, state
from core.cli.progress import CliReporter
from core.contracts import ClipPlan


def _stamp(t: float) -> str:
    t = max(0.0, t)
    return f"{int(t // 60)}:{t % 60:04.1f}"


def analyze(
    source: str = typer.Argument(..., metavar="VIDEO_OR_URL", help="a video file or an http(s) URL"),
    clips: int | None = typer.Option(
        None, "--clips", "-n", min=1, max=100, help="clips to propose (default: selection.clips, 5)"
    ),
    min_seconds: float | None = typer.Option(
        None, "--min", min=0.5, help="shortest clip, s (default: selection.min_seconds, 15)"
    ),
    max_seconds: float | None = typer.Option(
        None, "--max", min=0.5, help="longest clip, s (default: selection.max_seconds, 60)"
    ),
    llm: str | None = typer.Option(None, "--llm", help="clip selector: heuristic, openai, gemini..."),
    stt: str | None = typer.Option(None, "--stt", help="speech-to-text backend: faster-whisper, openai..."),
    language: str | None = typer.Option(None, "--language", help="spoken language code (default: detected)"),
    as_json: bool = typer.Option(False, "--json", help="print the plan, transcript path and summary as JSON"),
) -> None:
    """Find the moments worth posting in a video, with scores, reasons, titles and captions."""
    from core.pipeline.analyze import analyze as run_analysis
    from core.pipeline.analyze import write_transcript

    app = state.app()
    request = selection_request(app.settings, clips, min_seconds, max_seconds, language)
    with CliReporter(console) as reporter:
        result = run_analysis(app, source, request, stt=stt, llm=llm, reporter=reporter, scale_clips=clips is None)
    transcript_path = write_transcript(app, result.video, result.transcript)
    plans = [
        ClipPlan(
            start=c.start,
            end=c.end,
            score=c.score,
            sub_scores=c.sub_scores,
            reason=c.reason,
            title=c.title,
            caption=c.caption,
            hashtags=c.hashtags,
            platform_captions=c.platform_captions,
            text=c.text,
        )
        for c in result.clips
    ]
    if as_json:
        payload = {
            "video": {"id": result.video.id, "source": result.video.source, "duration": result.video.duration},
            "clips": [
                {"id": c.id, "rank": c.rank, **p.model_dump(mode="json")}
                for c, p in zip(result.clips, plans, strict=True)
            ],
            "transcript_path": str(transcript_path),
            "language": result.transcript.language,
            "summary": result.summary.model_dump(mode="json") if result.summary else None,
            "summary_markdown": result.video.summary_md,
            "why_no_clips": result.why_empty or None,
            "replaced": [r.__dict__ for r in result.replaced],
        }
        typer.echo(json.dumps(payload, indent=2, ensure_ascii=False))
        return
    table = Table(title=f"{len(plans)} clip(s) proposed for {result.video.title or result.video.source}")
    for col in ("rank", "clip id", "start-end", "length", "score", "title", "why"):
        table.add_column(col, overflow="fold")
    for c, p in zip(result.clips, plans, strict=True):
        table.add_row(
            str(c.rank),
            str(c.id),
            f"{_stamp(p.start)}-{_stamp(p.end)}",
            f"{p.duration:.1f} s",
            f"{p.score:.0f}",
            p.title,
            p.reason,
        )
    out.print(table)
    if not plans:
        console.print(f"[yellow]no clips: {result.why_empty}[/yellow]")
    if result.replaced:
        gone = ", ".join(
            f"#{r.id} {_stamp(r.start)}-{_stamp(r.end)} {r.title!r}" + (" (kept as rejected)" if r.rejected else "")
            for r in result.replaced
        )
        console.print(f"replaced {len(result.replaced)} proposed clip(s) of the previous analysis: {gone}")
    if result.video.summary_md:
        out.print(Markdown(result.video.summary_md))
    console.print(
        f"transcript: {transcript_path}  (video id {result.video.id}; render one with `clipcast render CLIP_ID`)"
    )
