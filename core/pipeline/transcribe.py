"""Speech-to-text stage: the video's audio → a timed ``contracts.Transcript``, cached so it runs once.

The cache key is sha256(audio sha256 + backend.cache_key() + requested language): re-running the pipeline, or
re-rendering with other caption styles, never re-transcribes; changing the model or its options does. The
result is stored in the ``transcript`` table and linked from ``video.transcript_id``.

Language: pass ``language`` (ISO 639-1, e.g. "de") or set the backend's ``language`` option; otherwise the
backend detects it. English-only models (names ending ``.en``, like the bundled tiny.en) only transcribe
English; other languages need a multilingual model (e.g. ``stt.faster-whisper.model: small``).
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from core import models
from core.contracts import Segment, Transcript, Word
from core.logging import get_logger
from core.pipeline.ingest import ensure_audio
from core.progress import NullReporter, Reporter

log = get_logger("clipcast.transcribe")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def cache_key(audio_sha256: str, backend_key: str, language: str | None) -> str:
    raw = f"{audio_sha256}\n{backend_key}\nlanguage={language or 'auto'}"
    return hashlib.sha256(raw.encode()).hexdigest()


# ------------------------------------------------------------------------------------------ word timings


def _timed(word: Word) -> bool:
    return math.isfinite(word.start) and math.isfinite(word.end) and 0 <= word.start <= word.end


def _spread(words: list[Word], left: float, right: float) -> list[Word]:
    """Give ``words`` consecutive times between ``left`` and ``right``, in proportion to their length."""
    right = max(right, left)
    weights = [max(1, len(w.text.strip())) for w in words]
    total = sum(weights)
    out, t = [], left
    for w, weight in zip(words, weights, strict=True):
        span = (right - left) * weight / total
        out.append(w.model_copy(update={"start": round(t, 3), "end": round(t + span, 3)}))
        t += span
    return out


def repair_word_timings(transcript: Transcript) -> Transcript:
    """Interpolate times for words that came back without valid ones (NaN, negative, end before start), and
    create words for segments that have text but none, spread over the segment in proportion to word length.

    Untimed words get the gap between their timed neighbours (or the segment bounds). Valid times are kept.
    """
    segments: list[Segment] = []
    for seg in transcript.segments:
        words = list(seg.words)
        if not words and seg.text.strip():
            words = [Word(text=t, start=math.nan, end=math.nan) for t in seg.text.split()]
        timed = [w for w in words if _timed(w)]
        seg_start = seg.start if math.isfinite(seg.start) else (timed[0].start if timed else 0.0)
        seg_end = seg.end if math.isfinite(seg.end) else (timed[-1].end if timed else seg_start)
        fixed: list[Word] = []
        i = 0
        while i < len(words):
            if _timed(words[i]):
                fixed.append(words[i])
                i += 1
                continue
            j = i
            while j < len(words) and not _timed(words[j]):
                j += 1
            left = fixed[-1].end if fixed else seg_start
            right = words[j].start if j < len(words) else seg_end
            fixed.extend(_spread(words[i:j], left, right))
            i = j
        segments.append(seg.model_copy(update={"start": seg_start, "end": max(seg_end, seg_start), "words": fixed}))
    return transcript.model_copy(update={"segments": segments})


# ------------------------------------------------------------------------------------------------ the stage


def _cached(app: Any, key: str) -> models.Transcript | None:
    with app.session() as s:
        return s.exec(select(models.Transcript).where(models.Transcript.cache_key == key)).first()


def _link(app: Any, video: models.Video, transcript_id: int | None) -> None:
    if video.id is None or transcript_id is None:
        return
    with app.session() as s:
        row = s.get(models.Video, video.id)
        if row is not None and row.transcript_id != transcript_id:
            row.transcript_id = transcript_id
            s.add(row)
    video.transcript_id = transcript_id


def transcribe(
    app: Any,
    video: models.Video,
    *,
    backend: str | None = None,
    language: str | None = None,
    reporter: Reporter | None = None,
) -> Transcript:
    """The video's transcript from the configured (or named) speech-to-text backend, from cache when known.

    Cancellation: the reporter is checked at every progress update the backend sends (between segments).
    """
    reporter = reporter or NullReporter()
    stt = app.stt(backend)
    audio = ensure_audio(app, video, reporter=reporter, warm=stt.warm)
    audio_sha = file_sha256(audio)
    key = cache_key(audio_sha, stt.cache_key(), language)
    row = _cached(app, key)
    if row is not None:
        log.info("transcript from cache", video_id=video.id, backend=stt.name, transcript_id=row.id)
        _link(app, video, row.id)
        return Transcript.model_validate(row.data)

    reporter.stage("transcribe")
    reporter.check_cancelled()

    def progress(fraction: float, message: str) -> None:
        reporter.check_cancelled()
        reporter.progress(max(0.0, min(100.0, fraction * 100)), message or "transcribing")

    result = stt.transcribe(audio, language=language, progress=progress)
    result = repair_word_timings(result)
    if not result.backend:
        result = result.model_copy(update={"backend": stt.name})
    row = models.Transcript(
        cache_key=key,
        audio_sha256=audio_sha,
        backend=result.backend,
        model=result.model,
        language=result.language,
        duration=result.duration,
        data=result.model_dump(mode="json"),
    )
    try:
        with app.session() as s:
            s.add(row)
            s.flush()
            s.refresh(row)
    except IntegrityError:  # another worker finished the same transcript first: use theirs
        row = _cached(app, key)
        assert row is not None
    _link(app, video, row.id)
    reporter.progress(100.0, "transcribed")
    log.info(
        "transcribed",
        video_id=video.id,
        backend=result.backend,
        model=result.model,
        language=result.language,
        words=len(result.words),
    )
    return result
