"""analyze(): real speech in, ranked Clip rows and a summary out; idempotent re-runs; `clipcast analyze`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TALK_VIDEO
from sqlmodel import select
from typer.testing import CliRunner

from core.app import Clipcast
from core.config import Settings
from core.contracts import SelectionRequest
from core.errors import ConfigError, InputError, UnknownBackendError
from core.models import Clip, ClipStatus, Job, Transcript, Video

# talk-example.mp4: speech 0-17.3 s, a long pause 17.3-38.9 s, "banana" near 40 s
PAUSE = (17.3, 38.9)
REQUEST = SelectionRequest(clips=5, min_seconds=3, max_seconds=10)  # short enough to split the talk in 3
ARGS = ["--min", "3", "--max", "10", "--clips", "2"]


@pytest.fixture(scope="module")
def analyzed(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    if not TALK_VIDEO.is_file():
        pytest.skip(f"{TALK_VIDEO} is absent (the shared sample talk)")
    from core.pipeline.analyze import analyze

    app = Clipcast(Settings(data_dir=tmp_path_factory.mktemp("analyze") / "data"))
    stages: list[str] = []

    class Recorder:
        def stage(self, name: str) -> None:
            stages.append(name)

        def progress(self, percent: float, message: str = "") -> None:
            assert 0 <= percent <= 100

        def check_cancelled(self) -> None:
            pass

    result = analyze(app, TALK_VIDEO, REQUEST, reporter=Recorder())
    return app, result, stages


@pytest.mark.slow
def test_clips_lie_within_the_speech_and_avoid_the_long_pause(analyzed) -> None:  # type: ignore[no-untyped-def]
    app, result, stages = analyzed
    assert {"ingest", "transcribe", "select"} <= set(stages)
    assert stages.index("ingest") < stages.index("transcribe") < stages.index("select")
    clips = result.clips
    assert clips, "the talk has ~17 s of speech: there must be clips of 3-10 s"
    for c in clips:
        assert 3 <= c.end - c.start <= 10
        assert c.end <= PAUSE[0] + 0.3 or c.start >= PAUSE[1] - 0.3, (c.start, c.end)  # never inside the pause
        assert c.start < PAUSE[0] or c.start >= PAUSE[1] - 0.3
        assert 0 <= c.start < c.end <= result.video.duration
        assert c.title and c.reason and c.text
    assert [c.rank for c in clips] == list(range(1, len(clips) + 1))
    assert [c.score for c in clips] == sorted((c.score for c in clips), reverse=True)
    with app.session() as s:
        rows = s.exec(select(Clip).where(Clip.video_id == result.video.id)).all()
        video = s.get(Video, result.video.id)
    assert {r.id for r in rows} == {c.id for c in clips}
    assert all(r.status == ClipStatus.PROPOSED for r in rows)
    assert video.summary_md and video.summary_md.startswith("## Summary") and "- 0:00 " in video.summary_md
    assert "example video" in video.summary_md.lower()


@pytest.mark.slow
def test_rerun_is_idempotent_and_keeps_what_the_user_approved(analyzed) -> None:  # type: ignore[no-untyped-def]
    from core.pipeline.analyze import analyze

    app, first, _ = analyzed
    video_id = first.video.id
    assert len(first.clips) >= 3  # one to approve, one kept, one that a later analysis drops
    again = analyze(app, video_id, REQUEST)  # an int source: the existing video (as workers call it)
    assert [c.id for c in again.clips] == [c.id for c in first.clips]  # same rows, updated in place
    with app.session() as s:
        assert len(s.exec(select(Transcript)).all()) == 1  # transcript came from the cache
        approved = s.get(Clip, again.clips[0].id)
        approved.status = ClipStatus.APPROVED
        s.add(approved)
        doomed = again.clips[-1]
        s.add(Job(kind="render", clip_id=doomed.id, video_id=video_id))
    fewer = analyze(app, video_id, SelectionRequest(clips=1, min_seconds=3, max_seconds=10))
    with app.session() as s:
        rows = s.exec(select(Clip).where(Clip.video_id == video_id)).all()
    by_id = {r.id: r for r in rows}
    assert by_id[approved.id].status == ClipStatus.APPROVED
    # the approved moment is not proposed again; the next best one is (the same row as before)
    assert [c.id for c in fewer.clips] == [first.clips[1].id]
    assert [r.id for r in rows if r.status == ClipStatus.PROPOSED] == [first.clips[1].id]
    # the dropped proposal a render job points at is kept, marked superseded; nothing else survives
    assert by_id[doomed.id].status == ClipStatus.REJECTED and "superseded" in by_id[doomed.id].reason
    assert len(rows) == 3
    # ... and the analysis says what it replaced (never a silent delete)
    assert {r.id for r in fewer.replaced} == {c.id for c in first.clips[2:]}
    assert [r.rejected for r in fewer.replaced if r.id == doomed.id] == [True]


def test_unknown_video_id_and_reversed_bounds(app: Clipcast) -> None:
    from core.pipeline.analyze import analyze

    with pytest.raises(InputError, match="there is no video with id 4242"):
        analyze(app, 4242)
    with pytest.raises(InputError, match="min 30 s > max 10 s"):
        analyze(app, 1, SelectionRequest(min_seconds=30, max_seconds=10))


def test_unknown_llm_fails_before_any_work(app: Clipcast, tmp_path: Path) -> None:
    from core.pipeline.analyze import analyze

    with pytest.raises(UnknownBackendError, match=r"unknown llm backend 'nope'; available: .*heuristic"):
        analyze(app, tmp_path / "missing.mp4", llm="nope")
    with app.session() as s:
        assert s.exec(select(Video)).all() == []


def test_model_selector_without_key_fails_before_any_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.pipeline.analyze import analyze

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    app = Clipcast(Settings(data_dir=tmp_path / "data"))
    with pytest.raises(ConfigError, match="the openai clip selector has no API key"):
        analyze(app, tmp_path / "missing.mp4", llm="openai")


def test_missing_file_is_a_clear_error(app: Clipcast, tmp_path: Path) -> None:
    from core.pipeline.analyze import analyze

    with pytest.raises(InputError, match=r"missing\.mp4"):
        analyze(app, tmp_path / "missing.mp4")


@pytest.mark.slow
def test_cli_table_and_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, analyzed) -> None:  # type: ignore[no-untyped-def]
    from core.cli import app as cli
    from core.cli.common import state

    app, _, _ = analyzed
    monkeypatch.setenv("CLIPCAST_DATA_DIR", str(app.settings.data_dir))  # reuse the cached transcript
    monkeypatch.setattr(state, "_app", None)
    monkeypatch.setattr(state, "config_path", None)
    # --json through the real entry point: stdout must be nothing but the JSON document
    root = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "CLIPCAST_DATA_DIR": str(app.settings.data_dir), "PYTHONPATH": root}
    env.pop("CLIPCAST_CONFIG", None)
    proc = subprocess.run(
        [sys.executable, "-c", "from core.cli import main; main()", "analyze", str(TALK_VIDEO), *ARGS, "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert 1 <= len(data["clips"]) <= 2
    first = data["clips"][0]
    assert {"start", "end", "score", "sub_scores", "reason", "title", "caption", "hashtags", "rank", "id"} <= set(first)
    assert first["end"] <= PAUSE[0] + 0.3
    transcript = json.loads(Path(data["transcript_path"]).read_text())
    assert transcript["segments"] and "example" in json.dumps(transcript).lower()
    assert data["summary"]["chapters"][0]["start"] == 0
    runner = CliRunner()
    monkeypatch.setattr(state, "_app", None)
    res = runner.invoke(cli, ["analyze", str(TALK_VIDEO), "--min", "3", "--max", "15", "--clips", "2"])
    assert res.exit_code == 0, res.output
    assert "rank" in res.stdout and "score" in res.stdout and "Chapters" in res.stdout and "0:00" in res.stdout
    monkeypatch.setattr(state, "_app", None)
    res = runner.invoke(cli, ["analyze", str(TALK_VIDEO), "--llm", "nope"])
    assert res.exit_code != 0


@pytest.mark.slow
def test_a_video_without_speech_is_a_clear_error(app: Clipcast, tmp_path: Path, ffmpeg: str) -> None:
    from core.pipeline.analyze import analyze

    silent = tmp_path / "silent.mp4"
    picture = ["-f", "lavfi", "-i", "color=c=black:s=160x120:r=10"]
    quiet = ["-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono"]
    codecs = ["-t", "3", "-c:v", "libx264", "-c:a", "aac", "-shortest", str(silent)]
    subprocess.run([ffmpeg, "-hide_banner", "-loglevel", "error", *picture, *quiet, *codecs], check=True, timeout=60)
    with pytest.raises(InputError, match="no speech was found in 'silent'"):
        analyze(app, silent)
    with app.session() as s:
        assert s.exec(select(Clip)).all() == []


# last: it approves every clip of the shared analysis
@pytest.mark.slow
def test_no_clips_always_says_why(analyzed) -> None:  # type: ignore[no-untyped-def]
    from core.pipeline.analyze import analyze

    app, first, _ = analyzed
    video_id = first.video.id
    none_fit = analyze(app, video_id, SelectionRequest(clips=3, min_seconds=25, max_seconds=30))
    assert none_fit.clips == [], [(c.start, c.end, c.status, c.text) for c in none_fit.clips]
    assert "no part of the talk fits 25-30 s" in none_fit.why_empty
    assert "never straddles" in none_fit.why_empty and "--min" in none_fit.why_empty
    with pytest.raises(InputError, match=r"shortest clip asked for \(90 s\) is longer than all the speech"):
        analyze(app, video_id, SelectionRequest(clips=3, min_seconds=90, max_seconds=120))
    for _ in range(8):  # approve whatever is proposed until every moment has been acted on: the answer says so
        with app.session() as s:
            for row in s.exec(select(Clip).where(Clip.video_id == video_id)).all():
                row.status = ClipStatus.APPROVED
                s.add(row)
        settled = analyze(app, video_id, REQUEST)
        if not settled.clips:
            break
    assert settled.clips == [] and "already one of the" in settled.why_empty
