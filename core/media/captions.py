"""Captions: SRT, WebVTT and styled ASS from timed words.

Words arrive already on the clip's output timeline (see ``cuts.Timeline.retime_words``). They are grouped
into cues (max words/characters per line, lines per cue, breaks at sentence ends and pauses). ASS styles:

- ``karaoke``: the whole cue is shown; one Dialogue per word re-draws it with the spoken word highlighted.
- ``pop``: one Dialogue per word; the words so far are shown and the new one scales in (libass ``\\t``).
- ``none`` (the clean preset): one Dialogue per cue, no animation.

Presets are YAML files (the built-ins in ``core/media/styles`` or the user's ``render.styles_dir``) validated by
``CaptionStyle``. Sizes are pixels on a frame whose shorter side is 1080 and scale with that side (a 16:9
frame gets the same text height as a 9:16 one, not 1.8x); ``margin_v`` is pixels of a 1920-high frame and
scales with the height, lowered on wide and square frames so the lines stay in the lower third
(``bottom_margin``). Captions sit in the lower third by default; given the faces' places on the output
frame (``FaceBand``), a cue that would cover a face moves above or below it.

Words are given a minimum visible duration first (``cuts.give_words_time``): a word the recogniser returned
with zero length is still shown and written.
"""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.contracts import Word
from core.errors import InputError
from core.media import presets
from core.media.cuts import give_words_time, normalise
from core.media.hook import HookTitle, wrap_title

BUILTIN_STYLES = presets.builtin_dir("styles")
FONTS_DIR = presets.builtin_dir("fonts")
DEFAULT_FONT = "Noto Sans"

_HEX = re.compile(r"^#?([0-9a-fA-F]{6})([0-9a-fA-F]{2})?$")


class CaptionStyle(BaseModel):
    """One caption preset. Colours are ``#RRGGBB`` or ``#RRGGBBAA`` (AA = opacity, FF opaque)."""

    model_config = ConfigDict(extra="forbid")

    name: str = "custom"
    animation: Literal["karaoke", "pop", "none"] = "karaoke"
    font: str = Field(DEFAULT_FONT, description="font family; the shipped Noto Sans Bold unless a font_file is set")
    font_file: Path | None = Field(None, description="a .ttf/.otf file to use (its family must equal `font`)")
    size: int = Field(80, ge=8, le=400, description="px on a frame whose shorter side is 1080")
    bold: bool = True
    uppercase: bool = False
    primary_colour: str = "#FFFFFF"
    highlight_colour: str = "#FFD400"
    outline_colour: str = "#000000"
    back_colour: str = "#00000080"
    outline: float = Field(5, ge=0, le=40, description="px")
    shadow: float = Field(2, ge=0, le=40, description="px")
    box: bool = Field(False, description="an opaque box behind the text instead of an outline")
    position: Literal["bottom", "middle", "top"] = "bottom"
    margin_v: int = Field(
        420, ge=0, description="px of a 1920-high frame from the top/bottom edge (keeps clear of platform UI)"
    )
    margin_h: int = Field(90, ge=0, description="px from each side")
    margin_right: int | None = Field(
        None, ge=0, description="px from the right edge when it differs (platform buttons there); None = margin_h"
    )
    max_words_per_line: int = Field(4, ge=1, le=20)
    max_chars_per_line: int = Field(22, ge=4, le=80)
    lines: int = Field(1, ge=1, le=3, description="lines per cue")
    pop_scale: int = Field(125, ge=100, le=250, description="pop: % size a new word starts at")
    emphasis_words: list[str] = Field(default_factory=list, description="words always drawn in emphasis_colour")
    emphasis_colour: str = "#FF4D4D"
    emoji: dict[str, str] = Field(
        default_factory=dict, description="word → emoji shown above the line while the word's cue is on screen"
    )
    auto_emoji: bool = Field(False, description="also pick emoji for keywords from core.media.emoji.KEYWORDS")
    emoji_size: int = Field(120, ge=16, le=600, description="emoji height, px on a frame whose shorter side is 1080")

    @field_validator("primary_colour", "highlight_colour", "outline_colour", "back_colour", "emphasis_colour")
    @classmethod
    def _colour(cls, v: str) -> str:
        if not _HEX.match(v.strip()):
            raise ValueError(f"{v!r} is not a colour; use #RRGGBB or #RRGGBBAA")
        return v.strip()


