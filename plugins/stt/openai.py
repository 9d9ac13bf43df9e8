"""Speech-to-text through OpenAI's audio API (``whisper-1``, verbose_json with word and segment timestamps).

Only ``whisper-1`` returns word timings (the gpt-4o transcribe models return plain text), so it is the default.
Uploads are capped at 25 MB: longer audio (16 kHz mono WAV is ~1.9 MB per minute, so ~13 minutes) is cut at
silences into pieces under ``max_upload_mb``, each piece transcribed and its times shifted back. Where no
silence falls in the second half of a piece's allowed span, the cut is made at the limit (a word there may be
split). ``base_url`` (or ``OPENAI_BASE_URL``) points at any server with the same API (tests use a local fake;
vLLM and similar servers work too). Usage (audio seconds, estimated cost) is reported per piece.
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from clipcast import (
    ConfigError,
    InputError,
    PermanentError,
    ProgressFn,
    RetryableError,
    Segment,
    SpeechToText,
    Transcript,
    UsageRecord,
    Word,
    add_secret,
    get_logger,
    hookimpl,
    media,
    no_progress,
    scratch_prefix,
)
from clipcast.media import detect_silences

log = get_logger("clipcast.stt.openai")
MB = 1024 * 1024

# Whisper answers with language names; the Transcript contract uses ISO 639-1 codes.
LANGUAGE_CODES = {
    "english": "en", "german": "de", "french": "fr", "spanish": "es", "italian": "it", "portuguese": "pt",
    "dutch": "nl", "polish": "pl", "russian": "ru", "ukrainian": "uk", "czech": "cs", "swedish": "sv",
    "norwegian": "no", "danish": "da", "finnish": "fi", "greek": "el", "turkish": "tr", "arabic": "ar",
    "hebrew": "he", "hindi": "hi", "bengali": "bn", "urdu": "ur", "chinese": "zh", "japanese": "ja",
    "korean": "ko", "vietnamese": "vi", "thai": "th", "indonesian": "id", "malay": "ms", "romanian": "ro",
    "hungarian": "hu", "catalan": "ca", "persian": "fa", "tagalog": "tl", "swahili": "sw", "tamil": "ta",
}  # fmt: skip


def language_code(value: str | None) -> str:
    value = (value or "").strip().lower()
    return LANGUAGE_CODES.get(value, value) or "und"


def plan_pieces(duration: float, max_seconds: float, silences: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Cut ``[0, duration]`` into pieces of at most ``max_seconds``, each cut in the middle of the latest
    silence in the second half of the allowed span (or at the limit when there is none)."""
    if max_seconds <= 0:
        raise ValueError("max_seconds must be positive")
    pieces: list[tuple[float, float]] = []
    start = 0.0
    while duration - start > max_seconds:
        lo, hi = start + max_seconds / 2, start + max_seconds
        mids = [(a + b) / 2 for a, b in silences if lo <= (a + b) / 2 <= hi]
        cut = max(mids) if mids else hi
        pieces.append((start, cut))
        start = cut
    pieces.append((start, duration))
    return pieces


