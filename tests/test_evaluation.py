"""The evaluation harness itself (not a quality threshold): an oracle scores 1.00, a random selector near chance.

Runs on a small part of the development set: the first five paragraphs of two talks, spoken with espeak-ng
and transcribed with the bundled model, as ``clipcast eval`` does.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import ClassVar

import pytest
from conftest import need

from core.app import Clipcast
from core.config import Settings
from core.contracts import Candidate, ClipPlan, ClipSelector, SelectionRequest, Summary, Transcript
from core.errors import InputError
from core.evaluation.devset import build
from core.evaluation.manifest import load_manifest
from core.evaluation.metrics import hits, score_video
from core.evaluation.run import EvalReport, build_selector, evaluate, format_report, parse_options
from core.pipeline.pauses import in_continuous_speech

REQUEST = SelectionRequest(clips=5, min_seconds=10, max_seconds=40)


class Oracle(ClipSelector):
    """Returns the labelled highlights themselves (set per video by the test)."""

    name = "oracle"
    spans: ClassVar[list[tuple[float, float]]] = []

    def select(self, transcript: Transcript, candidates: list[Candidate], request: SelectionRequest) -> list:
        return [ClipPlan(start=a, end=b, score=90 - i) for i, (a, b) in enumerate(Oracle.spans)]

    def summarize(self, transcript: Transcript) -> Summary:
        return Summary(summary="")


class RandomPick(ClipSelector):
    """Ranks the candidate windows in a random order."""

    name = "random-pick"
    rng = random.Random(0)

    def select(self, transcript: Transcript, candidates: list[Candidate], request: SelectionRequest) -> list:
        picked = RandomPick.rng.sample(candidates, len(candidates))
        return [ClipPlan(start=c.start, end=c.end, score=50) for c in picked]

    def summarize(self, transcript: Transcript) -> Summary:
        return Summary(summary="")


@pytest.fixture(scope="module")
def small_set(tmp_path_factory: pytest.TempPathFactory) -> tuple[Clipcast, Path]:
    need(shutil.which("espeak-ng") is not None, "espeak-ng is not installed")
    tmp = tmp_path_factory.mktemp("evalset")
    manifest = build(tmp / "set", ["03", "05"], paragraphs=5)
    return Clipcast(Settings(data_dir=tmp / "data")), manifest


def test_hit_rule_and_speech_cuts() -> None:
    assert hits((10, 40), (12, 38))  # covers all of it, it fills 87% of the clip
    assert not hits((0, 60), (20, 45))  # covers it, but it fills only 42% of the clip
    assert not hits((20, 30), (20, 45))  # fills the clip, but covers only 40% of it
    pauses = [(5.0, 5.6), (9.9, 10.0)]
    assert not in_continuous_speech(5.3, pauses, end=20) and not in_continuous_speech(5.64, pauses, end=20)
    assert in_continuous_speech(7.0, pauses, end=20)  # no pause there
    s = score_video("v", [(0, 5.2), (5.3, 7.0)], [(5.4, 7.2)], pauses, 20)
    assert (s.top1, s.top3, s.rr, s.found, s.cut) == (0.0, 1.0, 0.5, 1, 1)


def test_manifest_errors_are_clear(tmp_path: Path) -> None:
    bad = tmp_path / "m.json"
    bad.write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        load_manifest(bad)
    bad.write_text(json.dumps({"videos": [{"id": "a", "path": "a.wav", "highlights": [{"start": 5, "end": 2}]}]}))
    with pytest.raises(InputError, match="must end after it starts"):
        load_manifest(bad)
    bad.write_text(json.dumps({"videos": [{"id": "a", "path": "missing.wav"}]}))
    with pytest.raises(InputError, match=r"not found, first 'missing\.wav'"):
        load_manifest(bad)
    with pytest.raises(InputError, match="key=value"):
        parse_options(["model"])
    assert parse_options(["weights={hook: 2}", "x=0.5"]) == {"weights": {"hook": 2}, "x": 0.5}


@pytest.mark.slow
def test_oracle_scores_one_and_random_is_near_chance(small_set, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    app, path = small_set
    manifest = load_manifest(path)
    assert len(manifest.videos) == 2 and all(len(v.highlights) == 1 for v in manifest.videos)
    reports: list[EvalReport] = []
    for video in manifest.videos:  # the oracle knows one video's labels at a time
        Oracle.spans = [(h.start, h.end) for h in video.highlights]
        one = manifest.model_copy(update={"videos": [video]})
        reports.append(evaluate(app, one, Oracle(), REQUEST, seeds=20))
    for report in reports:
        assert (report.overall.top1, report.overall.recall, report.overall.cut_share) == (1.0, 1.0, 0.0)
        assert report.overall.boundary_error is not None and report.overall.boundary_error < 0.5
    # transcripts are cached: a second run never calls speech-to-text
    monkeypatch.setattr(type(app.stt()), "transcribe", lambda *a, **k: pytest.fail("transcribed again"))
    runs = [evaluate(app, manifest, RandomPick(), REQUEST, seeds=20) for _ in range(5)]
    mean_top1 = sum(r.overall.top1 for r in runs) / len(runs)
    chance = runs[0].baselines["random windows (20 seeds)"]
    assert mean_top1 < 0.7 and chance.top1 < 0.7  # one highlight among several units: far from the oracle
    heuristic = evaluate(app, manifest, build_selector(app, "heuristic"), REQUEST, seeds=20)
    text = format_report(heuristic)
    assert "random windows (20 seeds)" in text and "first 30 s windows" in text and "min_score precision" in text
    data = heuristic.as_dict()
    assert {"top1", "top3", "mrr", "recall", "cut_share", "boundary_error"} <= set(data["overall"])
    assert len(data["videos"]) == 2 and data["videos"][0]["clips_detail"]


@pytest.mark.slow
def test_the_harness_measures_an_llm_selector_too(small_set) -> None:  # type: ignore[no-untyped-def]
    """A prompt change is measured, not guessed: an OpenAI-compatible selector (here the Ollama fake, as a
    "model" that likes windows opening with a question) runs through the same harness."""
    from fakes.ollama_chat import FakeOllama
    from fakes.openai_responses import editor_answer

    app, path = small_set
    manifest = load_manifest(path)
    with FakeOllama(lambda schema, prompt: editor_answer(schema, prompt, favourite="?")) as fake:
        selector = build_selector(app, "openai-compatible", {"base_url": fake.base_url, "max_retries": 0})
        report = evaluate(app, manifest, selector, REQUEST, seeds=20)
    assert report.selector == "openai-compatible" and fake.requests
    assert report.overall.clips > 0 and 0.0 <= report.overall.top1 <= 1.0
    assert report.overall.cut_share == 0.0  # model times are snapped to sentences, cuts placed in pauses