def ass_colour(hex_colour: str) -> str:
    """``#RRGGBB[AA]`` (AA = opacity) → ASS ``&HAABBGGRR`` (ASS alpha is transparency)."""
    m = _HEX.match(hex_colour)
    assert m is not None
    rgb, alpha = m.group(1), m.group(2) or "FF"
    r, g, b = rgb[0:2], rgb[2:4], rgb[4:6]
    return f"&H{255 - int(alpha, 16):02X}{b}{g}{r}".upper()


def style_dirs(styles_dir: Path | None) -> list[Path]:
    return [d for d in (styles_dir, BUILTIN_STYLES) if d is not None]


def available_styles(styles_dir: Path | None = None) -> list[str]:
    return presets.available(style_dirs(styles_dir))


def load_style(name: str, styles_dir: Path | None = None) -> CaptionStyle:
    """A preset by name (user ``styles_dir`` first, then the built-ins) or a path to a YAML file."""
    return presets.load(name, style_dirs(styles_dir), CaptionStyle, "caption style", file_fields=("font_file",))


@lru_cache(maxsize=64)
def _system_families() -> frozenset[str]:
    exe = shutil.which("fc-list")
    if not exe:
        return frozenset()
    res = subprocess.run([exe, ":", "family"], capture_output=True, text=True, timeout=30)
    return frozenset(f.strip().lower() for line in res.stdout.splitlines() for f in line.split(","))


@lru_cache(maxsize=64)
def _file_families(path: Path) -> frozenset[str]:
    exe = shutil.which("fc-scan")
    if not exe:
        return frozenset()
    res = subprocess.run([exe, "--format", "%{family}\n", str(path)], capture_output=True, text=True, timeout=30)
    return frozenset(f.strip().lower() for line in res.stdout.splitlines() for f in line.split(","))


def resolve_fonts(style: CaptionStyle) -> Path:
    """The directory libass should load fonts from; raises ``InputError`` when the style's font is missing.

    A missing font would otherwise make libass fall back silently to whatever the machine has, and the clip
    would look different on every machine.
    """
    if style.font_file is not None:
        if not style.font_file.is_file():
            raise InputError(
                f"caption style {style.name!r}: font file {style.font_file} does not exist",
                "fix font_file in the style, or remove it to use the shipped Noto Sans",
            )
        fams = _file_families(style.font_file)
        if fams and style.font.lower() not in fams:
            raise InputError(
                f"caption style {style.name!r}: {style.font_file.name} contains the font family "
                f"{', '.join(sorted(fams))}, not {style.font!r}",
                "set `font` to the family name inside the file",
            )
        return style.font_file.parent
    if style.font.lower() in _file_families(FONTS_DIR / "NotoSans-Bold.ttf") or style.font == DEFAULT_FONT:
        return FONTS_DIR
    if style.font.lower() in _system_families():
        return FONTS_DIR
    raise InputError(
        f"caption style {style.name!r}: font {style.font!r} is not installed on this machine",
        "install it, set font_file to a .ttf file, or use the shipped 'Noto Sans'",
    )


# ---------------------------------------------------------------------------------------------- cues


class Cue(BaseModel):
    start: float
    end: float
    lines: list[list[Word]]

    @property
    def words(self) -> list[Word]:
        return [w for line in self.lines for w in line]

    @property
    def text(self) -> str:
        return "\n".join(" ".join(w.text.strip() for w in line) for line in self.lines)


