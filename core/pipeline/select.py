"""Clip selection: candidates → the configured selector → validation that holds whatever the backend returned.

Validation (``validate_plans``) snaps start/end to word boundaries, clamps them to the media, keeps the longest
run of speech when a plan spans a long silence, forces durations into ``[min_seconds, max_seconds]``, then
(with the audio) moves each cut into the pause around it: the start ``START_PAD`` s before the speech resumes,
the end ``END_PAD`` s into the pause after the last word (a last word the recogniser stretched or cut short is
kept whole: the audio says where it ends). Plans overlapping by more than ``MAX_OVERLAP`` of the shorter one are
duplicates (the higher score wins); the rest are sorted by score, at most ``request.clips``.

Selectors that can use the audio (the heuristic measures loudness) read ``current_audio()``: the 16 kHz mono
WAV of the video being selected, or None.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Any

import structlog

from core.contracts import ClipPlan, ClipSelector, SelectionRequest, Transcript, Word
from core.errors import ClipcastError, InputError
from core.media.audio_scan import detect_silences
from core.pipeline.candidates import _END, MAX_GAP, clean_words, gather_candidates, join_words
from core.pipeline.pauses import find_pauses
from core.progress import NullReporter, Reporter
from core.usage import usage_context

# a lazy proxy: resolves the logging set-up at each call, not at import (core.logging.get_logger binds early)
log = structlog.get_logger("clipcast.select")

#: Plans overlapping by more than this share of the shorter one are duplicates.
MAX_OVERLAP = 0.1
#: Seconds of the pause kept before the first word and after the last one (at most half the pause).
START_PAD, END_PAD = 0.1, 0.25
#: Silence as the audio measures it (dBFS, seconds): words lying mostly inside such a stretch are recogniser
#: hallucinations (Whisper stretches or invents words over long pauses) and never become clip boundaries.
SILENCE_DB, SILENCE_MIN = -35.0, 1.0

_audio: ContextVar[Path | None] = ContextVar("clipcast_selection_audio", default=None)


def current_audio() -> Path | None:
    """The 16 kHz mono WAV of the video being selected (None when unknown)."""
    return _audio.get()


@contextmanager
def audio_context(path: Path | None) -> Iterator[None]:
    token = _audio.set(Path(path) if path else None)
    try:
        yield
    finally:
        _audio.reset(token)


def check_request(request: SelectionRequest) -> None:
    if request.min_seconds > request.max_seconds:
        raise InputError(
            f"clip length bounds are reversed: min {request.min_seconds:g} s > max {request.max_seconds:g} s",
            "give a minimum no longer than the maximum",
        )


# ------------------------------------------------------------------------------------------------ validation


def _containing(words: list[Word], t: float) -> int | None:
    for i, w in enumerate(words):
        if w.start <= t < w.end:
            return i
    return None


def _snap_start(words: list[Word], t: float) -> int:
    i = _containing(words, t)
    return i if i is not None else min(range(len(words)), key=lambda k: abs(words[k].start - t))


def _snap_end(words: list[Word], t: float) -> int:
    i = _containing(words, t)
    return i if i is not None else min(range(len(words)), key=lambda k: abs(words[k].end - t))


def _longest_speech_run(words: list[Word], i: int, j: int, max_gap: float) -> tuple[int, int]:
    """Within words[i..j], the run without a gap over ``max_gap`` s that lasts longest."""
    best, run_start = (i, i), i
    for k in range(i, j + 1):
        if k > i and words[k].start - words[k - 1].end > max_gap:
            run_start = k
        if words[k].end - words[run_start].start > words[best[1]].end - words[best[0]].start:
            best = (run_start, k)
    return best


def _fit_bounds(words: list[Word], i: int, j: int, request: SelectionRequest) -> tuple[int, int]:
    """Move the end (then the start) word by word until the duration lies in bounds, preferring sentence ends."""
    lo, hi = request.min_seconds, request.max_seconds

    def dur(a: int, b: int) -> float:
        return words[b].end - words[a].start

    if dur(i, j) > hi:
        fits = [k for k in range(i, j + 1) if dur(i, k) <= hi]
        if not fits:  # one word longer than the maximum: keep it alone
            return i, i
        ends = [k for k in fits if dur(i, k) >= lo and _END.search(words[k].text.strip())]
        return i, (ends[-1] if ends else fits[-1])
    if dur(i, j) < lo:
        k = j
        while k + 1 < len(words) and dur(i, k) < lo:
            k += 1
        # prefer running on to the next sentence end while still within the maximum
        m = k
        while m < len(words) and dur(i, m) <= hi:
            if dur(i, m) >= lo and _END.search(words[m].text.strip()):
                k = m
                break
            m += 1
        j = k
        while i > 0 and dur(i, j) < lo:  # at the end of the media: grow backwards
            i -= 1
    return i, j


def validate_plans(
    plans: list[ClipPlan],
    transcript: Transcript,
    request: SelectionRequest,
    *,
    media_duration: float | None = None,
    max_gap: float = MAX_GAP,
) -> list[ClipPlan]:
    """Make any backend's plans safe to render (see the module docstring). Never raises on odd values."""
    words = clean_words(transcript)
    limit = media_duration or transcript.duration or (words[-1].end if words else 0.0)
    pauses = find_pauses(current_audio())
    fixed: list[ClipPlan] = []
    for plan in plans:
        start = min(max(0.0, float(plan.start)), limit)
        end = min(max(0.0, float(plan.end)), limit)
        if end < start:
            start, end = end, start
        if words:
            i, j = _snap_start(words, start), _snap_end(words, end)
            if j < i:
                j = i
            i, j = _longest_speech_run(words, i, j, max_gap)
            i, j = _fit_bounds(words, i, j, request)
            start, end = cut_points(words, i, j, pauses, limit)
            text = join_words(words[i : j + 1])
        else:
            end = min(end, start + request.max_seconds)
            text = plan.text
        if end - start <= 0:
            continue
        fixed.append(plan.model_copy(update={"start": round(start, 3), "end": round(end, 3), "text": text}))
    fixed.sort(key=lambda p: p.score, reverse=True)
    kept: list[ClipPlan] = []
    for plan in fixed:
        if all(overlap_share(plan, k) <= MAX_OVERLAP for k in kept):
            kept.append(plan)
        if len(kept) >= request.clips:
            break
    return kept


