"""``clipcast process``, ``clipcast render`` and ``clipcast demo``: the main job, a re-render, and a first run
that needs no video of one's own."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from core.cli.common import console, out, selection_request, state
from core.cli.progress import CliReporter
from core.contracts import SelectionRequest
from core.errors import InputError

STYLE_HELP = "caption preset: karaoke, pop, clean, or one of yours (render.styles_dir)"
PRESET_HELP = "platform preset: tiktok | shorts | reels (aspect, longest clip, UI safe zones, bitrate)"
LAYOUT_HELP = "faces decide the framing per shot: auto | single | split | wide (default: off, --reframe decides)"

#: What the demo video says: short sentences with pauses, so selection and silence removal have work to do.
#: Three paragraphs, each a unit a clip can be (clips never straddle two): 8-25 s each when espeak-ng speaks them.
DEMO_SCRIPT = [
    "Welcome to Clipcast. This is a demo video made on your own machine, with no internet and no account. "
    "Clipcast listens to a long video, finds the moments worth sharing, and cuts them into short vertical clips.",
    "Every clip gets animated captions, a clean frame, and steady loudness, ready for TikTok, Shorts and Reels. "
    "Then Clipcast posts them on your schedule, to every account you connect, and never posts a clip twice.",
    "Here is the secret. The best clips start with a hook, make one point, and end before anyone gets bored. "
    "That is it. Point Clipcast at your own video next, and schedule the clips to post while you sleep.",
]


def _preset_name(app: Any, value: str | None, field: str) -> str | None:
    """A YAML file path given on the command line becomes its directory (as ``render.<field>``) plus a name: the
    render pipeline itself only takes names (see ``core.media.presets``)."""
    path = Path(value).expanduser() if value else None
    if path is None or path.suffix not in (".yaml", ".yml") or not path.is_file():
        return value
    setattr(app.settings.render, field, path.resolve().parent)
    return path.stem


def _options(
    app: Any,
    style: str | None,
    reframe: str | None,
    aspect: str | None,
    brand: str | None,
    remove_silence: bool | None,
    remove_fillers: bool | None,
    platform: str | None = None,
    layout: str | None = None,
) -> Any:
    """The render flags ``process`` and ``render`` share; unset ones take ``settings.render``'s value."""
    from core.pipeline.render import RenderOptions

    given = {
        "caption_style": _preset_name(app, style, "styles_dir"),
        "reframe": reframe,
        "aspect": aspect,
        "brand": _preset_name(app, brand, "brands_dir"),
        "remove_silence": remove_silence,
        "remove_fillers": remove_fillers,
        "platform": platform,
        "layout": layout,
    }
    return RenderOptions(**{k: v for k, v in given.items() if v is not None})


def _summary(result: Any, seconds: float) -> None:
    table = Table(title=f"{len(result.clips)} clip(s) from {result.video.title or result.video.source}")
    for col in ("#", "time in source", "length", "score", "title", "file"):
        table.add_column(col)
    manifest = json.loads(result.manifest.read_text(encoding="utf-8"))
    for entry in manifest["clips"]:
        name = entry["files"].get("video", "[red]failed: " + entry.get("error", "")[:60])
        table.add_row(
            str(entry["rank"]),
            f"{entry['start']:.1f}-{entry['end']:.1f} s",
            f"{entry['duration']:.1f} s",
            f"{entry['score']:.0f}",
            entry["title"][:50],
            name,
        )
    out.print(table)
    out.print(f"Wrote {result.output_dir}/ (manifest: {result.manifest.name}) in {seconds:.0f} s")


def _run_process(
    app: Any,
    source: str | Path,
    request: SelectionRequest | None,
    options: Any,
    output: Path | None,
    as_json: bool,
    **backends: str | None,
) -> Any:
    from core.pipeline.process import process

    started = time.perf_counter()
    with CliReporter() as bars:
        result = process(
            app, source, request=request, render_options=options, output_dir=output, reporter=bars, **backends
        )
    if as_json:
        typer.echo(result.manifest.read_text(encoding="utf-8"))
    else:
        _summary(result, time.perf_counter() - started)
    if result.failed:
        raise typer.Exit(1)
    return result


