"""Layouts for more than one face: per shot, a tracked crop of one speaker, two speakers stacked, or wide.

Render option ``layout`` (off by default: ``reframe`` decides the picture as before):

- ``single``: a crop of the output's shape on one face, the one talking (``core.media.speaker``) where a shot
  has several, else the largest; it follows that face within a shot and cuts (never pans) to another.
- ``split``: the two largest faces of a shot stacked, the left one on top, each centred in its half
  (a 9:16 frame is two 1080x960 crops); a shot with one face gets ``single``, one with none ``wide``.
- ``wide``: the whole frame in front of a blurred fill (``reframe: blur``).
- ``auto``: per shot, ``wide`` when it has no face, three or more, or faces smaller than ``MIN_FACE``;
  ``single`` with one face; with two, ``single`` on whoever talks and ``split`` while both do.

Views hold at least ``MIN_HOLD`` s within a shot (a view change is a cut at the start of the new speaker's
turn; a shorter turn or interjection is absorbed by the views around it). Shot cuts always change the view:
faces are found per shot (``core.media.tracks``). ``layouts`` overrides force a layout between two times
(seconds on the source video's timeline, like the clip's ``start``/``end``).

Everything is one ffmpeg pass: the cut picture is split into one branch per segment, each trimmed to its
time and framed (crop, two crops ``vstack``-ed, or the blurred fill), and the branches are concatenated
back; captions, overlays and the encode follow as for any clip.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from core.media.captions import FaceBand
from core.media.faces import Keyframe, Sample, crop_path
from core.media.reframe import _even, _piecewise, crop_size, reframe_filter
from core.media.speaker import BOTH_TALK, Speakers
from core.media.tracks import Analysis, Track

LayoutName = Literal["auto", "single", "split", "wide"]

#: Shortest time a view is held within a shot, s.
MIN_HOLD = 1.5
#: ``auto``: faces whose median height is below this share of the frame height are too small to crop to.
MIN_FACE = 0.08
#: A segment shorter than this (s) joins its neighbour (sampling edges; ffmpeg's concat wants frames).
MIN_SEGMENT = 0.1
#: Split halves: the crop is this many face heights tall (head and shoulders), within the frame.
SPLIT_ZOOM = 2.6


class LayoutOverride(BaseModel):
    """A layout forced between ``start`` and ``end`` (s on the source video's timeline)."""

    model_config = ConfigDict(extra="forbid")

    start: float = Field(ge=0, le=1e6)
    end: float = Field(ge=0, le=1e6)
    layout: LayoutName

    @model_validator(mode="after")
    def _order(self) -> LayoutOverride:
        if self.end <= self.start:
            raise ValueError(f"layout override {self.start:g}-{self.end:g} s: end must be after start")
        return self


def check_overrides(items: Sequence[LayoutOverride]) -> Sequence[LayoutOverride]:
    """Overrides may not overlap (which one would win?)."""
    ordered = sorted(items, key=lambda o: o.start)
    for a, b in itertools.pairwise(ordered):
        if b.start < a.end:
            raise ValueError(
                f"layout overrides {a.start:g}-{a.end:g} s and {b.start:g}-{b.end:g} s overlap; give each time once"
            )
    return items


#: A list of overrides as options take it (the API's and the render's): checked for overlaps once parsed.
LayoutOverrides = Annotated[list[LayoutOverride], AfterValidator(check_overrides)]


@dataclass(frozen=True)
class View:
    kind: Literal["single", "split", "wide", "centre"]
    faces: tuple[int, ...] = ()  # track ids: the followed face, or (top, bottom)


WIDE = View("wide")
CENTRE = View("centre")


@dataclass
class Segment:
    """A stretch of the output (s, output timeline) shown with one view."""

    start: float
    end: float
    view: View
    shot: int
    frames: list[int] = field(default_factory=list)  # analysis frames inside it


@dataclass
class Plan:
    segments: list[Segment]
    analysis: Analysis
    out_times: dict[int, float]  # analysis frame → output time

    @property
    def switches(self) -> int:
        """View changes inside shots (shot cuts not counted)."""
        return sum(1 for a, b in itertools.pairwise(self.segments) if a.shot == b.shot and a.view != b.view)


def _split_pair(tracks: Sequence[Track]) -> View:
    two = sorted(tracks[:2], key=lambda t: t.centre(min(t.boxes))[0])
    return View("split", (two[0].id, two[1].id))


def _wanted(mode: str, tracks: Sequence[Track], label: int | None) -> View | None:
    """The view a frame asks for; None: whatever is held (nobody talks, or it is not clear who)."""
    if mode == "wide":
        return WIDE
    if mode == "auto" and (not tracks or len(tracks) >= 3 or min(t.size() for t in tracks) < MIN_FACE):
        return WIDE
    if not tracks:
        return CENTRE if mode == "single" else WIDE
    if len(tracks) == 1:
        return View("single", (tracks[0].id,))
    if mode == "split":
        return _split_pair(tracks)
    if label == BOTH_TALK:
        return _split_pair(tracks) if mode == "auto" else None
    if label is not None and any(t.id == label for t in tracks):
        return View("single", (label,))
    return None


def _default(mode: str, tracks: Sequence[Track]) -> View:
    if mode == "auto" and len(tracks) == 2:
        return _split_pair(tracks)
    return View("single", (tracks[0].id,)) if tracks else CENTRE


def _hold(runs: list[list], fps: float, min_hold: float) -> list[list]:
    """Merge runs ``[view, frames]`` shorter than ``min_hold`` into their neighbours, shortest first."""
    runs = _coalesce(runs)
    while len(runs) > 1:
        n = min(range(len(runs)), key=lambda k: len(runs[k][1]))
        if len(runs[n][1]) / fps >= min_hold:
            break
        left = runs[n - 1] if n > 0 else None
        right = runs[n + 1] if n + 1 < len(runs) else None
        if left and right and left[0] == right[0]:
            target = left
        elif left and right:
            target = left if len(left[1]) >= len(right[1]) else right
        else:
            target = left or right
        assert target is not None
        runs[n][0] = target[0]
        runs = _coalesce(runs)
    return runs


def _coalesce(runs: list[list]) -> list[list]:
    out: list[list] = []
    for view, frames in runs:
        if out and out[-1][0] == view:
            out[-1][1] = out[-1][1] + frames
        else:
            out.append([view, list(frames)])
    return out


def plan(
    analysis: Analysis,
    speakers: Speakers,
    *,
    mode: str,
    to_out: Callable[[float], float | None],
    duration: float,
    overrides: Sequence[LayoutOverride] = (),
    window_start: float = 0.0,
    min_hold: float = MIN_HOLD,
) -> Plan:
    """Segments of the output with their views (module docstring). ``to_out`` maps a time on the window's
    timeline to the output's (None inside a cut); ``window_start`` is the window's start on the source
    timeline (overrides are given there)."""
    kept: list[int] = []
    out_times: dict[int, float] = {}
    for i, t in enumerate(analysis.times):
        o = to_out(t)
        if o is not None:
            kept.append(i)
            out_times[i] = o
    regions: list[tuple[tuple[int, int], str, list[int]]] = []  # ((shot, override), mode, frames)
    for i in kept:
        src_t = window_start + analysis.times[i]
        k = next((n for n, o in enumerate(overrides) if o.start <= src_t < o.end), -1)
        key = (analysis.shot_of[i], k)
        if regions and regions[-1][0] == key:
            regions[-1][2].append(i)
        else:
            regions.append((key, overrides[k].layout if k >= 0 else mode, [i]))
    stable = {s: analysis.stable_tracks(s) for s in set(analysis.shot_of)}
    segments: list[Segment] = []
    for (shot, _), m, frames in regions:
        tracks = stable[shot]
        wanted = [_wanted(m, tracks, speakers.labels[i]) for i in frames]
        first = next((v for v in wanted if v is not None), _default(m, tracks))
        held: list[View] = []
        for v in wanted:
            held.append(v if v is not None else (held[-1] if held else first))
        runs = _hold([[v, [i]] for v, i in zip(held, frames, strict=True)], analysis.fps, min_hold)
        for view, fr in runs:
            segments.append(Segment(out_times[fr[0]], out_times[fr[-1]], view, shot, fr))
    if not segments:
        return Plan([Segment(0.0, duration, CENTRE if mode == "single" else WIDE, 0)], analysis, out_times)
    # Boundaries halfway between the last frame of one segment and the first of the next.
    for a, b in itertools.pairwise(segments):
        mid = (a.end + b.start) / 2
        a.end, b.start = mid, mid
    segments[0].start, segments[-1].end = 0.0, duration
    merged: list[Segment] = []
    for s in segments:
        if merged and (s.end - s.start < MIN_SEGMENT or (merged[-1].view == s.view and merged[-1].shot == s.shot)):
            merged[-1].end = s.end
            merged[-1].frames += s.frames
        else:
            merged.append(s)
    if len(merged) > 1 and merged[0].end - merged[0].start < MIN_SEGMENT:
        merged[1].start = 0.0
        merged[1].frames = merged[0].frames + merged[1].frames
        merged.pop(0)
    return Plan(merged, analysis, out_times)


# ------------------------------------------------------------------------------------------- geometry


def _track(analysis: Analysis, tid: int) -> Track:
    return next(t for t in analysis.tracks if t.id == tid)


def _keys(plan_: Plan, seg: Segment, tid: int) -> list[Keyframe]:
    """Crop-centre keyframes following track ``tid`` through ``seg``, on the segment's own clock."""
    track = _track(plan_.analysis, tid)
    samples = [
        Sample(t=max(0.0, plan_.out_times[i] - seg.start), faces=[track.boxes[i]])
        for i in seg.frames
        if i in track.boxes
    ]
    if not samples:
        box = next(iter(track.boxes.values()))
        samples = [Sample(t=0.0, faces=[box])]
    return crop_path(samples)


def _split_crop(track: Track, src_w: int, src_h: int, half_w: int, half_h: int) -> tuple[int, int]:
    """Crop size (px) of one split half: ``SPLIT_ZOOM`` face heights tall, never wider than half the frame."""
    ch = min(src_h, max(0.45 * src_h, SPLIT_ZOOM * track.size() * src_h))
    cw = ch * half_w / half_h
    if cw > src_w / 2:
        cw = src_w / 2
        ch = cw * half_h / half_w
    return min(src_w, _even(cw)), min(src_h, _even(ch))


def _origin(keys: Sequence[Keyframe], t: float, cw: int, ch: int, src_w: int, src_h: int) -> tuple[float, float]:
    k = next((k for k in reversed(keys) if k.t <= t + 1e-6), keys[0])
    return min(max(k.cx * src_w - cw / 2, 0), src_w - cw), min(max(k.cy * src_h - ch / 2, 0), src_h - ch)


def _crop(keys: Sequence[Keyframe], cw: int, ch: int, src_w: int, src_h: int) -> str:
    xs = [(k.t, min(max(k.cx * src_w - cw / 2, 0), src_w - cw), k.cut) for k in keys]
    ys = [(k.t, min(max(k.cy * src_h - ch / 2, 0), src_h - ch), k.cut) for k in keys]
    x = _piecewise(xs) if cw < src_w else "0"
    y = _piecewise(ys) if ch < src_h else "0"
    return f"crop={cw}:{ch}:{x}:{y}"


def _view_filter(plan_: Plan, seg: Segment, src_w: int, src_h: int, out_w: int, out_h: int, inp: str, out: str) -> str:
    v = seg.view
    if v.kind == "wide":
        return reframe_filter("blur", src_w, src_h, out_w, out_h, inp=inp, out=out)
    if v.kind == "centre":
        return reframe_filter("crop", src_w, src_h, out_w, out_h, inp=inp, out=out)
    if v.kind == "single":
        return reframe_filter(
            "face", src_w, src_h, out_w, out_h, inp=inp, out=out, keyframes=_keys(plan_, seg, v.faces[0])
        )
    half_w, half_h = out_w, _even(out_h / 2)
    parts = [f"[{inp}]split=2[{out}_a][{out}_b]"]
    for tag, tid in zip("ab", v.faces, strict=True):
        cw, ch = _split_crop(_track(plan_.analysis, tid), src_w, src_h, half_w, half_h)
        crop = _crop(_keys(plan_, seg, tid), cw, ch, src_w, src_h)
        parts.append(f"[{out}_{tag}]{crop},scale={half_w}:{half_h}:flags=bicubic,setsar=1[{out}_{tag}s]")
    parts.append(f"[{out}_as][{out}_bs]vstack=inputs=2,scale={out_w}:{out_h},setsar=1[{out}]")
    return ";".join(parts)


def layout_filter(plan_: Plan, src_w: int, src_h: int, out_w: int, out_h: int, *, inp: str, out: str) -> str:
    """The filter-graph fragment ``[inp]...[out]`` that frames every segment of ``plan_`` (one pass)."""
    segs = plan_.segments
    if len(segs) == 1:
        return _view_filter(plan_, segs[0], src_w, src_h, out_w, out_h, inp, out)
    n = len(segs)
    parts = [f"[{inp}]split={n}" + "".join(f"[ly{k}]" for k in range(n))]
    for k, seg in enumerate(segs):
        end = "" if k == n - 1 else f":end={seg.end:.3f}"
        parts.append(f"[ly{k}]trim=start={seg.start:.3f}{end},setpts=PTS-STARTPTS[lyt{k}]")
        parts.append(_view_filter(plan_, seg, src_w, src_h, out_w, out_h, f"lyt{k}", f"lyv{k}"))
    parts.append("".join(f"[lyv{k}]" for k in range(n)) + f"concat=n={n}:v=1:a=0[{out}]")
    return ";".join(parts)


def face_bands(plan_: Plan, src_w: int, src_h: int, out_w: int, out_h: int) -> list[FaceBand]:
    """Where faces are on the output frame, frame by frame (for captions to keep off them). In a split the
    two faces make two bands with the seam between them free, which is where captions go."""
    a = plan_.analysis
    spacing = 1 / a.fps
    bands: list[FaceBand] = []
    for seg in plan_.segments:
        v = seg.view
        keys = {tid: _keys(plan_, seg, tid) for tid in v.faces}
        for i in seg.frames:
            t = plan_.out_times[i]
            shown: list[tuple[float, float]] = []  # (top, bottom) fractions of the output height
            if v.kind == "single":
                cw, ch = crop_size(src_w, src_h, out_w, out_h)
                x0, y0 = _origin(keys[v.faces[0]], t - seg.start, cw, ch, src_w, src_h)
                for tr in a.tracks:
                    if tr.shot == seg.shot and i in tr.boxes:
                        x, y, w, h = tr.boxes[i]
                        if x * src_w < x0 + cw and (x + w) * src_w > x0:
                            shown.append(((y * src_h - y0) / ch, ((y + h) * src_h - y0) / ch))
            elif v.kind == "split":
                half_h = _even(out_h / 2)
                for n, tid in enumerate(v.faces):
                    tr = _track(a, tid)
                    if i not in tr.boxes:
                        continue
                    cw, ch = _split_crop(tr, src_w, src_h, out_w, half_h)
                    _, y0 = _origin(keys[tid], t - seg.start, cw, ch, src_w, src_h)
                    x, y, w, h = tr.boxes[i]
                    off = n * half_h / out_h
                    k = half_h / out_h / ch
                    shown.append((off + (y * src_h - y0) * k, off + ((y + h) * src_h - y0) * k))
            elif v.kind == "wide":
                scale = min(out_w / src_w, out_h / src_h)
                fg_h = src_h * scale
                off = (out_h - fg_h) / 2
                for tr in a.tracks:
                    if tr.shot == seg.shot and i in tr.boxes:
                        _, y, _, h = tr.boxes[i]
                        shown.append(((off + y * fg_h) / out_h, (off + (y + h) * fg_h) / out_h))
            for top, bottom in shown:
                bands.append(
                    FaceBand(start=t - spacing / 2, end=t + spacing / 2, top=max(0.0, top), bottom=min(1.0, bottom))
                )
    return bands


# ------------------------------------------------------------------------------------------------ entry


@dataclass
class Framing:
    """What the render needs from a layout: the filter fragment, the faces' places for captions, the plan."""

    filter: str
    bands: list[FaceBand]
    plan: Plan


def frame(
    source: Path,
    start: float,
    duration: float,
    *,
    mode: str,
    overrides: Sequence[LayoutOverride],
    to_out: Callable[[float], float | None],
    out_duration: float,
    src_size: tuple[int, int],
    out_size: tuple[int, int],
    silence_db: float,
    timeout: float,
    inp: str = "vcut",
    out: str = "vfit",
) -> Framing:
    """Analyse the window ``start..start+duration`` of ``source`` and lay it out (module docstring). The audio
    is read (8 kHz) only when some shot has two faces or more, where it decides who talks."""
    from core.media.audio_scan import audio_levels
    from core.media.speaker import active_speakers
    from core.media.tracks import analyse

    analysis = analyse(source, start, duration, timeout=timeout)
    several = any(len(analysis.stable_tracks(s)) >= 2 for s in set(analysis.shot_of))
    levels = audio_levels(source, start=start, duration=duration, timeout=timeout) if several else None
    speakers = active_speakers(analysis, levels, silence_db=silence_db)
    p = plan(
        analysis, speakers, mode=mode, to_out=to_out, duration=out_duration, overrides=overrides, window_start=start
    )
    (src_w, src_h), (out_w, out_h) = src_size, out_size
    return Framing(
        filter=layout_filter(p, src_w, src_h, out_w, out_h, inp=inp, out=out),
        bands=face_bands(p, src_w, src_h, out_w, out_h),
        plan=p,
    )
