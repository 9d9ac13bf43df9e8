"""Caption files and presets: cue grouping, SRT/VTT/ASS output, style loading and font checks."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from core.contracts import Word
from core.errors import InputError
from core.media.captions import (
    LINE_HEIGHT,
    CaptionStyle,
    FaceBand,
    ass_colour,
    available_styles,
    bottom_margin,
    build_captions,
    group_cues,
    load_style,
    parse_srt,
    resolve_fonts,
    to_ass,
)
from core.media.cuts import give_words_time

TEXT = "So here is the thing. Nobody reads long captions on a phone while scrolling fast"


def words(text: str = TEXT, step: float = 0.4) -> list[Word]:
    return [Word(text=t, start=i * step, end=i * step + 0.3) for i, t in enumerate(text.split())]


def dialogues(ass: str) -> list[str]:
    return [line for line in ass.splitlines() if line.startswith("Dialogue:")]


def test_cues_respect_line_limits_and_sentence_ends() -> None:
    cues = group_cues(words(), max_words=3, max_chars=18, lines=1)
    for cue in cues:
        assert len(cue.words) <= 3
        assert len(cue.text) <= 18 or len(cue.words) == 1
    # "thing." ends a sentence: the next cue starts with "Nobody".
    assert any(c.words[0].text == "Nobody" for c in cues)
    assert [w.text for c in cues for w in c.words] == TEXT.split()


def test_srt_and_vtt_carry_the_word_times() -> None:
    caps = build_captions(words(), load_style("clean"))
    srt, vtt = caps.srt, caps.vtt
    cues = parse_srt(srt)
    assert cues[0][0] == pytest.approx(0.0)
    assert cues[0][2].startswith("So here is the thing.")
    nobody = next(c for c in cues if "Nobody" in c[2])
    assert nobody[0] == pytest.approx(5 * 0.4, abs=0.002)  # "Nobody" is word 5
    assert vtt.startswith("WEBVTT\n\n")
    assert re.search(r"00:00:02\.000 --> ", vtt)


def test_karaoke_and_pop_use_one_event_per_word() -> None:
    ws = words()
    for name in ("karaoke", "pop"):
        style = load_style(name)
        cues = group_cues(ws, max_words=style.max_words_per_line, max_chars=style.max_chars_per_line)
        events = dialogues(to_ass(cues, style))
        assert len(events) == len(ws), name
    pop = dialogues(to_ass(group_cues(ws, max_words=3), load_style("pop")))
    assert all("\\fscx130" in e and "\\t(0,120" in e for e in pop)
    # pop shows the words said so far: the second event of a cue has two words, the first has one.
    assert pop[0].count("\\r}") == 1
    karaoke = to_ass(group_cues(ws, max_words=3), load_style("karaoke"))
    assert ass_colour("#FFD400") in karaoke  # the highlight colour is used for the active word
    assert "HERE" in karaoke  # uppercase preset


def test_clean_style_is_one_event_per_cue_in_a_box() -> None:
    style = load_style("clean")
    cues = group_cues(words(), max_words=style.max_words_per_line, lines=2)
    ass = to_ass(cues, style)
    assert len(dialogues(ass)) == len(cues)
    assert ",3," in ass.split("Style: Default,")[1]  # BorderStyle 3 = opaque box


def test_ass_colour_is_bgr_with_inverted_alpha() -> None:
    assert ass_colour("#FF8000") == "&H000080FF"
    assert ass_colour("#00000080") == "&H7F000000"


def test_builtin_styles_all_load_and_unknown_names_list_them() -> None:
    assert {"karaoke", "pop", "clean"} <= set(available_styles())
    for name in available_styles():
        assert resolve_fonts(load_style(name)).is_dir()
    with pytest.raises(InputError, match=r"unknown caption style 'neon'.*karaoke"):
        load_style("neon")


def test_user_style_dir_and_bad_values(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text("animation: pop\nsize: 70\nhighlight_colour: '#00FF00'\n")
    assert load_style("mine", tmp_path).highlight_colour == "#00FF00"
    (tmp_path / "bad.yaml").write_text("highlight_colour: green\n")
    with pytest.raises(InputError, match="not a colour"):
        load_style("bad", tmp_path)


def test_missing_fonts_fail_clearly(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"font file .*missing\.ttf does not exist"):
        resolve_fonts(CaptionStyle(name="x", font_file=tmp_path / "missing.ttf"))
    with pytest.raises(InputError, match="font 'No Such Font Sans' is not installed"):
        resolve_fonts(CaptionStyle(name="x", font="No Such Font Sans"))


def test_zero_length_words_are_kept_with_time_from_their_neighbours() -> None:
    # What tiny.en returns for "do it right now": "do" with no length, glued to "it".
    ws = [Word(text="do", start=1.0, end=1.0), Word(text="it", start=1.0, end=1.3)]
    ws += [Word(text="right", start=1.3, end=1.6), Word(text="now.", start=1.6, end=1.6)]
    caps = build_captions(ws, load_style("karaoke"))
    srt, vtt, ass = caps.srt, caps.vtt, caps.ass
    assert parse_srt(srt)[0][2] == "do it right now."
    assert "do it right now." in vtt
    highlighted = re.findall(r"\{\\c&H[0-9A-F]+\}([^{]+)\{\\r\}", ass)
    assert highlighted == ["DO", "IT", "RIGHT", "NOW."]  # every word has its own karaoke event
    timed = give_words_time(ws)
    assert all(w.end - w.start >= 0.1 for w in timed)
    assert all(a.end <= b.start + 1e-9 for a, b in itertools.pairwise(timed))


def test_files_are_shifted_by_the_intro_but_the_burned_script_is_not() -> None:
    caps = build_captions(words(), load_style("karaoke"), offset=2.5)
    assert parse_srt(caps.srt)[0][0] == pytest.approx(2.5)
    assert "00:00:02.500 --> " in caps.vtt
    assert dialogues(caps.ass)[0].startswith("Dialogue: 0,0:00:02.50,")
    assert dialogues(caps.burn)[0].startswith("Dialogue: 0,0:00:00.00,")


def _font_size(ass: str) -> int:
    return int(ass.split("Style: Default,")[1].split(",")[1])


def test_caption_size_follows_the_shorter_side_and_sits_in_the_lower_third() -> None:
    style = load_style("karaoke")
    cues = group_cues(words(), max_words=3)
    assert _font_size(to_ass(cues, style, 1920, 1080)) == _font_size(to_ass(cues, style, 1080, 1920)) == style.size
    assert _font_size(to_ass(cues, style, 720, 1280)) == round(style.size * 720 / 1080)
    for name in available_styles():
        s = load_style(name)
        assert s.position == "bottom", name
        # the text block's top edge is below two thirds of the frame, at 9:16 and at 16:9 and 1:1 (where the
        # text keeps its size on a lower frame: the margin gives way)
        for w, h in ((1080, 1920), (1920, 1080), (1080, 1080)):
            top = h - bottom_margin(s, w, h) - s.lines * s.size * min(w, h) / 1080 * LINE_HEIGHT
            assert top >= h * 2 / 3 - 1, (name, w, h)
            assert bottom_margin(s, w, h) >= 0.04 * h
        assert bottom_margin(s, 1080, 1920) == s.margin_v  # the style's own margin where it fits


def test_captions_move_off_a_face_in_the_lower_third() -> None:
    style = load_style("karaoke")
    cues = group_cues(words(), max_words=3, lines=2)
    face = FaceBand(start=0.0, end=2.0, top=0.45, bottom=0.9)  # a close-up: chin low in the frame
    events = dialogues(to_ass(cues, style, faces=[face]))
    early = [e for e in events if e.split(",")[1] < "0:00:02.00"]
    late = [e for e in events if e.split(",")[1] >= "0:00:02.20"]
    assert early and all("{\\an8}" in e for e in early)  # moved to the top, above the face
    assert late and not any("\\an" in e for e in late)
    # A face high in the frame leaves the lower third alone.
    high = FaceBand(start=0.0, end=9.0, top=0.15, bottom=0.55)
    assert not any("\\an" in e for e in dialogues(to_ass(cues, style, faces=[high])))
