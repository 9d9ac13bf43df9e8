"""Study notes: summary, chapters with timestamps, key points and quotable lines, as Markdown."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from conftest import need
from test_candidates import make_transcript
from test_heuristic import GREETING, HIGHLIGHT, PLAIN, QANDA, SUBTLE

from core.pipeline.notes import study_notes
from plugins.llm.heuristic import HeuristicSelector


def test_notes_have_every_section_and_pick_the_substance() -> None:
    tr = make_transcript([GREETING, HIGHLIGHT, PLAIN, SUBTLE, QANDA], wps=2.0, part_gap=1.5)
    md = study_notes(tr, HeuristicSelector().summarize(tr), title="Delivery talk")
    assert md.startswith("# Delivery talk\n")
    for heading in ("## Summary", "## Chapters", "## Key points", "## Quotable lines"):
        assert heading in md
    assert re.search(r"^- 0:00 ", md, re.M)
    points = md.split("## Key points")[1].split("## Quotable lines")[0]
    assert "forty percent" in points or "a third" in points  # the highlight's result
    assert "Hi everybody" not in points and "raise your hand" not in points
    quotes = md.split("## Quotable lines")[1]
    assert '"Price the trip, not the parcel." (' in quotes


@pytest.mark.slow
def test_notes_command_writes_markdown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    need(shutil.which("espeak-ng") is not None, "espeak-ng is not installed")
    from typer.testing import CliRunner

    from core.cli import app as cli
    from core.cli.common import state
    from core.media.synth import speak

    wav = speak(HIGHLIGHT, tmp_path / "talk.wav")
    monkeypatch.setenv("CLIPCAST_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(state, "_app", None)
    monkeypatch.setattr(state, "config_path", None)
    out = tmp_path / "notes.md"
    res = CliRunner().invoke(cli, ["notes", str(wav), "--out", str(out)])
    assert res.exit_code == 0, res.output
    text = out.read_text()
    assert text.startswith("# talk") and "## Chapters" in text and "## Key points" in text
