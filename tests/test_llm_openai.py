"""The OpenAI selector against a local fake of the Responses API (the SDK's documented shapes)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.openai_responses import FakeOpenAI, editor_answer
from sqlmodel import select
from test_candidates import TOPICS, make_transcript

from core.app import Clipcast
from core.config import BackendSection, Settings
from core.contracts import ClipPlan, SelectionRequest, Transcript
from core.errors import PermanentError, RetryableError
from core.models import AiUsage, Job, Video
from core.pipeline.candidates import clean_words
from core.pipeline.select import select_clips
from plugins.llm.common import LLMOutputError

REQUEST = SelectionRequest(clips=2, min_seconds=3, max_seconds=12)
KEY = "sk-test-not-a-real-key-123456"


def answer(body: dict) -> str:
    return editor_answer(FakeOpenAI.schema_name(body), FakeOpenAI.prompt_of(body))


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(answer) as server:
        yield server


def make_app(tmp_path: Path, fake: FakeOpenAI, **options: object) -> Clipcast:
    opts = {"api_key": KEY, "base_url": fake.base_url, "max_retries": 2, "timeout": 10, **options}
    settings = Settings(data_dir=tmp_path / "data", llm=BackendSection(backend="openai", openai=opts))
    return Clipcast(settings)


@pytest.fixture
def transcript() -> Transcript:
    return make_transcript(TOPICS)


@pytest.fixture
def video(tmp_path: Path, fake: FakeOpenAI, transcript: Transcript) -> tuple[Clipcast, Video]:
    app = make_app(tmp_path, fake)
    with app.session() as s:
        v = Video(source="talk.mp4", duration=transcript.duration)
        s.add(v)
    return app, v


def hook_start(transcript: Transcript) -> float:
    return next(w.start for w in clean_words(transcript) if w.text.strip() == "Why")


def test_two_passes_pick_the_window_the_model_prefers(video, fake: FakeOpenAI, transcript: Transcript) -> None:
    app, v = video
    plans = select_clips(app, v, transcript, REQUEST)
    assert [FakeOpenAI.schema_name(b) for b in fake.requests] == ["WindowScores", "DetailedClips"]
    cheap, detailed = fake.requests
    assert cheap["text"]["format"]["type"] == "json_schema" and cheap["text"]["format"]["strict"] is True
    assert cheap["model"] == "gpt-5-mini" and "temperature" not in cheap  # GPT-5 models refuse a temperature
    assert fake.headers[0]["authorization"] == f"Bearer {KEY}"
    assert "Why do ninety percent" in FakeOpenAI.prompt_of(cheap)
    assert "word times:" in FakeOpenAI.prompt_of(detailed)  # the shortlist goes out with its exact words
    assert plans and isinstance(plans[0], ClipPlan)
    best = plans[0]
    assert best.start == hook_start(transcript)
    assert best.score == 95 and best.sub_scores == {"hook": 90, "value": 80, "emotion": 60, "shareability": 85}
    assert best.hashtags == ["#learning", "#language"]
    assert best.platform_captions["youtube"] == "yt #shorts"
    assert best.text.startswith("Why do ninety percent")
    with app.session() as s:
        rows = s.exec(select(AiUsage)).all()
    assert len(rows) == 2
    assert {r.video_id for r in rows} == {v.id}
    assert all(r.provider == "openai" and r.input_tokens == 120 and r.output_tokens == 60 for r in rows)
    assert rows[0].cost_usd == pytest.approx((120 * 0.25 + 60 * 2.0) / 1e6)


def test_out_of_range_timestamps_are_clamped_and_snapped(video, fake: FakeOpenAI, transcript: Transcript) -> None:
    app, v = video
    ids = []

    def wild(body: dict) -> str:
        if FakeOpenAI.schema_name(body) == "WindowScores":
            return answer(body)
        data = json.loads(answer(body))
        for clip in data["clips"]:
            ids.append(clip["id"])
            clip["start"], clip["end"] = -30.0, 9999.0
        data["clips"][0]["score"] = 250  # out of the 0-100 range too
        return json.dumps(data)

    fake.responder = wild
    plans = select_clips(app, v, transcript, REQUEST)
    words = clean_words(transcript)
    starts, ends = {w.start for w in words}, {w.end for w in words}
    assert plans
    for p in plans:
        assert 0 <= p.start < p.end <= transcript.duration
        assert p.start in starts and p.end in ends
        assert 3 <= p.duration <= 12
    assert plans[0].score == 100


def test_invalid_json_is_retried_with_a_stricter_prompt(video, fake: FakeOpenAI, transcript: Transcript) -> None:
    app, v = video
    fake.reply_text('{"scores": [ {"id": 1, "score": 80}, ')  # truncated JSON
    plans = select_clips(app, v, transcript, REQUEST)
    assert plans and plans[0].start == hook_start(transcript)
    prompts = [FakeOpenAI.prompt_of(b) for b in fake.requests]
    assert len(prompts) == 3
    assert "not valid JSON" not in prompts[0] and "IMPORTANT: your previous answer was not valid JSON" in prompts[1]
    with app.session() as s:
        assert len(s.exec(select(AiUsage)).all()) == 3  # the failed call was billed too


def test_invalid_json_every_time_fails_clearly(tmp_path: Path, fake: FakeOpenAI, transcript: Transcript) -> None:
    app = make_app(tmp_path, fake, json_retries=1)
    fake.responder = lambda body: "Sure! Here are the scores: 1, 2, 3"
    with pytest.raises(LLMOutputError, match=r"returned invalid JSON 2 times in a row"):
        select_clips(app, None, transcript, REQUEST)
    assert len(fake.requests) == 2


def test_rate_limit_then_success(video, fake: FakeOpenAI, transcript: Transcript) -> None:
    app, v = video
    fake.reply_error(429, "Rate limit reached for requests", retry_after=0)
    plans = select_clips(app, v, transcript, REQUEST)
    assert plans and plans[0].start == hook_start(transcript)
    assert len(fake.requests) == 3  # 429, its retry, then the detailed pass


def test_persistent_server_failure_is_a_clear_retryable_error(
    tmp_path: Path, fake: FakeOpenAI, transcript: Transcript
) -> None:
    app = make_app(tmp_path, fake, max_retries=1)
    for _ in range(2):
        fake.reply_error(500, "The server had an error while processing your request")
    with pytest.raises(RetryableError, match=r"OpenAI server error 500 after 1 retries: The server had an error"):
        select_clips(app, None, transcript, REQUEST)
    assert len(fake.requests) == 2


def test_bad_key_is_a_permanent_error(tmp_path: Path, fake: FakeOpenAI, transcript: Transcript) -> None:
    app = make_app(tmp_path, fake)
    fake.reply_error(401, "Incorrect API key provided")
    with pytest.raises(PermanentError, match="OpenAI refused the API key: Incorrect API key provided"):
        select_clips(app, None, transcript, REQUEST)


def test_summary_and_overridden_prompts(tmp_path: Path, fake: FakeOpenAI, transcript: Transcript) -> None:
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    (prompts / "summarize.md").write_text("CUSTOM show notes ($language)\n$transcript\n")
    app = make_app(tmp_path, fake, prompts_dir=str(prompts))
    summary = app.selector().summarize(transcript)
    sent = FakeOpenAI.prompt_of(fake.requests[-1])
    assert sent.startswith("CUSTOM show notes (en)") and "Why do ninety percent" in sent
    assert summary.summary == "A talk in several parts."
    assert [c.title for c in summary.chapters] == ["Opening", "Middle"] and summary.chapters[0].start == 0


def test_long_transcripts_are_chunked(tmp_path: Path, fake: FakeOpenAI) -> None:
    long = make_transcript(TOPICS * 12)  # ~6 minutes
    app = make_app(tmp_path, fake, chunk_chars=1500)
    plans = select_clips(app, None, long, SelectionRequest(clips=3, min_seconds=3, max_seconds=12))
    cheap = [b for b in fake.requests if FakeOpenAI.schema_name(b) == "WindowScores"]
    assert len(cheap) >= 4
    assert all(len(FakeOpenAI.prompt_of(b)) < 1500 + 4000 for b in cheap)
    assert len(plans) == 3 and all(p.text.startswith("Why do ninety percent") for p in plans)


def test_usage_context_tags_rows_and_daily_totals_add_up(tmp_path: Path, fake: FakeOpenAI) -> None:
    from datetime import timedelta

    from core.logging import redact
    from core.models import User, utcnow
    from core.usage import current_context, daily_cost, daily_totals, usage_context

    app = make_app(tmp_path, fake)
    with app.session() as s:
        user = User(email="a@example.com", password_hash="x")
        s.add(user)
        s.flush()
        s.refresh(user)
        job = Job(kind="analyze", user_id=user.id)
        s.add(job)
        s.flush()
        s.refresh(job)
    selector = app.selector()
    assert redact(f"key={KEY}") == "key=****"  # the API key never reaches a log line
    with usage_context(user_id=user.id, job_id=job.id):
        with usage_context(video_id=None):  # None keeps the enclosing values
            assert current_context().job_id == job.id
        selector.summarize(make_transcript(TOPICS))
    selector.summarize(make_transcript(TOPICS))  # outside any context: no user
    assert current_context().user_id is None
    with app.session() as s:
        rows = s.exec(select(AiUsage).order_by(AiUsage.id)).all()
        old = AiUsage(provider="openai", model="gpt-5-mini", user_id=user.id, cost_usd=5.0)
        old.created_at = utcnow() - timedelta(days=1)
        s.add(old)
    assert [(r.user_id, r.job_id) for r in rows] == [(user.id, job.id), (None, None)]
    per_call = (120 * 0.25 + 60 * 2.0) / 1e6
    assert daily_cost(app, user.id) == pytest.approx(per_call)  # yesterday's 5 USD is not today's
    assert daily_cost(app, user.id, (utcnow() - timedelta(days=1)).date()) == pytest.approx(5.0)
    assert daily_totals(app) == pytest.approx({user.id: per_call, None: per_call})