def cut_points(
    words: list[Word], i: int, j: int, pauses: list[tuple[float, float]], limit: float
) -> tuple[float, float]:
    """Start and end (s) of a clip from words[i] to words[j], placed in the audio's pauses (module docstring);
    the word times as they are where the audio shows no pause (or is unknown)."""
    first, last = words[i], words[j]
    k = i - 1
    while k >= 0 and (words[k].start + words[k].end) / 2 >= first.start - 0.05:  # zero-length words share a time
        k -= 1
    lo = (words[k].start + words[k].end) / 2 if k >= 0 else 0.0
    before = [(a, b) for a, b in pauses if lo <= b <= first.start + 0.3]
    start = first.start
    if before:
        a, b = max(before, key=lambda p: p[1])
        start = max(a, b - min(START_PAD, (b - a) / 2))
    hi = (words[j + 1].start + words[j + 1].end) / 2 if j + 1 < len(words) else limit
    after = [(a, b) for a, b in pauses if last.start + 0.05 <= a <= hi]
    end = min(last.end, limit)
    if after:
        a, b = min(after)
        end = a + min(END_PAD, (b - a) / 2)
    return max(0.0, start), min(max(end, start), limit)


def overlap_share(a: Any, b: Any) -> float:
    """How much of the shorter of two time spans (anything with ``start`` and ``end``) the other one covers."""
    inter = min(a.end, b.end) - max(a.start, b.start)
    shorter = min(a.end - a.start, b.end - b.start)
    return max(0.0, inter) / shorter if shorter > 0 else 1.0


