"""The Gemini selector against a local fake of generateContent (google-genai's documented shapes)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.gemini_server import FakeGemini
from fakes.openai_responses import editor_answer
from sqlmodel import select
from test_candidates import TOPICS, make_transcript

from core.app import Clipcast
from core.config import BackendSection, Settings
from core.contracts import SelectionRequest, Transcript
from core.errors import PermanentError, RetryableError
from core.models import AiUsage, Video
from core.pipeline.candidates import clean_words
from core.pipeline.select import select_clips
from plugins.llm.common import LLMOutputError

REQUEST = SelectionRequest(clips=2, min_seconds=3, max_seconds=12)
KEY = "gemini-test-key-abcdef"


def answer(body: dict) -> str:
    return editor_answer(FakeGemini.schema_name(body), FakeGemini.prompt_of(body))


@pytest.fixture
def fake() -> Iterator[FakeGemini]:
    with FakeGemini(answer) as server:
        yield server


@pytest.fixture
def transcript() -> Transcript:
    return make_transcript(TOPICS)


def make_app(tmp_path: Path, fake: FakeGemini, **options: object) -> Clipcast:
    opts = {"api_key": KEY, "base_url": fake.base_url, "max_retries": 2, "retry_delay": 0.01, **options}
    return Clipcast(Settings(data_dir=tmp_path / "data", llm=BackendSection(backend="gemini", gemini=opts)))


def hook_start(transcript: Transcript) -> float:
    return next(w.start for w in clean_words(transcript) if w.text.strip() == "Why")


def test_two_passes_with_json_schema(tmp_path: Path, fake: FakeGemini, transcript: Transcript) -> None:
    app = make_app(tmp_path, fake)
    with app.session() as s:
        video = Video(source="talk.mp4", duration=transcript.duration, user_id=None)
        s.add(video)
    plans = select_clips(app, video, transcript, REQUEST)
    assert fake.paths[0] == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert fake.headers[0]["x-goog-api-key"] == KEY
    config = fake.requests[0]["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["responseJsonSchema"]["title"] == "WindowScores"
    assert [FakeGemini.schema_name(b) for b in fake.requests] == ["WindowScores", "DetailedClips"]
    assert plans[0].start == hook_start(transcript) and plans[0].score == 95
    assert plans[0].sub_scores["shareability"] == 85 and plans[0].hashtags == ["#learning", "#language"]
    with app.session() as s:
        rows = s.exec(select(AiUsage)).all()
    assert [(r.provider, r.input_tokens, r.output_tokens, r.video_id) for r in rows] == [
        ("gemini", 130, 70, video.id)
    ] * 2
    assert rows[0].cost_usd == pytest.approx((130 * 0.30 + 70 * 2.50) / 1e6)


def test_out_of_range_timestamps(tmp_path: Path, fake: FakeGemini, transcript: Transcript) -> None:
    def wild(body: dict) -> str:
        data = json.loads(answer(body))
        for clip in data.get("clips", []):
            clip["start"], clip["end"] = clip["start"] + 0.15, clip["end"] + 500  # mid-word start, beyond media
        return json.dumps(data)

    fake.responder = wild
    plans = select_clips(make_app(tmp_path, fake), None, transcript, REQUEST)
    words = clean_words(transcript)
    assert plans
    for p in plans:
        assert p.start in {w.start for w in words} and p.end in {w.end for w in words}
        assert 3 <= p.duration <= 12 and p.end <= transcript.duration
    assert plans[0].start == hook_start(transcript)  # a start inside the first word snaps back to it


def test_invalid_json_then_valid(tmp_path: Path, fake: FakeGemini, transcript: Transcript) -> None:
    fake.reply_text("```json\n{'scores': [oops]}\n```")
    plans = select_clips(make_app(tmp_path, fake), None, transcript, REQUEST)
    assert plans and plans[0].start == hook_start(transcript)
    assert len(fake.requests) == 3
    assert "IMPORTANT: your previous answer was not valid JSON" in FakeGemini.prompt_of(fake.requests[1])


def test_invalid_json_persistently(tmp_path: Path, fake: FakeGemini, transcript: Transcript) -> None:
    fake.responder = lambda body: '{"scores": "many"}'  # JSON, but not the schema
    with pytest.raises(LLMOutputError, match=r"gemini model 'gemini-2.5-flash' returned invalid JSON 3 times"):
        select_clips(make_app(tmp_path, fake), None, transcript, REQUEST)


def test_rate_limit_then_success(tmp_path: Path, fake: FakeGemini, transcript: Transcript) -> None:
    fake.reply_error(429, "Resource has been exhausted (e.g. check quota).")
    plans = select_clips(make_app(tmp_path, fake), None, transcript, REQUEST)
    assert plans and len(fake.requests) == 3


def test_persistent_failure(tmp_path: Path, fake: FakeGemini, transcript: Transcript) -> None:
    for _ in range(3):
        fake.reply_error(503, "The model is overloaded. Please try again later.")
    with pytest.raises(RetryableError, match=r"Gemini server error 503 after 2 retries: The model is overloaded"):
        select_clips(make_app(tmp_path, fake), None, transcript, REQUEST)
    assert len(fake.requests) == 3


def test_bad_key(tmp_path: Path, fake: FakeGemini, transcript: Transcript) -> None:
    fake.reply_error(403, "API key not valid. Please pass a valid API key.")
    with pytest.raises(PermanentError, match="Gemini refused the API key: API key not valid"):
        select_clips(make_app(tmp_path, fake), None, transcript, REQUEST)
    assert len(fake.requests) == 1  # refused credentials are not retried


def test_summary(tmp_path: Path, fake: FakeGemini, transcript: Transcript) -> None:
    summary = make_app(tmp_path, fake).selector().summarize(transcript)
    assert FakeGemini.schema_name(fake.requests[0]) == "SummaryOut"
    assert summary.summary == "A talk in several parts." and summary.chapters[0].start == 0
    assert "## Chapters" in summary.to_markdown()