def group_cues(
    words: Sequence[Word],
    *,
    max_words: int = 4,
    max_chars: int = 22,
    lines: int = 1,
    pause: float = 0.6,
) -> list[Cue]:
    """Group words into cues of ``lines`` lines; a new cue starts after a sentence end or a ``pause`` (s)."""
    cues: list[Cue] = []
    cur: list[list[Word]] = [[]]

    def flush() -> None:
        nonlocal cur
        if any(cur):
            ws = [w for line in cur for w in line]
            cues.append(Cue(start=ws[0].start, end=ws[-1].end, lines=[line for line in cur if line]))
        cur = [[]]

    prev: Word | None = None
    for w in words:
        if not w.text.strip():
            continue
        if prev is not None and (w.start - prev.end >= pause or prev.text.rstrip()[-1:] in ".!?"):
            flush()
        line = cur[-1]
        chars = len(" ".join(x.text.strip() for x in [*line, w]))
        if line and (len(line) >= max_words or chars > max_chars):
            if len(cur) >= lines:
                flush()
            else:
                cur.append([])
        cur[-1].append(w)
        prev = w
    flush()
    # Hold each cue until the next starts (up to 0.5 s) so captions do not flicker between words.
    for a, b in itertools.pairwise(cues):
        a.end = max(a.end, min(b.start, a.end + 0.5))
    return cues