def drop_words_in_silence(
    transcript: Transcript, silences: list[tuple[float, float]], share: float = 0.6
) -> Transcript:
    """A copy without the words that lie at least ``share`` inside the given silent stretches (start, end s) and
    start inside one (recogniser inventions). A word that starts in speech and was stretched into the silence is
    real (a sentence's last word, held): it stays, ending where the silence starts."""
    if not silences:
        return transcript

    def silent(w: Word) -> bool:
        length = max(w.end - w.start, 1e-3)
        inside = sum(max(0.0, min(w.end, b) - max(w.start, a)) for a, b in silences)
        return inside / length >= share and any(a <= w.start + 0.05 < b for a, b in silences)

    def trimmed(w: Word) -> Word:
        for a, _b in silences:
            if w.start < a < w.end:
                return w.model_copy(update={"end": round(a, 3)})
        return w

    segments = []
    for seg in transcript.segments:
        words = [trimmed(w) for w in seg.words if not silent(w)]
        if words or not seg.words:
            segments.append(seg.model_copy(update={"words": words}))
    return transcript.model_copy(update={"segments": segments})


def speech_only(transcript: Transcript, audio: Path | None) -> Transcript:
    """The transcript without words the audio shows as silence (see ``SILENCE_DB``); as is without audio."""
    if audio is None:
        return transcript
    try:
        silences = _silences(str(audio), Path(audio).stat().st_mtime)
    except (ClipcastError, OSError) as exc:  # selection still works from the words alone
        log.warning("silence detection failed; using word times as they are", error=str(exc))
        return transcript
    return drop_words_in_silence(transcript, silences)


@lru_cache(maxsize=8)
def _silences(path: str, _mtime: float) -> list[tuple[float, float]]:
    return detect_silences(Path(path), noise_db=SILENCE_DB, min_duration=SILENCE_MIN)


# ----------------------------------------------------------------------------------------------- the stage


def select_clips(
    app: Any,
    video: Any,
    transcript: Transcript,
    request: SelectionRequest,
    *,
    backend: str | None = None,
    reporter: Reporter | None = None,
) -> list[ClipPlan]:
    """Gather candidates (core + ``clip_candidates`` plugins), let the selector score them, validate the result.

    ``video`` is the ``models.Video`` row (its id tags AI usage; its audio feeds loudness), or None.
    """
    return run_selection(
        app,
        app.selector(backend),
        transcript,
        request,
        audio=audio_path(app, video),
        duration=getattr(video, "duration", None),
        user_id=getattr(video, "user_id", None),
        video_id=getattr(video, "id", None),
        reporter=reporter,
    )


def run_selection(
    app: Any,
    selector: ClipSelector,
    transcript: Transcript,
    request: SelectionRequest,
    *,
    audio: Path | None = None,
    duration: float | None = None,
    user_id: int | None = None,
    video_id: int | None = None,
    reporter: Reporter | None = None,
) -> list[ClipPlan]:
    """The select stage for any selector instance and audio file (``clipcast eval`` runs it without a video row)."""
    reporter = reporter or NullReporter()
    check_request(request)
    reporter.progress(0, "finding candidate windows")
    transcript = speech_only(transcript, audio)
    with audio_context(audio):
        candidates = gather_candidates(app.plugins, transcript, request)
    reporter.check_cancelled()
    log.debug("selecting clips", backend=selector.name, candidates=len(candidates), clips=request.clips)
    reporter.progress(10, f"scoring {len(candidates)} candidates with {selector.name}")
    with audio_context(audio), usage_context(user_id=user_id, video_id=video_id):
        try:
            plans = selector.select(transcript, candidates, request)
        except ClipcastError:
            raise
        except Exception as exc:
            raise ClipcastError(
                f"clip selection with the {selector.name!r} backend failed: {exc!r}",
                "check that backend's configuration, or run with --llm heuristic",
            ) from exc
        result = validate_plans(list(plans), transcript, request, media_duration=duration or transcript.duration)
    reporter.progress(100, f"{len(result)} clips selected")
    return result


def audio_path(app: Any, video: Any) -> Path | None:
    """The local 16 kHz WAV of a video row, when it was extracted (``ensure_audio``) and storage is local."""
    key = getattr(video, "audio_key", None)
    if not key:
        return None
    try:
        return app.storage.local_path(key)
    except Exception:
        return None
