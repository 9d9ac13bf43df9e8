"""The OpenAI speech-to-text backend against a local fake of /v1/audio/transcriptions (verbose_json)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.app import Clipcast
from core.config import BackendSection, Settings
from core.contracts import UsageRecord
from core.errors import ConfigError, RetryableError
from core.logging import MASK, redact
from core.pipeline.ingest import ingest
from core.pipeline.transcribe import transcribe
from plugins.stt.openai import OpenAISpeech, language_code, plan_pieces
from tests.fakes.openai_audio import FakeOpenAIAudio

KEY = "sk-test-0123456789abcdef"


def _tones(dest: Path, seconds: int, *, video: bool = False) -> Path:
    """3 s of tone, then 1 s of silence, repeated: silences at 3-4, 7-8, 11-12 s..."""
    tone = f"aevalsrc='0.5*sin(2*PI*440*t)*lt(mod(t,4),3)':s=16000:d={seconds}"
    cmd = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", tone]
    if video:
        cmd += ["-f", "lavfi", "-i", f"color=c=blue:size=160x120:rate=10:d={seconds}", "-c:v", "libx264"]
        cmd += ["-preset", "ultrafast", "-c:a", "aac", "-shortest"]
    else:
        cmd += ["-ac", "1", "-c:a", "pcm_s16le"]
    subprocess.run([*cmd, str(dest)], check=True, capture_output=True, timeout=60)
    return dest


@pytest.fixture(scope="module")
def wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _tones(tmp_path_factory.mktemp("openai") / "tones.wav", 12)


@pytest.fixture
def fake(ffmpeg: str) -> Iterator[FakeOpenAIAudio]:
    with FakeOpenAIAudio() as server:
        yield server


def make(fake: FakeOpenAIAudio, **options: object) -> tuple[OpenAISpeech, list[UsageRecord]]:
    opts = {"api_key": KEY, "base_url": fake.base_url, "max_retries": 2, "timeout": 20} | options
    backend = OpenAISpeech(OpenAISpeech.Options.model_validate(opts))
    usage: list[UsageRecord] = []
    backend.usage_sink = usage.append
    return backend, usage


def test_good_output_maps_words_segments_language_and_usage(fake: FakeOpenAIAudio, wav: Path) -> None:
    backend, usage = make(fake)
    transcript = backend.transcribe(wav)

    assert len(fake.requests) == 1
    fields = fake.requests[0]["fields"]
    assert fields["model"] == ["whisper-1"]
    assert fields["response_format"] == ["verbose_json"]
    assert sorted(fields["timestamp_granularities[]"]) == ["segment", "word"]
    assert "language" not in fields
    assert fake.requests[0]["authorization"] == f"Bearer {KEY}"

    assert transcript.language == "en"  # "english" from the API, as an ISO code
    assert transcript.backend == "openai" and transcript.model == "whisper-1"
    assert transcript.duration == pytest.approx(12.0, abs=0.05)
    words = transcript.words
    assert [w.text for w in words[:3]] == ["r0w0", "r0w1", "r0w2"]
    assert len(words) == 23  # one every 0.5 s from 0.2 s while the word fits in 12 s
    assert words[1].start == pytest.approx(0.7) and words[1].end == pytest.approx(1.1)
    for seg in transcript.segments:  # each word landed in the segment that contains it
        assert seg.words and all(seg.start <= w.start and w.end <= seg.end for w in seg.words)
        assert seg.text == " ".join(w.text for w in seg.words)

    assert len(usage) == 1
    assert usage[0].kind == "stt" and usage[0].provider == "openai" and usage[0].model == "whisper-1"
    assert usage[0].audio_seconds == pytest.approx(12.0, abs=0.05)
    assert usage[0].cost_usd == pytest.approx(12.0 / 60 * 0.006, rel=0.01)
    assert redact(f"key={KEY}") == f"key={MASK}"  # the key is registered with the log redactor


def test_language_is_sent_when_configured(fake: FakeOpenAIAudio, wav: Path) -> None:
    backend, _ = make(fake, language="de")
    transcript = backend.transcribe(wav)
    assert fake.requests[0]["fields"]["language"] == ["de"]
    assert transcript.language == "de"


def test_rate_limit_then_success(fake: FakeOpenAIAudio, wav: Path) -> None:
    fake.script((429, "Rate limit reached for whisper-1"), "ok")
    backend, _ = make(fake)
    transcript = backend.transcribe(wav)
    assert len(fake.requests) == 2
    assert transcript.words[0].text == "r1w0"  # the words of the second (successful) request


def test_persistent_server_error_is_a_clear_retryable_error(fake: FakeOpenAIAudio, wav: Path) -> None:
    fake.script(*[(500, "The server had an error while processing your request")] * 5)
    backend, usage = make(fake, max_retries=2)
    with pytest.raises(RetryableError) as info:
        backend.transcribe(wav)
    assert len(fake.requests) == 3
    assert str(info.value).startswith(
        "OpenAI speech-to-text failed with HTTP 500 after 3 attempts: The server had an error"
    )
    assert usage == []


def test_rejected_key_and_missing_key(fake: FakeOpenAIAudio, wav: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    backend, _ = make(fake, api_key="bad-key-000000")
    with pytest.raises(ConfigError, match=r"OpenAI rejected the API key \(HTTP 401\): Incorrect API key provided"):
        backend.transcribe(wav)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    backend, _ = make(fake, api_key=None)
    with pytest.raises(ConfigError, match=r"stt\.openai needs an API key"):
        backend.transcribe(wav)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    backend, _ = make(fake, api_key=None)
    assert backend.transcribe(wav).words


def test_long_audio_is_split_at_silences_and_rejoined(fake: FakeOpenAIAudio, wav: Path) -> None:
    # 12 s of 16 kHz mono WAV is ~384 KB; a 0.15 MB limit allows ~4.7 s pieces.
    backend, usage = make(fake, max_upload_mb=0.15)
    transcript = backend.transcribe(wav)

    assert len(fake.requests) == 3
    limit = int(0.15 * 1024 * 1024)
    assert all(0 < r["file_bytes"] <= limit for r in fake.requests)
    # Cuts fall in the silences (3-4 s and 7-8 s), so the pieces are ~3.5, ~4 and ~4.5 s long.
    durations = [r["duration"] for r in fake.requests]
    assert durations == pytest.approx([3.5, 4.0, 4.5], abs=0.1)
    assert sum(durations) == pytest.approx(12.0, abs=0.1)
    words = transcript.words
    first_of_piece = {w.text: w.start for w in words if w.text.endswith("w0")}
    assert first_of_piece["r0w0"] == pytest.approx(0.2, abs=0.01)
    assert first_of_piece["r1w0"] == pytest.approx(3.5 + 0.2, abs=0.1)  # shifted by the piece's start
    assert first_of_piece["r2w0"] == pytest.approx(7.5 + 0.2, abs=0.1)
    starts = [w.start for w in words]
    assert starts == sorted(starts) and words[-1].end <= 12.0
    assert len(usage) == 3 and sum(u.audio_seconds for u in usage) == pytest.approx(12.0, abs=0.1)


def test_segments_without_words_get_interpolated_words(fake: FakeOpenAIAudio, wav: Path) -> None:
    fake.script("no_words")
    backend, _ = make(fake)
    transcript = backend.transcribe(wav)
    assert len(transcript.words) == 23
    for seg in transcript.segments:
        assert [w.text for w in seg.words] == seg.text.split()
        assert seg.words[0].start == pytest.approx(seg.start) and seg.words[-1].end == pytest.approx(seg.end)
        for a, b in zip(seg.words, seg.words[1:], strict=False):
            assert a.start < a.end == pytest.approx(b.start)


def test_plan_pieces() -> None:
    assert plan_pieces(10, 20, []) == [(0.0, 10)]
    assert plan_pieces(25, 10, []) == [(0.0, 10.0), (10.0, 20.0), (20.0, 25)]  # no silence: cut at the limit
    # The latest silence in the second half of the span wins; one in the first half is ignored.
    assert plan_pieces(25, 10, [(2, 3), (6, 7), (8, 9)]) == [(0.0, 8.5), (8.5, 18.5), (18.5, 25)]


def test_language_names_become_codes() -> None:
    assert language_code("English") == "en"
    assert language_code("german") == "de"
    assert language_code("xx") == "xx"
    assert language_code(None) == "und"


def test_pipeline_uses_openai_backend_and_caches(fake: FakeOpenAIAudio, tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        stt=BackendSection.model_validate(
            {"backend": "openai", "openai": {"api_key": KEY, "base_url": fake.base_url, "max_retries": 0}}
        ),
    )
    app = Clipcast(settings)
    video = ingest(app, _tones(tmp_path / "tones.mp4", 6, video=True))
    first = transcribe(app, video)
    assert len(fake.requests) == 1 and first.backend == "openai"
    again = transcribe(app, video)
    assert len(fake.requests) == 1  # served from the transcript cache
    assert again == first
    assert video.transcript_id is not None
