"""The OpenAI-compatible chat-completions selector (Ollama, llama.cpp, vLLM, LM Studio) against a fake that
answers the way Ollama's /v1/chat/completions does."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.ollama_chat import FakeOllama
from fakes.openai_responses import editor_answer
from test_candidates import TOPICS, make_transcript

from core.app import Clipcast
from core.config import BackendSection, Settings
from core.contracts import SelectionRequest, Transcript
from core.errors import PermanentError, RetryableError
from core.pipeline.candidates import clean_words
from core.pipeline.select import select_clips

REQUEST = SelectionRequest(clips=2, min_seconds=3, max_seconds=12)
FIXTURES = Path(__file__).parent / "fixtures" / "llm"


def answer(schema: str, prompt: str) -> str:
    return editor_answer(schema, prompt)


@pytest.fixture
def fake() -> Iterator[FakeOllama]:
    with FakeOllama(answer) as server:
        yield server


def make_app(tmp_path: Path, base_url: str, **options: object) -> Clipcast:
    opts = {"base_url": base_url, "max_retries": 1, "timeout": 10, **options}
    return Clipcast(
        Settings(
            data_dir=tmp_path / "d", llm=BackendSection(backend="openai-compatible", **{"openai-compatible": opts})
        )
    )


@pytest.fixture
def transcript() -> Transcript:
    return make_transcript(TOPICS)


def test_two_passes_with_json_schema_output(tmp_path: Path, fake: FakeOllama, transcript: Transcript) -> None:
    plans = select_clips(make_app(tmp_path, fake.base_url), None, transcript, REQUEST)
    why = next(w.start for w in clean_words(transcript) if w.text.strip() == "Why")
    assert plans and plans[0].start == pytest.approx(why) and plans[0].score == 95
    first = fake.requests[0]
    assert first["model"] == "llama3.1:8b" and first["stream"] is False
    assert first["response_format"]["type"] == "json_schema"
    assert first["response_format"]["json_schema"]["name"] == "WindowScores"
    assert "first two seconds" in first["messages"][0]["content"]  # the editor's rules are in the prompt
    assert fake.requests[1]["response_format"]["json_schema"]["name"] == "DetailedClips"


def test_a_server_without_json_schema_gets_json_mode(tmp_path: Path, transcript: Transcript) -> None:
    with FakeOllama(answer, schema=False) as fake:
        plans = select_clips(make_app(tmp_path, fake.base_url), None, transcript, REQUEST)
    assert plans
    kinds = [(r.get("response_format") or {}).get("type") for r in fake.requests]
    assert kinds[0] == "json_schema" and kinds[1] == "json_object" and set(kinds[2:]) == {"json_object"}


def test_a_recorded_fenced_answer_is_accepted_and_invalid_json_is_retried(
    tmp_path: Path, fake: FakeOllama, transcript: Transcript
) -> None:
    from plugins.llm.common import WindowScores

    selector = make_app(tmp_path, fake.base_url, json_mode="json").selector()
    fake.reply_text("{not json")
    fake.reply_text((FIXTURES / "ollama_window_scores.txt").read_text())  # what llama3.1 answered, prose and all
    answer_ = selector.structured("Return JSON only", WindowScores)
    assert [s.score for s in answer_.scores] == [12, 88, 15]
    assert "previous answer was not valid JSON" in fake.requests[1]["messages"][0]["content"]
    assert fake.requests[1]["response_format"] == {"type": "json_object"}


def test_a_model_that_is_not_pulled_is_a_clear_permanent_error(tmp_path: Path, fake: FakeOllama) -> None:
    app = make_app(tmp_path, fake.base_url, model="llama3")
    with pytest.raises(PermanentError, match=r"model \"llama3\" not found") as info:
        select_clips(app, None, make_transcript(TOPICS), REQUEST)
    assert "ollama pull" in (info.value.hint or "")


def test_a_server_that_is_down_is_retryable(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    app = make_app(tmp_path, f"http://127.0.0.1:{port}/v1", max_retries=0)
    with pytest.raises(RetryableError, match="could not get an answer"):
        select_clips(app, None, make_transcript(TOPICS), REQUEST)


def test_usage_is_recorded_in_tokens(tmp_path: Path, fake: FakeOllama, transcript: Transcript) -> None:
    from sqlmodel import select

    from core.models import AiUsage, Video

    app = make_app(tmp_path, fake.base_url)
    with app.session() as s:
        video = Video(source="talk.mp4", duration=transcript.duration)
        s.add(video)
    select_clips(app, video, transcript, REQUEST)
    with app.session() as s:
        rows = s.exec(select(AiUsage)).all()
    assert rows and all(r.provider == "openai-compatible" and r.input_tokens > 0 for r in rows)