def _stamp(t: float, sep: str) -> str:
    ms = max(0, round(t * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def to_srt(cues: Sequence[Cue]) -> str:
    blocks = [f"{i}\n{_stamp(c.start, ',')} --> {_stamp(c.end, ',')}\n{c.text}\n" for i, c in enumerate(cues, 1)]
    return "\n".join(blocks)


def to_vtt(cues: Sequence[Cue]) -> str:
    blocks = [f"{_stamp(c.start, '.')} --> {_stamp(c.end, '.')}\n{c.text}\n" for c in cues]
    return "WEBVTT\n\n" + "\n".join(blocks)


def parse_srt(text: str) -> list[tuple[float, float, str]]:
    """(start, end, text) per cue (the tests read rendered subtitles back with it)."""

    def secs(stamp: str) -> float:
        h, m, rest = stamp.strip().replace(",", ".").split(":")
        return int(h) * 3600 + int(m) * 60 + float(rest)

    out = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = block.strip().splitlines()
        if len(lines) >= 2 and "-->" in lines[1]:
            a, b = lines[1].split("-->")
            out.append((secs(a), secs(b), "\n".join(lines[2:])))
    return out


# ----------------------------------------------------------------------------------------------- ASS


class FaceBand(BaseModel):
    """Where faces are on the output frame from ``start`` to ``end`` (s, output timeline): the vertical span
    ``top``..``bottom`` as fractions of the frame height, of all faces in view."""

    start: float
    end: float
    top: float
    bottom: float


#: Line height as a multiple of the font size (Noto Sans with an outline).
LINE_HEIGHT = 1.25
#: Where a cue moved off a face goes at the top: this fraction of the height from the top edge.
TOP_MARGIN = 0.1


def _placement(
    cue: Cue, style: CaptionStyle, faces: Sequence[FaceBand], height: int, font_px: float, margin_v: int
) -> tuple[int, int] | None:
    """(ASS alignment, MarginV) for a cue that would cover a face during its time, or None to keep the style's."""
    near = [f for f in faces if f.end > cue.start and f.start < cue.end]
    if not near:
        return None
    top, bottom = min(f.top for f in near) * height, max(f.bottom for f in near) * height
    text_h = len(cue.lines) * font_px * LINE_HEIGHT
    y0 = _text_top(cue, style, height, font_px, margin_v, None)
    spans = sorted((f.top * height, f.bottom * height) for f in near)
    if all(y0 + text_h <= a or y0 >= b for a, b in spans):
        return None  # clear of the faces already (also between two faces, as in a split layout)
    gap = _widest_gap(spans)
    if gap is not None and gap[1] - gap[0] >= text_h * 1.1:  # between faces (split layout): centre it in the gap
        return 2, round(height - (gap[0] + gap[1] + text_h) / 2)
    below = height - bottom - text_h  # room under the faces for the text
    floor = height * 0.06  # never closer than this to the bottom edge
    if below - floor >= 0:
        return 2, round(max(floor, min(margin_v, below - font_px * 0.2)))
    if top - text_h >= height * TOP_MARGIN:
        return 8, round(height * TOP_MARGIN)
    return 2, round(floor)  # faces fill the frame: as low as possible, covering the least


def _widest_gap(spans: Sequence[tuple[float, float]]) -> tuple[float, float] | None:
    """The widest free stretch between face spans (px, sorted by top), or None when they overlap into one."""
    best, reach = None, spans[0][1]
    for a, b in spans[1:]:
        if a > reach and (best is None or a - reach > best[1] - best[0]):
            best = (reach, a)
        reach = max(reach, b)
    return best


def _ass_time(t: float) -> str:
    cs = max(0, round(t * 100))
    h, cs = divmod(cs, 360_000)
    m, cs = divmod(cs, 6000)
    s, cs = divmod(cs, 100)
    return f"{h}:{m:02d}:{s:02d}.{cs:02d}"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("{", "(").replace("}", ")").replace("\n", " ")


def _word_text(w: Word, style: CaptionStyle) -> str:
    text = w.text.strip()
    if style.uppercase:
        text = text.upper()
    return _escape(text)


def emoji_of(w: Word, style: CaptionStyle) -> str | None:
    """The emoji a word brings up: the style's own map first, then the keyword table with ``auto_emoji``."""
    from core.media.emoji import KEYWORDS

    key = normalise(w.text)
    return style.emoji.get(key) or (KEYWORDS.get(key) if style.auto_emoji else None)


class EmojiShow(BaseModel):
    """One emoji overlay: shown from ``start`` to ``end`` (s, the burned script's timeline), its top-left corner
    at ``y`` px, centred horizontally, ``px`` high."""

    emoji: str
    start: float
    end: float
    y: int
    px: int


def bottom_margin(style: CaptionStyle, width: int, height: int) -> int:
    """MarginV (px) on a ``width``x``height`` frame: ``style.margin_v`` (px of a 1920-high frame) scaled with
    the height; on wide and square frames, for bottom captions, lowered where the style's block of lines (sized
    by the shorter side) would rise above the lower third. At 16:9 the text is as tall as at 9:16 on a frame
    0.56x as high: karaoke's 420 px put its two lines at 65-76 % of a 1080-high frame. Never closer than 4 %
    of the height to the edge. Tall frames keep the style's margin (a platform preset's safe zone sets it)."""
    margin = round(style.margin_v * height / 1920)
    if style.position != "bottom" or height > width:
        return margin
    block = style.lines * style.size * min(width, height) / 1080 * LINE_HEIGHT
    return max(round(height * 0.04), min(margin, round(height / 3 - block)))


def _text_top(
    cue: Cue, style: CaptionStyle, height: int, font_px: float, margin_v: int, moved: tuple[int, int] | None
) -> float:
    """The y (px) of the top of a cue's text block."""
    text_h = len(cue.lines) * font_px * LINE_HEIGHT
    align, mv = moved if moved else ({"bottom": 2, "middle": 5, "top": 8}[style.position], margin_v)
    if align == 2:
        return height - mv - text_h
    if align == 8:
        return mv
    return (height - text_h) / 2


def to_ass(
    cues: Sequence[Cue],
    style: CaptionStyle,
    width: int = 1080,
    height: int = 1920,
    faces: Sequence[FaceBand] = (),
    hook: HookTitle | None = None,
) -> str:
    """An ASS script for libass at ``width``x``height`` (PlayResX/Y), one event per word when animated;
    ``hook``: a title card over the first seconds."""
    k = min(width, height) / 1080
    margin_v = bottom_margin(style, width, height)
    align = {"bottom": 2, "middle": 5, "top": 8}[style.position]
    border_style = 3 if style.box else 1
    emphasis = {normalise(e) for e in style.emphasis_words}
    hi, base, emph = (
        ass_colour(style.highlight_colour),
        ass_colour(style.primary_colour),
        ass_colour(style.emphasis_colour),
    )
    head = [
        "[Script Info]",
        "ScriptType: v4.00+",
        f"PlayResX: {width}",
        f"PlayResY: {height}",
        "WrapStyle: 2",
        "ScaledBorderAndShadow: yes",
        "",
        "[V4+ Styles]",
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, "
        "Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, "
        "MarginR, MarginV, Encoding",
        f"Style: Default,{style.font},{round(style.size * k)},{base},{hi},{ass_colour(style.outline_colour)},"
        f"{ass_colour(style.back_colour)},{-1 if style.bold else 0},0,0,0,100,100,0,0,{border_style},"
        f"{style.outline * k:.1f},{style.shadow * k:.1f},{align},{round(style.margin_h * k)},"
        f"{round((style.margin_h if style.margin_right is None else style.margin_right) * k)},{margin_v},1",
    ]
    events = []
    if hook is not None:
        hook_px = round(style.size * k * 1.1)
        head.append(
            f"Style: Hook,{style.font},{hook_px},{ass_colour(hook.text_colour)},{hi},{ass_colour(hook.box_colour)},"
            f"{ass_colour(hook.box_colour)},-1,0,0,0,100,100,0,0,3,{12 * k:.1f},0,8,{round(style.margin_h * k)},"
            f"{round(style.margin_h * k)},{round(height * TOP_MARGIN * 1.5)},1"
        )
        body = "\\N".join(_escape(line) for line in wrap_title(hook.text.upper() if style.uppercase else hook.text))
        events.append(f"Dialogue: 1,0:00:00.00,{_ass_time(hook.seconds)},Hook,,0,0,0,,{{\\fad(120,250)}}{body}")
    head += ["", "[Events]", "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text"]

    def colour_of(w: Word) -> str | None:
        return emph if normalise(w.text) in emphasis else None

    def render_line(line: list[Word], active: Word | None, visible: set[int] | None) -> str:
        parts = []
        for w in line:
            if visible is not None and id(w) not in visible:
                continue
            text = _word_text(w, style)
            if w is active and style.animation == "pop":
                s = style.pop_scale
                text = f"{{\\c{hi}\\fscx{s}\\fscy{s}\\t(0,120,\\fscx100\\fscy100)}}{text}{{\\r}}"
            elif w is active:
                text = f"{{\\c{hi}}}{text}{{\\r}}"
            elif (c := colour_of(w)) is not None:
                text = f"{{\\c{c}}}{text}{{\\r}}"
            parts.append(text)
        return " ".join(parts)

    for cue in cues:
        words = cue.words
        moved = _placement(cue, style, faces, height, style.size * k, margin_v) if faces else None
        tag = f"{{\\an{moved[0]}}}" if moved else ""
        mv = moved[1] if moved else 0
        if style.animation == "none" or not words:
            body = "\\N".join(render_line(line, None, None) for line in cue.lines)
            events.append(f"Dialogue: 0,{_ass_time(cue.start)},{_ass_time(cue.end)},Default,,0,0,{mv},,{tag}{body}")
            continue
        for i, w in enumerate(words):
            start = cue.start if i == 0 else w.start
            end = words[i + 1].start if i + 1 < len(words) else cue.end
            if end - start < 0.01:
                continue
            visible = {id(x) for x in words[: i + 1]} if style.animation == "pop" else None
            body = "\\N".join(filter(None, (render_line(line, w, visible) for line in cue.lines)))
            events.append(f"Dialogue: 0,{_ass_time(start)},{_ass_time(end)},Default,,0,0,{mv},,{tag}{body}")
    return "\n".join(head + events) + "\n"


def emoji_shows(
    cues: Sequence[Cue], style: CaptionStyle, width: int = 1080, height: int = 1920, faces: Sequence[FaceBand] = ()
) -> list[EmojiShow]:
    """The emoji overlays for ``cues``: each from its word's start to the cue's end (or the next emoji's start),
    above the cue's text (below it when there is no room above)."""
    k = min(width, height) / 1080
    font_px, px = style.size * k, round(style.emoji_size * k)
    margin_v = bottom_margin(style, width, height)
    shows: list[EmojiShow] = []
    for cue in cues:
        found = [(w, e) for w in cue.words if (e := emoji_of(w, style))]
        if not found:
            continue
        moved = _placement(cue, style, faces, height, font_px, margin_v) if faces else None
        top = _text_top(cue, style, height, font_px, margin_v, moved)
        y = top - px - font_px * 0.15
        if y < height * 0.03:
            y = top + len(cue.lines) * font_px * LINE_HEIGHT + font_px * 0.15
        for i, (w, e) in enumerate(found):
            end = found[i + 1][0].start if i + 1 < len(found) else cue.end
            if end - w.start >= 0.05:
                shows.append(EmojiShow(emoji=e, start=w.start, end=end, y=round(y), px=px))
    return shows


def shift_cues(cues: Sequence[Cue], offset: float) -> list[Cue]:
    """The cues ``offset`` s later (a brand intro plays before the clip)."""
    return [
        Cue(
            start=c.start + offset,
            end=c.end + offset,
            lines=[
                [w.model_copy(update={"start": w.start + offset, "end": w.end + offset}) for w in line]
                for line in c.lines
            ],
        )
        for c in cues
    ]


class Captions(BaseModel):
    """A clip's captions: ``burn`` is the ASS burned into the main part (its own timeline); ``srt``, ``vtt`` and
    ``ass`` are the files written beside the video, on the whole video's timeline (after any intro)."""

    srt: str
    vtt: str
    ass: str
    burn: str
    emoji: list[EmojiShow] = Field(default_factory=list, description="overlays on the burned script's timeline")
    plain: list[Cue] = Field(default_factory=list, description="the SRT/VTT cues on the clip's own timeline")


def build_captions(
    words: Sequence[Word],
    style: CaptionStyle,
    width: int = 1080,
    height: int = 1920,
    *,
    offset: float = 0.0,
    faces: Sequence[FaceBand] = (),
    hook: HookTitle | None = None,
) -> Captions:
    """Captions for words on the clip's output timeline; ``offset`` (s) is the intro played before it.
    SRT/VTT use at most two lines of plain text."""
    words = give_words_time(words)
    cues = group_cues(words, max_words=style.max_words_per_line, max_chars=style.max_chars_per_line, lines=style.lines)
    plain_cues = group_cues(words, max_words=8, max_chars=42, lines=2)
    plain = shift_cues(plain_cues, offset)
    burn = to_ass(cues, style, width, height, faces, hook)
    # The file beside the video holds the captions only (the title card is part of the picture), on the
    # whole video's timeline.
    shifted_faces = [f.model_copy(update={"start": f.start + offset, "end": f.end + offset}) for f in faces]
    ass = to_ass(shift_cues(cues, offset), style, width, height, shifted_faces) if offset or hook else burn
    emoji = emoji_shows(cues, style, width, height, faces) if style.emoji or style.auto_emoji else []
    return Captions(srt=to_srt(plain), vtt=to_vtt(plain), ass=ass, burn=burn, emoji=emoji, plain=plain_cues)
