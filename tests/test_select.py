"""Validation of whatever a selector returns, and the select stage around it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest
from test_candidates import TOPICS, make_transcript

from core.app import Clipcast
from core.config import BackendSection, Settings
from core.contracts import Candidate, ClipPlan, ClipSelector, SelectionRequest, Summary, Transcript
from core.errors import ClipcastError, InputError
from core.hookspecs import hookimpl
from core.pipeline.candidates import clean_words
from core.pipeline.select import current_audio, drop_words_in_silence, select_clips, validate_plans
from core.plugins import get_manager

REQUEST = SelectionRequest(clips=3, min_seconds=3, max_seconds=8)


@pytest.fixture
def transcript() -> Transcript:
    return make_transcript(TOPICS)


def plan(start: float, end: float, score: float = 50) -> ClipPlan:
    return ClipPlan(start=start, end=end, score=score)


def test_times_snap_to_words_and_clamp_to_the_media(transcript: Transcript) -> None:
    words = clean_words(transcript)
    starts, ends = {w.start for w in words}, {w.end for w in words}
    raw = [plan(-12, 5.1, 90), plan(words[16].start + 0.1, words[26].end - 0.05, 80), plan(20, 500, 70)]
    out = validate_plans(raw, transcript, REQUEST)
    assert len(out) == 3
    for p in out:
        assert p.start in starts and p.end in ends
        assert 0 <= p.start < p.end <= transcript.duration
        assert 3 <= p.duration <= 8
        assert p.text and p.text.split()[0] in {w.text.strip() for w in words}
    assert out[0].start == words[0].start  # -12 clamps to 0, then the first word
    assert out[1].start == words[16].start  # a time inside a word snaps to that word's start


def test_durations_are_forced_into_bounds(transcript: Transcript) -> None:
    words = clean_words(transcript)
    short = plan(words[40].start, words[41].end, 40)  # ~0.6 s
    long = plan(words[0].start, words[-1].end, 60)  # the whole talk
    out = validate_plans([short, long], transcript, SelectionRequest(clips=5, min_seconds=3, max_seconds=8))
    assert len(out) == 2
    assert all(3 <= p.duration <= 8 for p in out), [p.duration for p in out]
    # a long plan is cut back to a sentence end when one lies inside the bounds
    cut = next(p for p in out if p.start == words[0].start)
    assert cut.text.endswith(".")


def test_at_the_end_of_the_media_a_short_plan_grows_backwards(transcript: Transcript) -> None:
    words = clean_words(transcript)
    out = validate_plans([plan(words[-1].start, words[-1].end + 30)], transcript, REQUEST)
    assert out[0].end == words[-1].end and out[0].duration >= 3


def test_overlaps_above_a_tenth_keep_the_higher_score(transcript: Transcript) -> None:
    """Clips must be distinct moments: overlapping by more than 10% of the shorter one is a duplicate."""
    words = clean_words(transcript)
    a = plan(words[0].start, words[15].end, 60)
    b = plan(words[3].start, words[17].end, 80)  # mostly the same stretch, better score
    c = plan(words[17].start, words[40].end, 40)  # shares one word with b (< 10%)
    d = plan(words[12].start, words[30].end, 70)  # overlaps b by a quarter of the shorter: a duplicate
    out = validate_plans([a, b, c, d], transcript, SelectionRequest(clips=5, min_seconds=1, max_seconds=30))
    assert [p.score for p in out] == [80, 40]


def test_sorted_by_score_and_capped(transcript: Transcript) -> None:
    words = clean_words(transcript)
    raw = [plan(words[i].start, words[i + 9].end, score=i) for i in range(0, 60, 10)]
    out = validate_plans(raw, transcript, SelectionRequest(clips=2, min_seconds=1, max_seconds=30))
    assert [p.score for p in out] == [50, 40]


def test_a_plan_across_a_long_silence_keeps_the_longer_speech() -> None:
    tr = make_transcript(["Short bit here.", "This part is much longer and keeps going for a while."], part_gap=10)
    words = clean_words(tr)
    out = validate_plans([plan(0, tr.duration, 70)], tr, SelectionRequest(clips=1, min_seconds=1, max_seconds=60))
    assert out[0].start == words[3].start and out[0].text.startswith("This part")


def test_no_words_means_clamping_only() -> None:
    tr = Transcript(language="en", duration=10.0, segments=[])
    out = validate_plans([plan(-1, 50)], tr, SelectionRequest(clips=1, min_seconds=1, max_seconds=5))
    assert (out[0].start, out[0].end) == (0.0, 5.0)


def test_words_inside_silence_are_dropped(transcript: Transcript) -> None:
    words = clean_words(transcript)
    silent = (words[4].start - 0.01, words[6].end + 0.01)
    cleaned = drop_words_in_silence(transcript, [silent])
    assert len(cleaned.words) == len(words) - 3
    assert transcript.words == words  # the original is untouched


def test_speech_shorter_than_the_minimum_gives_no_clips(app: Clipcast, transcript: Transcript) -> None:
    assert select_clips(app, None, transcript, SelectionRequest(min_seconds=45, max_seconds=60)) == []


def test_reversed_bounds_are_a_clear_error(app: Clipcast, transcript: Transcript) -> None:
    with pytest.raises(InputError, match=r"min 20 s > max 10 s"):
        select_clips(app, None, transcript, SelectionRequest(min_seconds=20, max_seconds=10))


class Sloppy(ClipSelector):
    """A third-party selector that returns out-of-range, overlapping, unsorted plans."""

    name = "sloppy"
    seen: ClassVar[dict[str, Any]] = {}

    def select(self, transcript: Transcript, candidates: list[Candidate], request: SelectionRequest) -> list:
        Sloppy.seen.update(candidates=candidates, audio=current_audio())
        return [plan(-5, 4, 10), plan(0.2, 4.1, 30), plan(15.3, 99, 99), plan(8, 8, 50)]

    def summarize(self, transcript: Transcript) -> Summary:
        return Summary(summary="")


class Broken(Sloppy):
    name = "broken"

    def select(self, transcript: Transcript, candidates: list[Candidate], request: SelectionRequest) -> list:
        raise KeyError("boom")


class SloppyPlugin:
    @hookimpl
    def register_llm_backends(self, register: Any) -> None:
        register(Sloppy)
        register(Broken)


def test_any_backend_output_is_validated(tmp_path: Path, transcript: Transcript) -> None:
    get_manager().pm.register(SloppyPlugin(), name="sloppy-plugin")
    app = Clipcast(Settings(data_dir=tmp_path / "d", llm=BackendSection(backend="sloppy")))
    out = select_clips(app, None, transcript, REQUEST)
    assert Sloppy.seen["candidates"] and Sloppy.seen["audio"] is None
    assert [p.score for p in out] == [99, 50, 30]  # sorted; the 10 duplicate of the 30 is gone
    words = clean_words(transcript)
    for p in out:
        assert p.start in {w.start for w in words} and p.end in {w.end for w in words}
        assert 3 <= p.duration <= 8 and p.end <= transcript.duration
    with pytest.raises(ClipcastError, match=r"clip selection with the 'broken' backend failed: KeyError"):
        select_clips(app, None, transcript, REQUEST, backend="broken")


def _tone_wav(path: Path, duration: float, spans: list[tuple[float, float]]) -> Path:
    """16 kHz speech-like audio: a tone inside ``spans``, digital silence elsewhere."""
    import wave

    import numpy as np

    rate = 16000
    t = np.arange(int(duration * rate)) / rate
    on = np.zeros_like(t, dtype=bool)
    for a, b in spans:
        on |= (t >= a) & (t < b)
    samples = (np.where(on, 0.4, 0.0) * np.sin(2 * np.pi * 180 * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return path


def test_the_last_word_is_kept_whole_and_cuts_sit_in_pauses(tmp_path: Path) -> None:
    """Defect: "...it changed my whole" lost "year." when the recogniser stretched it into the pause."""
    from core.contracts import Segment, Word
    from core.pipeline.pauses import find_pauses, in_continuous_speech
    from core.pipeline.select import END_PAD, audio_context, speech_only

    texts = ["That", "one", "trip", "changed", "my", "whole", "year.", "Then", "we", "moved."]
    times = [(1.0 + 0.4 * i, 1.35 + 0.4 * i) for i in range(7)] + [(6.0, 6.3), (6.4, 6.7), (6.8, 7.2)]
    speech = [(1.0, 3.75), (6.0, 7.2)]  # "year." is really spoken until 3.75 s, then 2.25 s of silence
    words = [Word(text=f" {w}", start=a, end=b) for w, (a, b) in zip(texts, times, strict=True)]
    words[6] = words[6].model_copy(update={"end": 5.9})  # the recogniser stretched "year." over the pause
    tr = Transcript(language="en", duration=8.0, segments=[Segment(start=1.0, end=7.2, text="", words=words)])
    wav = _tone_wav(tmp_path / "a.wav", 8.0, speech)
    kept = speech_only(tr, wav)
    assert [w.text.strip() for w in kept.words][6] == "year."  # stretched, not invented: it stays
    assert kept.words[6].end == pytest.approx(3.75, abs=0.05)  # ending where the audio's silence starts
    request = SelectionRequest(clips=1, min_seconds=1, max_seconds=4)
    with audio_context(wav):
        out = validate_plans([plan(1.0, 3.5, 80)], kept, request)  # a backend that stopped inside "year."
    pauses = find_pauses(wav)
    assert out[0].text.endswith("whole year.")
    assert 3.75 <= out[0].end <= 3.75 + END_PAD + 0.02  # after the whole word, a short pad of the pause
    assert 0.85 <= out[0].start <= 1.0  # just before the first word, inside the leading pause
    assert not in_continuous_speech(out[0].start, pauses, end=8) and not in_continuous_speech(out[0].end, pauses, end=8)