class OpenAISpeech(SpeechToText):
    name = "openai"
    description = "OpenAI audio API (whisper-1 with word timestamps)"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        api_key: SecretStr | None = Field(None, description="default: the OPENAI_API_KEY environment variable")
        base_url: str | None = Field(None, description="default: OPENAI_BASE_URL or https://api.openai.com/v1")
        model: str = Field("whisper-1", description="only whisper-1 returns word timestamps")
        language: str | None = Field(None, description="ISO 639-1 code; None = detect")
        prompt: str | None = Field(None, description="vocabulary hints (names, jargon)")
        timeout: float = Field(300, gt=0, description="seconds per request")
        max_retries: int = Field(2, ge=0, le=10, description="SDK retries on 429/5xx/connection errors")
        max_upload_mb: float = Field(24, gt=0, description="split audio above this (the API's cap is 25 MB)")
        usd_per_minute: float = Field(0.006, ge=0, description="for the usage estimate")

    def __init__(self, options: BaseModel | None = None) -> None:
        super().__init__(options)
        self._client: Any = None

    def cache_key(self) -> str:
        o = self.options
        return f"{self.name}:{o.model}:lang={o.language or 'auto'}:prompt={o.prompt or ''}"

    def _api_key(self) -> str:
        key = self.options.api_key.get_secret_value() if self.options.api_key else os.environ.get("OPENAI_API_KEY")
        if not key:
            raise ConfigError(
                "stt.openai needs an API key",
                "set OPENAI_API_KEY, or stt.openai.api_key: ${OPENAI_API_KEY} in the configuration",
            )
        add_secret(key)
        return key

    def client(self) -> Any:
        if self._client is None:
            import openai

            kwargs: dict[str, Any] = {
                "api_key": self._api_key(),
                "timeout": self.options.timeout,
                "max_retries": self.options.max_retries,
            }
            if self.options.base_url:
                kwargs["base_url"] = self.options.base_url
            self._client = openai.OpenAI(**kwargs)
        return self._client

    # ------------------------------------------------------------------------------------------- requests

    def _request(self, piece: Path, language: str | None) -> Any:
        import openai

        o = self.options
        kwargs: dict[str, Any] = {
            "model": o.model,
            "response_format": "verbose_json",
            "timestamp_granularities": ["word", "segment"],
        }
        if language:
            kwargs["language"] = language
        if o.prompt:
            kwargs["prompt"] = o.prompt
        attempts = o.max_retries + 1
        try:
            with open(piece, "rb") as f:
                return self.client().audio.transcriptions.create(file=(piece.name, f, "audio/wav"), **kwargs)
        except openai.AuthenticationError as exc:
            raise ConfigError(
                f"OpenAI rejected the API key (HTTP {exc.status_code}): {_detail(exc)}",
                "check stt.openai.api_key / OPENAI_API_KEY",
            )
        except openai.RateLimitError as exc:
            raise RetryableError(
                f"OpenAI speech-to-text is rate limited (HTTP 429) after {attempts} attempts: {_detail(exc)}",
                "wait and retry, or raise your OpenAI rate limits",
            )
        except openai.APIStatusError as exc:
            if exc.status_code >= 500:
                raise RetryableError(
                    f"OpenAI speech-to-text failed with HTTP {exc.status_code} after {attempts} attempts: "
                    f"{_detail(exc)}",
                    "the service is having trouble; the job can be retried later",
                )
            raise PermanentError(f"OpenAI refused the transcription request (HTTP {exc.status_code}): {_detail(exc)}")
        except openai.APITimeoutError:
            raise RetryableError(f"OpenAI speech-to-text did not answer within {o.timeout:g} s ({attempts} attempts)")
        except openai.APIConnectionError as exc:
            where = o.base_url or os.environ.get("OPENAI_BASE_URL") or "api.openai.com"
            raise RetryableError(f"cannot reach OpenAI at {where}: {exc}")

    def _to_segments(self, result: Any, offset: float) -> list[Segment]:
        raw_segments = list(getattr(result, "segments", None) or [])
        raw_words = list(getattr(result, "words", None) or [])
        if not raw_segments and (raw_words or (getattr(result, "text", "") or "").strip()):
            end = raw_words[-1].end if raw_words else float(getattr(result, "duration", 0) or 0)
            raw_segments = [_Seg(start=raw_words[0].start if raw_words else 0.0, end=end, text=result.text)]
        buckets: list[list[Word]] = [[] for _ in raw_segments]
        for w in raw_words:
            text = (w.word or "").strip()
            if not text:
                continue
            start, end = _num(w.start), _num(w.end)
            mid = (start + end) / 2 if math.isfinite(start) and math.isfinite(end) else None
            index = _segment_for(raw_segments, mid)
            buckets[index].append(Word(text=text, start=start + offset, end=end + offset))
        return [
            Segment(start=_num(s.start) + offset, end=_num(s.end) + offset, text=(s.text or "").strip(), words=words)
            for s, words in zip(raw_segments, buckets, strict=True)
        ]

    # ---------------------------------------------------------------------------------------- transcribe

    def transcribe(self, audio: Path, *, language: str | None = None, progress: ProgressFn = no_progress) -> Transcript:
        from clipcast import repair_word_timings

        language = language or self.options.language
        info = media.probe(audio)
        duration = info.duration
        limit = int(self.options.max_upload_mb * MB)
        size = audio.stat().st_size
        self.client()  # fail early on a missing key, before any splitting work
        if size <= limit:
            pieces = [(0.0, duration)]
        else:
            bytes_per_second = size / max(duration, 1e-6)
            max_seconds = (limit - 4096) / bytes_per_second * 0.98
            if max_seconds < 1:
                raise InputError(f"stt.openai.max_upload_mb ({self.options.max_upload_mb:g}) is too small to split to")
            silences = detect_silences(audio, noise_db=-35.0, min_duration=0.3)
            pieces = plan_pieces(duration, max_seconds, silences)
            log.info("openai stt: splitting audio", pieces=len(pieces), size_mb=round(size / MB, 1))
        segments: list[Segment] = []
        detected: str | None = None
        with tempfile.TemporaryDirectory(prefix=scratch_prefix("clipcast-stt")) as tmp:
            for i, (start, end) in enumerate(pieces):
                progress(i / len(pieces), f"transcribing piece {i + 1}/{len(pieces)}")
                if len(pieces) == 1:
                    piece = audio
                else:
                    piece = Path(tmp) / f"piece{i:03d}.wav"
                    _cut(audio, piece, start, end)
                    if piece.stat().st_size > limit:
                        raise InputError(f"audio piece {i + 1} is still over {self.options.max_upload_mb:g} MB")
                result = self._request(piece, language)
                detected = detected or getattr(result, "language", None)
                segments.extend(self._to_segments(result, start))
                seconds = float(getattr(result, "duration", 0) or (end - start))
                self.report_usage(
                    UsageRecord(
                        provider="openai",
                        model=self.options.model,
                        kind="stt",
                        audio_seconds=seconds,
                        cost_usd=round(seconds / 60 * self.options.usd_per_minute, 6),
                    )
                )
        progress(1.0, "transcribed")
        transcript = Transcript(
            language=language or language_code(detected),
            duration=duration,
            segments=segments,
            backend=self.name,
            model=self.options.model,
        )
        return repair_word_timings(transcript)


class _Seg:
    """A segment made up when the server sent words but no segments."""

    def __init__(self, start: float, end: float, text: str) -> None:
        self.start, self.end, self.text = start, end, text


def _num(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _segment_for(segments: list[Any], t: float | None) -> int:
    """Index of the segment containing time ``t`` (the nearest one otherwise; the last for untimed words)."""
    if t is None:
        return len(segments) - 1
    for i, s in enumerate(segments):
        if _num(s.start) <= t <= _num(s.end):
            return i
    return min(
        range(len(segments)), key=lambda i: min(abs(_num(segments[i].start) - t), abs(_num(segments[i].end) - t))
    )


def _detail(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
    return str(getattr(exc, "message", None) or exc)


def _cut(src: Path, dest: Path, start: float, end: float) -> None:
    media.run(
        [
            *("-ss", f"{start:.3f}", "-t", f"{end - start:.3f}", "-i", str(src)),
            *("-map_metadata", "-1", "-fflags", "+bitexact", "-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le"),
            str(dest),
        ],
        timeout=600,
        what="audio split",
    )


@hookimpl
def register_stt_backends(register):  # type: ignore[no-untyped-def]
    register(OpenAISpeech)
