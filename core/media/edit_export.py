"""The clip's edit as files a video editor opens: FCPXML 1.9 (Final Cut Pro, DaVinci Resolve, Premiere via
import) and a CMX 3600 EDL (every editor). Both list the kept pieces of the source in order (what silence
and filler removal left), so the user can finish the cut by hand; captions travel as the SRT beside them.

Times are whole frames at the source's frame rate (rounded to an integer rate for the EDL's timecode;
29.97 material is written as 30 fps non-drop, a known EDL approximation).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

Interval = tuple[float, float]


def _frames(seconds: float, fps: int) -> int:
    return round(seconds * fps)


def _rational(frames: int, fps: int) -> str:
    return f"{frames}/{fps}s" if frames else "0s"


def to_fcpxml(
    segments: Sequence[Interval], source: Path, *, fps: int, width: int, height: int, duration: float, name: str
) -> str:
    """An FCPXML 1.9 project: one asset (the source), one spine of asset-clips, one per kept piece."""
    clips, offset = [], 0
    for i, (a, b) in enumerate(segments, 1):
        start, length = _frames(a, fps), max(1, _frames(b, fps) - _frames(a, fps))
        clips.append(
            f'        <asset-clip ref="r2" name={quoteattr(f"{name} {i}")} offset="{_rational(offset, fps)}" '
            f'start="{_rational(start, fps)}" duration="{_rational(length, fps)}" tcFormat="NDF"/>'
        )
        offset += length
    uri = source.resolve().as_uri()
    return "\n".join(
        [
            '<?xml version="1.0" encoding="UTF-8"?>',
            "<!DOCTYPE fcpxml>",
            '<fcpxml version="1.9">',
            "  <resources>",
            f'    <format id="r1" frameDuration="1/{fps}s" width="{width}" height="{height}"/>',
            f'    <asset id="r2" name={quoteattr(source.name)} start="0s" '
            f'duration="{_rational(_frames(duration, fps), fps)}" hasVideo="1" hasAudio="1" format="r1">',
            f'      <media-rep kind="original-media" src={quoteattr(uri)}/>',
            "    </asset>",
            "  </resources>",
            "  <library>",
            '    <event name="Clipcast">',
            f"      <project name={quoteattr(name)}>",
            f'        <sequence format="r1" duration="{_rational(offset, fps)}" tcStart="0s" tcFormat="NDF">',
            "      <spine>",
            *clips,
            "      </spine>",
            "        </sequence>",
            "      </project>",
            "    </event>",
            "  </library>",
            "</fcpxml>",
            "",
        ]
    )


def _timecode(frames: int, fps: int) -> str:
    s, f = divmod(frames, fps)
    m, s = divmod(s, 60)
    h, m = divmod(m, 60)
    return f"{h:02d}:{m:02d}:{s:02d}:{f:02d}"


def to_edl(segments: Sequence[Interval], source: Path, *, fps: int, name: str) -> str:
    """A CMX 3600 EDL: one cut event (video and audio) per kept piece, record time from 00:00:00:00."""
    lines = [f"TITLE: {escape(name)[:70]}", "FCM: NON-DROP FRAME", ""]
    rec = 0
    for i, (a, b) in enumerate(segments, 1):
        src_in, src_out = _frames(a, fps), max(_frames(a, fps) + 1, _frames(b, fps))
        length = src_out - src_in
        lines.append(
            f"{i:03d}  AX       AA/V  C        {_timecode(src_in, fps)} {_timecode(src_out, fps)} "
            f"{_timecode(rec, fps)} {_timecode(rec + length, fps)}"
        )
        lines.append(f"* FROM CLIP NAME: {source.name}")
        lines.append("")
        rec += length
    return "\n".join(lines)
