"""The main job end to end: ``process()`` on a generated talk, the manifest, the database, and the CLI demo."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from core import models
from core.app import Clipcast
from core.config import Settings
from core.contracts import SelectionRequest
from core.errors import ClipcastError
from core.media import ffmpeg as ff
from core.media.synth import talk_video
from core.pipeline.process import process, refresh_export
from core.pipeline.render import RenderOptions

PARTS = [
    "Most people think editing takes hours. It does not, if you cut the silence first.",
    "Here is the trick. Keep one idea per clip, and put the best sentence at the very start.",
]


def audio_duration(path: Path) -> float:
    res = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries", "stream=duration", "-of", "csv=p=0",
         str(path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return float(res.stdout.strip())


@pytest.fixture(scope="module")
def processed(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("process")
    src = talk_video(PARTS, tmp / "talk.mp4", pause=2.5)
    app = Clipcast(Settings(data_dir=tmp / "data", output_dir=tmp / "clips"))
    request = SelectionRequest(clips=2, min_seconds=4, max_seconds=12)
    result = process(
        app, src, request=request, render_options=RenderOptions(preset="ultrafast"), output_dir=tmp / "out"
    )
    return app, src, result


@pytest.mark.slow
def test_process_writes_clips_and_manifest(processed) -> None:  # type: ignore[no-untyped-def]
    app, _, result = processed
    assert result.clips and not result.failed
    manifest = json.loads(result.manifest.read_text())
    assert manifest["video"]["id"] == result.video.id
    for entry in manifest["clips"]:
        for key in ("score", "sub_scores", "reason", "title", "caption", "hashtags", "storage_keys", "start", "end"):
            assert key in entry
        assert entry["title"] and entry["storage_keys"]["video"]
        assert set(entry["files"]) == {"video", "thumbnail", "srt", "vtt", "ass"}
        for name in entry["files"].values():
            assert (result.output_dir / name).stat().st_size > 0
        info = ff.probe(result.output_dir / entry["files"]["video"])
        audio_end = audio_duration(result.output_dir / entry["files"]["video"])
        assert audio_end == pytest.approx(info.duration, abs=0.1)  # the sound lasts as long as the picture
        assert (info.width, info.height) == (1080, 1920)
        assert 2.0 < info.duration <= 12.5  # within the requested bounds (less any cut pauses)
        assert app.storage.exists(entry["storage_keys"]["video"])
    with app.session() as s:
        for clip in result.clips:
            row = s.get(models.Clip, clip.id)
            assert row.status == models.ClipStatus.RENDERED and row.video_key and row.render_hash
    assert {"ingest", "transcribe", "select", "render"} <= set(result.timings)


@pytest.mark.slow
def test_processing_again_reuses_transcript_and_renders(processed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    app, src, first = processed
    request = SelectionRequest(clips=2, min_seconds=4, max_seconds=12)
    again = process(app, src, request=request, render_options=RenderOptions(preset="ultrafast"), output_dir=tmp_path)
    assert sorted(c.id for c in again.clips) == sorted(c.id for c in first.clips)
    assert {c.video_key for c in again.clips} == {c.video_key for c in first.clips}  # not re-rendered
    assert (tmp_path / "clips.json").is_file() and (tmp_path / "clip-01.mp4").is_file()


@pytest.mark.slow
def test_failed_renders_are_reported_not_hidden(processed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    app, src, _ = processed
    kit = tmp_path / "kit.yaml"
    kit.write_text("logo: nowhere.png\n")
    request = SelectionRequest(clips=1, min_seconds=4, max_seconds=12)
    app.settings.render.brands_dir = tmp_path  # brand kits are names in a configured directory, never paths
    with pytest.raises(ClipcastError, match=r"no clip of video .* could be rendered: brand 'kit': logo file"):
        process(app, src, request=request, render_options=RenderOptions(brand="kit"), output_dir=tmp_path / "o")
    manifest = json.loads((tmp_path / "o" / "clips.json").read_text())
    assert "logo file" in manifest["clips"][0]["error"]


@pytest.mark.slow
def test_demo_command_runs_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.cli import app as cli
    from core.cli.common import state

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CLIPCAST_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(state, "_app", None)
    res = CliRunner().invoke(cli, ["demo", "--clips", "1", "--output", str(tmp_path / "demo")])
    assert res.exit_code == 0, res.output
    assert "1 clip(s)" in res.output
    manifest = json.loads((tmp_path / "demo" / "clips.json").read_text())
    assert len(manifest["clips"]) == 1
    assert (tmp_path / "demo" / "clip-01.mp4").stat().st_size > 100_000


@pytest.mark.slow
def test_render_command_restyles_and_retrims_without_retranscribing(
    processed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from core.cli import app as cli
    from core.cli.common import state

    app, _, result = processed
    clip = result.clips[0]
    with app.session() as s:
        transcripts = len(s.exec(select(models.Transcript)).all())
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CLIPCAST_DATA_DIR", str(app.settings.data_dir))
    monkeypatch.setattr(state, "_app", None)
    start, end = clip.start + 0.5, clip.start + 4.0
    folder = result.output_dir
    before = json.loads((folder / "clips.json").read_text())
    pos = next(i for i, e in enumerate(before["clips"]) if e["id"] == clip.id)
    stem = f"clip-{pos + 1:02d}"
    args = ["render", str(clip.id), "--style", "pop", "--start", str(start), "--end", str(end), "-o", str(folder)]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    # The folder `process` wrote is updated in place: same names, the manifest entry describes the new render.
    after = json.loads((folder / "clips.json").read_text())
    entry = after["clips"][pos]
    assert entry["files"]["video"] == f"{stem}.mp4" and entry["render_options"]["caption_style"] == "pop"
    assert (entry["start"], entry["end"]) == (round(start, 3), round(end, 3))
    assert [e["id"] for e in after["clips"]] == [e["id"] for e in before["clips"]]
    assert "\\fscx" in (folder / f"{stem}.ass").read_text()
    assert ff.probe(folder / f"{stem}.mp4").duration <= 3.6
    assert not list(folder.glob(f"clip-{clip.id}.*"))  # no second copy under the clip id
    with app.session() as s:
        row = s.get(models.Clip, clip.id)
        assert (row.start, row.end) == (start, end)
        assert row.render_options["caption_style"] == "pop" and row.video_key != clip.video_key
        assert len(s.exec(select(models.Transcript)).all()) == transcripts
    # Into another folder without a manifest: the same naming (clip-01, not clip-1).
    res = CliRunner().invoke(cli, ["render", str(clip.id), "-o", str(tmp_path / "elsewhere")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "elsewhere" / f"clip-{clip.rank or 1:02d}.mp4").is_file()
    assert refresh_export(app, clip) is None  # the video's default folder was never written: nothing to update
    bad = CliRunner().invoke(cli, ["render", str(clip.id), "--start", "5", "--end", "4"])
    assert bad.exit_code != 0 and "is not a range inside the video" in str(bad.exception)