def process_command(
    source: str = typer.Argument(..., help="a video file or an http(s) URL"),
    clips: int | None = typer.Option(None, "--clips", "-n", min=1, max=100, help="most clips to make"),
    min_seconds: float | None = typer.Option(None, "--min", help="shortest clip, s"),
    max_seconds: float | None = typer.Option(None, "--max", help="longest clip, s"),
    style: str | None = typer.Option(None, "--style", help=STYLE_HELP),
    reframe: str | None = typer.Option(None, "--reframe", help="crop | blur | face"),
    aspect: str | None = typer.Option(None, "--aspect", help="9:16 | 1:1 | 16:9"),
    brand: str | None = typer.Option(None, "--brand", help="brand kit name or YAML file"),
    remove_silence: bool | None = typer.Option(None, "--remove-silence/--keep-silence", help="cut pauses"),
    remove_fillers: bool | None = typer.Option(None, "--remove-fillers/--keep-fillers", help="cut um/uh"),
    platform: str | None = typer.Option(None, "--preset", help=PRESET_HELP),
    layout: str | None = typer.Option(None, "--layout", help=LAYOUT_HELP),
    output: Path | None = typer.Option(None, "--output", "-o", help="directory for the clips (default: output_dir)"),
    stt: str | None = typer.Option(None, "--stt", help="speech-to-text backend (default: stt.backend)"),
    llm: str | None = typer.Option(None, "--llm", help="clip selector (default: llm.backend)"),
    language: str | None = typer.Option(None, "--language", help="spoken language code (default: detected)"),
    as_json: bool = typer.Option(False, "--json", help="print clips.json instead of a table"),
) -> None:
    """Find the best moments of a video and render them as vertical clips with captions."""
    app = state.app()
    request = selection_request(app.settings, clips, min_seconds, max_seconds, language)
    options = _options(app, style, reframe, aspect, brand, remove_silence, remove_fillers, platform, layout)
    _run_process(app, source, request, options, output, as_json, stt=stt, llm=llm)


def render_command(
    clip_id: int = typer.Argument(..., help="clip id (from `clipcast process --json` or the API)"),
    style: str | None = typer.Option(None, "--style", help=STYLE_HELP),
    reframe: str | None = typer.Option(None, "--reframe", help="crop | blur | face"),
    aspect: str | None = typer.Option(None, "--aspect", help="9:16 | 1:1 | 16:9"),
    brand: str | None = typer.Option(None, "--brand", help="brand kit name or YAML file"),
    start: float | None = typer.Option(None, "--start", help="new start in the source, s"),
    end: float | None = typer.Option(None, "--end", help="new end in the source, s"),
    remove_silence: bool | None = typer.Option(None, "--remove-silence/--keep-silence"),
    remove_fillers: bool | None = typer.Option(None, "--remove-fillers/--keep-fillers"),
    platform: str | None = typer.Option(None, "--preset", help=PRESET_HELP),
    layout: str | None = typer.Option(None, "--layout", help=LAYOUT_HELP),
    hook_title: bool | None = typer.Option(None, "--hook-title/--no-hook-title", help="title card at the start"),
    title: int | None = typer.Option(None, "--title", min=1, help="use title variant N (clips.json title_variants)"),
    broll: str | None = typer.Option(None, "--broll", help="off | cutaway | pip: B-roll at the clip's keywords"),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="the folder `process` wrote to, or another one (default: the video's folder)"
    ),
) -> None:
    """Re-render one clip after its style, trim or text changed (the transcript is reused, not redone).

    The files and the clip's entry in ``clips.json`` of the folder ``process`` wrote are updated in place,
    under the same names."""
    from core.pipeline.process import refresh_export
    from core.pipeline.render import RenderOptions, render_clip, retrim_clip

    app = state.app()
    if start is not None or end is not None:
        retrim_clip(app, clip_id, start=start, end=end)
    if title is not None:
        from core.media.hook import pick_title

        out.print(f"title: {pick_title(app, clip_id, title).title}")
    options = _options(app, style, reframe, aspect, brand, remove_silence, remove_fillers, platform, layout)
    if hook_title is not None:
        options = options.model_copy(update={"hook_title": hook_title})
    if broll is not None:
        if broll not in ("off", "cutaway", "pip"):
            raise InputError(f"--broll {broll!r} is not a B-roll mode", "use off, cutaway or pip")
        options = RenderOptions.model_validate({**options.model_dump(exclude_unset=True), "broll": broll})
    with CliReporter() as bars:
        bars.stage("render")
        clip = render_clip(app, clip_id, options=options, reporter=bars)
    out.print(f"clip {clip.id}: {clip.rendered_duration:.1f} s → storage key {clip.video_key}")
    exported = refresh_export(app, clip, output)
    if exported is None:
        out.print("no `process` output folder lists this clip; give -o DIR to copy the files somewhere")
    else:
        folder, files = exported
        out.print(f"wrote {', '.join(files.values())} to {folder}/")


def demo_command(
    output: Path | None = typer.Option(None, "--output", "-o", help="directory for the clips (default: output_dir)"),
    keep_video: bool = typer.Option(False, "--keep-video", help="also keep the generated sample video"),
    clips: int = typer.Option(2, "--clips", "-n", min=1, max=5, help="how many clips to make"),
) -> None:
    """Generate a short spoken sample video (espeak-ng) and process it, to see Clipcast work end to end."""
    from core.media.synth import talk_video

    app = state.app()
    tmp = Path(tempfile.mkdtemp(prefix="clipcast-demo-"))
    try:
        console.print("Generating a sample talk video with espeak-ng…")
        video = talk_video(DEMO_SCRIPT, tmp / "clipcast-demo.mp4", pause=1.2, picture="testsrc2")
        request = selection_request(app.settings, clips, 8, 25)
        result = _run_process(app, video, request, None, output, False)
        if keep_video:
            shutil.copy2(video, result.output_dir / "demo-source.mp4")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
