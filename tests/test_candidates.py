"""Candidate windows: sentence-aligned, within bounds, no long silences; plugins add their own."""

from __future__ import annotations

import pytest

from core.contracts import Candidate, Segment, SelectionRequest, Transcript, Word
from core.hookspecs import hookimpl
from core.pipeline.candidates import core_candidates, gather_candidates, split_sentences
from core.plugins import get_manager

TOPICS = [
    "The committee met on Tuesday to review the schedule. The meeting covered routine items. Minutes were filed.",
    "Why do ninety percent of people fail at learning a language? You are making one huge mistake. "
    "Stop memorizing word lists and start speaking from day one.",
    "The printer on the second floor has new toner. Paper is stored in the cabinet. Return the key when done.",
]


def make_transcript(
    parts: list[str], *, wps: float = 3.0, sentence_gap: float = 0.4, part_gap: float = 1.2, start: float = 0.0
) -> Transcript:
    """A Whisper-like transcript: one segment per sentence, words evenly timed at ``wps`` words per second."""
    t = start
    segments = []
    for p, part in enumerate(parts):
        sentences = [s.strip() for s in part.replace("? ", "?|").replace(". ", ".|").split("|") if s.strip()]
        for k, sentence in enumerate(sentences):
            words = []
            seg_start = t
            for token in sentence.split():
                words.append(Word(text=f" {token}", start=round(t, 3), end=round(t + 0.8 / wps, 3)))
                t += 1 / wps
            segments.append(Segment(start=seg_start, end=words[-1].end, text=" " + sentence, words=words))
            t = words[-1].end + (sentence_gap if k < len(sentences) - 1 else 0)
        if p < len(parts) - 1:
            t += part_gap
    return Transcript(language="en", duration=round(t + 0.5, 3), segments=segments, backend="test")


@pytest.fixture
def transcript() -> Transcript:
    return make_transcript(TOPICS)


def test_sentences_follow_punctuation_and_pauses() -> None:
    tr = make_transcript(["one two three four", "five six. seven eight"], part_gap=1.5)
    sentences = split_sentences(tr)
    assert [s.text for s in sentences] == ["one two three four", "five six.", "seven eight"]
    assert [s.complete for s in sentences] == [False, True, False]


def test_windows_start_and_end_on_sentences_within_bounds(transcript: Transcript) -> None:
    request = SelectionRequest(min_seconds=3, max_seconds=12)
    sentences = split_sentences(transcript)
    starts = {s.start for s in sentences}
    ends = {s.end for s in sentences if s.complete}
    cands = core_candidates(transcript, request)
    assert len(cands) >= 8
    for c in cands:
        assert 3 <= c.duration <= 12, c
        assert c.start in starts and c.end in ends, c
        assert c.source == "core"
    # overlaps are allowed: some sentence starts more than one window
    assert len({c.start for c in cands}) < len(cands)
    # the hook sentence starts at least one window, and its text is carried
    assert any(c.text.startswith("Why do ninety percent") for c in cands)


def test_windows_never_span_a_long_silence() -> None:
    tr = make_transcript(["Hello there. This is the start.", "And this comes much later. Really late."], part_gap=20)
    cands = core_candidates(tr, SelectionRequest(min_seconds=1, max_seconds=60))
    assert cands
    silence_start = split_sentences(tr)[1].end
    silence_end = split_sentences(tr)[2].start
    for c in cands:
        assert c.end <= silence_start or c.start >= silence_end, c


def test_run_on_speech_without_sentence_ends_still_gets_windows() -> None:
    tr = make_transcript([" ".join(f"word{i}" for i in range(120))])  # 40 s, no punctuation
    cands = core_candidates(tr, SelectionRequest(min_seconds=5, max_seconds=10))
    assert cands and all(5 <= c.duration <= 10 for c in cands)


def test_clip_candidates_hook_adds_plugin_windows(transcript: Transcript) -> None:
    class ChatReplay:
        @hookimpl
        def clip_candidates(self, transcript: Transcript, request: SelectionRequest) -> list:
            return [Candidate(start=5.0, end=9.5), {"start": 1.0, "end": 4.0, "source": "chat"}]

    manager = get_manager()
    manager.pm.register(ChatReplay(), name="chat-replay")
    request = SelectionRequest(min_seconds=3, max_seconds=12)
    cands = gather_candidates(manager, transcript, request)
    extra = [c for c in cands if c.source != "core"]
    assert {(c.start, c.end, c.source) for c in extra} == {(5.0, 9.5, "chat-replay"), (1.0, 4.0, "chat")}
    assert len(cands) == len(core_candidates(transcript, request)) + 2


def test_a_broken_candidates_plugin_is_skipped(transcript: Transcript) -> None:
    class Broken:
        @hookimpl
        def clip_candidates(self, transcript: Transcript) -> list:
            return [{"start": "soon"}]

    manager = get_manager()
    manager.pm.register(Broken(), name="broken-candidates")
    request = SelectionRequest(min_seconds=3, max_seconds=12)
    assert len(gather_candidates(manager, transcript, request)) == len(core_candidates(transcript, request))
