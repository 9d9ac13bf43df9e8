"""Silence/filler cuts and the re-timing of words onto the cut clip."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from core.contracts import Word
from core.media.audio_scan import Levels
from core.media.cuts import Timeline, keep_segments, without_fillers
from core.media.filler_edges import phrases


def W(text: str, start: float, end: float) -> Word:
    return Word(text=text, start=start, end=end)


WORDS = [W("hello", 0.2, 0.6), W("there", 0.65, 1.0), W("um", 1.1, 1.4), W("friend", 4.0, 4.5), W("bye", 4.6, 5.0)]


def test_long_word_gap_is_cut_with_padding() -> None:
    keep = keep_segments(0.0, 5.2, WORDS, min_silence=0.6, pad=0.1)
    # lead-in 0-0.2 is short; gap 1.4-4.0 is cut leaving 0.1 s each side; the tail 5.0-5.2 is short.
    assert keep == [(0.0, pytest.approx(1.5)), (pytest.approx(3.9), 5.2)]


def test_gap_that_is_not_quiet_is_kept() -> None:
    # The audio level says only 2.0-3.0 is quiet (music or laughter elsewhere in the gap): only that is cut.
    keep = keep_segments(0.0, 5.2, WORDS, silences=[(2.0, 3.0)], min_silence=0.6, pad=0.1)
    assert keep == [(0.0, pytest.approx(2.1)), (pytest.approx(2.9), 5.2)]
    # No quiet stretch at all: nothing is cut.
    assert keep_segments(0.0, 5.2, WORDS, silences=[], min_silence=0.6) == [(0.0, 5.2)]


def test_long_quiet_stretch_is_cut_even_inside_a_stretched_word() -> None:
    # The recogniser stretched "there" over a 3 s pause (it happens at sentence ends); the audio knows better.
    words = [W("hello", 0.0, 0.5), W("there", 0.6, 4.2), W("friend", 4.3, 4.8)]
    keep = keep_segments(0.0, 4.8, words, silences=[(1.0, 4.0)], min_silence=0.6, pad=0.1)
    assert keep == [(0.0, pytest.approx(1.1)), (pytest.approx(3.9), 4.8)]
    assert keep_segments(0.0, 4.8, words, silences=[(1.0, 2.5)], min_silence=0.6) == [(0.0, 4.8)]


def test_fillers_are_removed_only_when_listed() -> None:
    keep = keep_segments(0.0, 1.5, WORDS, remove_silence=False, fillers=["um", "uh"])
    # The cut reaches from just after "there" (0.04 s pad) over "um"; the 0.1 s after it is too short to keep.
    assert keep == [(0.0, pytest.approx(1.04))]
    assert keep_segments(0.0, 1.5, WORDS, remove_silence=False, fillers=[]) == [(0.0, 1.5)]


def test_timeline_maps_times_both_ways() -> None:
    tl = Timeline.of([(10.0, 12.0), (20.0, 21.5)])
    assert tl.duration == pytest.approx(3.5)
    assert tl.to_out(11.0) == pytest.approx(1.0)
    assert tl.to_out(20.5) == pytest.approx(2.5)
    assert tl.to_out(15.0) is None
    assert tl.to_out(15.0, snap="cut") == pytest.approx(2.0)
    assert tl.to_source(2.5) == pytest.approx(20.5)


def test_words_are_retimed_and_cut_words_dropped() -> None:
    keep = keep_segments(0.0, 5.2, WORDS, min_silence=0.6, pad=0.1, fillers=["um"])
    tl = Timeline.of(keep)
    out = tl.retime_words(WORDS)
    assert [w.text for w in out] == ["hello", "there", "friend", "bye"]
    # "friend" started at 4.0 in the source; everything between 1.04 (after "there") and 3.9 is gone.
    removed = 3.9 - 1.04
    assert out[2].start == pytest.approx(4.0 - removed, abs=0.01)
    assert out[0].start == pytest.approx(0.2)
    assert all(b.start >= a.end - 1e-6 for a, b in itertools.pairwise(out))


def test_cutting_a_filler_leaves_its_neighbours_whole() -> None:
    # Recogniser times overlap around fillers: "um" runs into "is", and "is" is short before a pause.
    words = [W("this", 0.0, 0.3), W("um", 0.3, 0.95), W("is", 0.8, 1.0), W("really", 1.0, 1.4)]
    words += [W("uh", 1.4, 1.9), W("simple.", 1.85, 2.4)]
    keep = keep_segments(0.0, 2.4, words, remove_silence=False, fillers=["um", "uh"])
    out = [w.text for w in Timeline.of(keep).retime_words(without_fillers(words, ["um", "uh"]))]
    assert out == ["this", "is", "really", "simple."]
    assert keep == [(0.0, 0.3), (0.8, 1.4), (1.85, 2.4)]
    # A short word between a filler and a cut pause is kept even though its piece is short.
    words = [W("so", 0.0, 0.3), W("um", 0.3, 0.8), W("go.", 0.8, 0.95), W("next", 3.0, 3.4)]
    keep = keep_segments(0.0, 3.4, words, fillers=["um"], min_silence=0.6, pad=0.05)
    assert [w.text for w in Timeline.of(keep).retime_words(without_fillers(words, ["um"]))] == ["so", "go.", "next"]


def _levels(voiced: list[tuple[float, float]], total: float, floor: float = 0.0) -> Levels:
    """A level track (10 ms hops) loud (-16 dBFS) inside ``voiced`` and at ``floor`` (linear RMS) elsewhere."""
    t = (np.arange(round(total / 0.01)) + 0.5) * 0.01
    rms = np.full(len(t), floor)
    for a, b in voiced:
        rms[(t >= a) & (t < b)] = 5200.0
    return Levels(start=0.0, hop=0.01, rms=rms)


# Measured on espeak-ng "You, uh, open the editor": tiny.en's times run late around the filler ("uh" stamped
# over the start of "open"); the sound is You 3.67-4.00, uh 4.16-4.41, "open the editor" 4.57-5.65.
LATE_WORDS = [W("You,", 3.82, 4.28), W("uh,", 4.46, 4.68), W("open", 4.94, 4.98), W("the", 4.98, 5.18)]
LATE_VOICED = [(3.67, 4.0), (4.16, 4.41), (4.57, 4.71), (4.75, 4.92), (4.93, 5.65)]


@pytest.mark.parametrize("floor", [0.0, 30.0])  # digital silence, and a noise floor ~-60 dBFS in the pauses
def test_a_late_filler_is_cut_where_its_sound_is(floor: float) -> None:
    keep = keep_segments(
        3.5, 5.7, LATE_WORDS, remove_silence=False, fillers=["uh"], levels=_levels(LATE_VOICED, 6.0, floor)
    )
    # From the middle of the pause before "uh" to the middle of the pause after it: all of its sound goes,
    # none of "You" or "open" (which the recogniser's 4.46-4.68 would have clipped).
    assert keep == [(3.5, pytest.approx(4.08)), (pytest.approx(4.49), 5.7)]


def test_a_zero_length_filler_at_the_end_of_its_pause_is_found() -> None:
    # "moment. Um, that": the recogniser put a zero-length "Um" at 11.54, after the sound (10.86-11.19).
    words = [W("moment.", 10.12, 10.86), W("Um,", 11.54, 11.54), W("that", 11.64, 11.68), W("is", 11.68, 11.94)]
    voiced = [(9.18, 10.53), (10.86, 11.19), (11.42, 12.2)]
    keep = keep_segments(9.0, 12.3, words, remove_silence=False, fillers=["um"], levels=_levels(voiced, 12.5))
    assert keep == [(9.0, pytest.approx(10.695)), (pytest.approx(11.305), 12.3)]


def test_a_filler_run_into_its_neighbours_keeps_to_the_recogniser() -> None:
    # No pause around the filler: the audio cannot tell it apart, so the cut stays at its times (between the
    # neighbours' times, as without levels).
    words = [W("this", 0.0, 0.3), W("um", 0.3, 0.7), W("works", 0.7, 1.1)]
    keep = keep_segments(0.0, 1.1, words, remove_silence=False, fillers=["um"], levels=_levels([(0.0, 1.1)], 1.2))
    assert keep == [(0.0, pytest.approx(0.3, abs=0.01)), (pytest.approx(0.7, abs=0.01), 1.1)]
    assert phrases(_levels([(0.0, 1.1)], 1.2)) == [(0.0, 1.1)]
