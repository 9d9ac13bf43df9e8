"""The offline heuristic selector: signals a person would recognise, templated text, summary and chapters."""

from __future__ import annotations

import re
import wave
from pathlib import Path

import numpy as np
import pytest
from test_candidates import TOPICS, make_transcript

from core.app import Clipcast
from core.config import Settings
from core.contracts import SelectionRequest, Transcript
from core.pipeline.candidates import core_candidates
from core.pipeline.select import audio_context, validate_plans
from plugins.llm.heuristic import WEIGHTS, HeuristicSelector

REQUEST = SelectionRequest(clips=3, min_seconds=3, max_seconds=12)


def run(transcript: Transcript, request: SelectionRequest = REQUEST, audio: Path | None = None) -> list:
    selector = HeuristicSelector()
    with audio_context(audio):
        plans = selector.select(transcript, core_candidates(transcript, request), request)
    return validate_plans(plans, transcript, request)


def test_the_hook_section_ranks_first_wherever_it_is() -> None:
    for order in ([0, 1, 2], [1, 2, 0], [2, 0, 1]):
        tr = make_transcript([TOPICS[i] for i in order])
        best = run(tr)[0]
        assert best.text.startswith("Why do ninety percent"), (order, best)


def test_sub_scores_reason_and_text_come_from_the_clip() -> None:
    plans = run(make_transcript(TOPICS))
    best = plans[0]
    assert set(best.sub_scores) == {"hook", "keywords", "completeness", "pace", "fillers", "silence"}
    assert all(0 <= v <= 100 for v in best.sub_scores.values())
    assert best.sub_scores["hook"] >= 80 and best.score > plans[-1].score
    assert "question" in best.reason and "number" in best.reason and "\n" not in best.reason
    assert best.title == "Why do ninety percent of people fail at learning a language?"
    clip_words = {w.lower().strip(".,?!") for w in best.text.split()}
    assert best.hashtags and all(h.startswith("#") and h[1:] in clip_words for h in best.hashtags)
    assert best.caption and best.caption.split()[0] == "Why"
    assert set(best.platform_captions) == {"tiktok", "youtube", "instagram"}
    assert best.hashtags[0] in best.platform_captions["tiktok"]


def test_fillers_and_dead_air_lower_the_score() -> None:
    clean = "So here is the plan for the garden this spring. We plant tomatoes early and water them daily."
    filler = "So um here is uh the plan for the um garden this spring. Uh we plant um tomatoes you know early."
    a = run(make_transcript([clean]), SelectionRequest(clips=1, min_seconds=3, max_seconds=12))[0]
    b = run(make_transcript([filler]), SelectionRequest(clips=1, min_seconds=3, max_seconds=12))[0]
    assert b.sub_scores["fillers"] < a.sub_scores["fillers"] == 100
    slow = make_transcript([clean], sentence_gap=2.5)
    c = run(slow, SelectionRequest(clips=1, min_seconds=3, max_seconds=12))[0]
    assert c.sub_scores["silence"] < a.sub_scores["silence"]


