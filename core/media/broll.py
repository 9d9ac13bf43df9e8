"""B-roll in the render graph: the inputs and filter lines that cut pictures in over the speaker.

An insert is a local file (checked here: a PNG/JPEG image, or a video in one of the accepted containers) shown
from ``start`` to ``end`` on the clip's own timeline, either as a **cutaway** (the whole frame, scaled to cover
the output and centre-cropped) or as a **picture-in-picture** inset (the output's shape, ``pip_scale`` of its
width, top right, with a thin white border). Only the picture changes: the audio graph never sees B-roll, so
the speaker's voice runs on. The lines go in after the reframe and before the captions, so captions, emoji and
brand overlays stay on top. A video shorter than its slot is looped; an image is held.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from core.errors import InputError
from core.media import ffmpeg
from core.media.sniff import check_demuxer, sniff

#: First bytes of the image formats accepted as B-roll (read with a single-image demuxer, no patterns).
IMAGE_MAGIC = {b"\x89PNG\r\n\x1a\n": "png", b"\xff\xd8\xff": "jpeg"}


@dataclass(frozen=True)
class BrollInsert:
    """One insert: a checked local file, its kind and demuxer, its slot on the clip's timeline (s)."""

    path: Path
    kind: Literal["video", "image"]
    demuxer: str
    start: float
    end: float
    mode: Literal["cutaway", "pip"]
    word: str = ""
    provider: str = ""

    @property
    def seconds(self) -> float:
        return self.end - self.start


def checked_media(path: Path, name: str) -> tuple[Literal["video", "image"], str]:
    """(kind, ffmpeg demuxer) of a B-roll file, decided from its first bytes; ``InputError`` for anything that
    is not a plain image or a video container with pictures (playlists, concat lists, text...)."""
    with open(path, "rb") as f:
        head = f.read(16)
    for magic, _fmt in IMAGE_MAGIC.items():
        if head.startswith(magic):
            return "image", "image2"
    container = sniff(path, name)
    info = ffmpeg.probe(path, fmt=container.demuxer)
    check_demuxer(container, info.format_name, name)
    if not info.width or not info.height:
        raise InputError(f"B-roll {name} has no pictures (it is {container.label} file without video)")
    return "video", container.demuxer


def _even(x: float) -> int:
    return max(2, round(x / 2) * 2)


def broll_inputs(insert: BrollInsert, fps: int) -> list[str]:
    """ffmpeg input arguments for one insert: exactly its slot's length, the file's demuxer forced."""
    t = f"{insert.seconds:.3f}"
    if insert.kind == "image":  # pattern_type none: the name is one file, never a sequence pattern
        return ["-loop", "1", "-framerate", str(fps), "-t", t, "-f", "image2", "-pattern_type", "none",
                "-i", str(insert.path)]  # fmt: skip
    return ["-stream_loop", "-1", "-t", t, "-f", insert.demuxer, "-i", str(insert.path)]


def broll_filters(
    inserts: list[BrollInsert], inp: str, first_input: int, width: int, height: int, fps: int, pip_scale: float
) -> tuple[list[str], str]:
    """Graph lines that lay ``inserts`` (inputs ``first_input``…, in order) over ``[inp]``; returns the lines and
    the output label. Each insert's frames are re-stamped to start at its slot, and ``enable`` bounds it
    exactly, so the cut lands on the frame of the chosen word."""
    lines: list[str] = []
    v = inp
    for i, ins in enumerate(inserts):
        src = f"{first_input + i}:v"
        shift = f"setpts=PTS-STARTPTS+{ins.start:.3f}/TB"
        if ins.mode == "pip":
            w = _even(width * pip_scale)
            h = _even(w * height / width)
            b = max(2, _even(width / 270))
            fit = f"scale={w}:{h}:force_original_aspect_ratio=increase,crop={w}:{h}"
            fit += f",pad={w + 2 * b}:{h + 2 * b}:{b}:{b}:white"
            x, y = f"W-w-{_even(width * 0.04)}", f"{_even(height * 0.08)}"
        else:
            fit = f"scale={width}:{height}:force_original_aspect_ratio=increase,crop={width}:{height}"
            x, y = "0", "0"
        lines.append(f"[{src}]fps={fps},{fit},setsar=1,format=yuv420p,{shift}[br{i}]")
        when = f"between(t,{ins.start:.3f},{ins.end:.3f})"
        lines.append(f"[{v}][br{i}]overlay=x={x}:y={y}:enable='{when}':eof_action=pass[vbr{i}]")
        v = f"vbr{i}"
    return lines, v