def _wav(path: Path, duration: float, loud: tuple[float, float]) -> Path:
    rate = 16000
    t = np.arange(int(duration * rate)) / rate
    amp = np.where((t >= loud[0]) & (t < loud[1]), 0.5, 0.05)
    samples = (amp * np.sin(2 * np.pi * 220 * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return path


def test_loudness_counts_when_the_audio_is_there(tmp_path: Path) -> None:
    bland = [TOPICS[0], TOPICS[2], "The cafeteria opens early. Lunch is served at noon. The menu changes each week."]
    tr = make_transcript(bland)
    third = tr.segments[6].start  # the third part is shouted
    wav = _wav(tmp_path / "a.wav", tr.duration, (third, tr.duration))
    with_audio = run(tr, audio=wav)
    best = with_audio[0]
    assert best.end - third > best.duration / 2 and best.sub_scores["energy"] > 70, with_audio
    assert all(p.sub_scores["energy"] < 50 for p in with_audio if p.end <= third)
    assert "louder" in best.reason
    without = run(tr)
    assert all("energy" not in p.sub_scores for p in without)  # degrades gracefully: the signal is left out


def test_summary_and_chapters_follow_topic_changes() -> None:
    parts = [
        "Bread needs flour and water. Good bread needs time. Knead the bread dough well. Bake the bread hot.",
        "Bicycles need tyres and chains. Oil the bicycle chain weekly. Pump the bicycle tyres. Ride the bicycle.",
        "Taxes are due in April. File the tax forms early. Keep every tax receipt. Ask about tax credits.",
    ]
    tr = make_transcript(parts, wps=1.2, part_gap=0.4)  # slow speech: each topic lasts ~25 s
    summary = HeuristicSelector().summarize(tr)
    starts = [c.start for c in summary.chapters]
    topic_starts = [s.start for s in tr.segments if s.text.strip().startswith(("Bread needs", "Bicycles", "Taxes"))]
    assert starts[0] == 0 and len(starts) == 3
    assert starts[1:] == pytest.approx(topic_starts[1:], abs=0.1)
    titles = " ".join(c.title.lower() for c in summary.chapters)
    assert all(word in titles for word in ("bread", "bicycle", "tax"))
    assert summary.summary and len(summary.summary.split(". ")) <= 6
    md = summary.to_markdown()
    assert re.search(r"^- 0:00 Bread", md, re.M)


def test_weights_are_configurable_and_checked() -> None:
    from pydantic import ValidationError

    tr = make_transcript(TOPICS)
    only_pace = HeuristicSelector(HeuristicSelector.Options(weights={k: 0.0 for k in WEIGHTS} | {"pace": 1.0}))
    plans = only_pace.select(tr, core_candidates(tr, REQUEST), REQUEST)
    assert all(p.score == p.sub_scores["pace"] for p in plans)
    with pytest.raises(ValidationError, match="unknown signal"):
        HeuristicSelector.Options(weights={"charisma": 1.0})


def test_empty_transcript() -> None:
    tr = Transcript(language="en", duration=5.0, segments=[])
    assert HeuristicSelector().select(tr, [], REQUEST) == []
    assert "No speech" in HeuristicSelector().summarize(tr).summary


# ------------------------------------------------------------------------------- real generated speech

HOOK_TALK = [
    "The committee met on Tuesday to review the schedule for the quarterly report. "
    "The meeting covered several routine items on the agenda.",
    "The parking lot will be repainted next month. Staff should use the side entrance during the work.",
    "Why do ninety percent of people fail at learning a new language? You are making one huge mistake. "
    "Stop memorizing word lists, and start speaking from day one.",
    "The printer on the second floor has a new toner cartridge. Paper is stored in the cabinet beside the kitchen.",
]


@pytest.fixture(scope="module")
def hook_analysis(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from core.media.synth import talk_video
    from core.pipeline.analyze import analyze

    tmp = tmp_path_factory.mktemp("hook")
    video = talk_video(HOOK_TALK, tmp / "talk.mp4", pause=1.0, size="320x240")
    app = Clipcast(Settings(data_dir=tmp / "data"))
    return analyze(app, video, SelectionRequest(clips=3, min_seconds=3, max_seconds=15))


@pytest.mark.slow
def test_generated_talk_the_hook_section_ranks_first(hook_analysis, ffmpeg) -> None:  # type: ignore[no-untyped-def]
    clips = sorted(hook_analysis.clips, key=lambda c: c.rank)
    best = clips[0]
    words = hook_analysis.transcript.words
    why = next(w for w in words if w.text.strip().lower().startswith("why"))
    assert best.start == pytest.approx(why.start, abs=0.05), [(c.start, c.end, c.title) for c in clips]
    assert "question" in best.reason and best.sub_scores["hook"] >= 60
    assert best.sub_scores.get("energy") is not None  # the extracted WAV fed the loudness signal
    assert best.score > clips[1].score
    assert hook_analysis.video.summary_md and "## Chapters" in hook_analysis.video.summary_md
