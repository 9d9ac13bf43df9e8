"""Layouts for more than one face (core/media/layout.py): split, active-speaker cuts, holds, shots, overrides.

The media test films two speakers (tests/layout_media.py: the astronaut photo twice, espeak-ng turns, the
talker's mouth opening with their voice) and reads the rendered frames back with the face detector and the
speakers' badge colours. Set RENDER_FRAMES_DIR to keep the frames looked at.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from api_support import client, error_of, make_user, seed

from core.app import Clipcast
from core.config import Settings
from core.media.captions import FaceBand, build_captions, load_style
from core.media.layout import MIN_HOLD, LayoutOverride, plan
from core.media.speaker import BOTH_TALK, Speakers
from core.media.tracks import Analysis, Track, is_cut
from core.models import Clip
from core.pipeline.ingest import ingest
from core.pipeline.render import RenderOptions, render_clip
from tests.render_media import attach_words, frame, frames_dir, new_clip, timed_words

pytest.importorskip("cv2")
FAST = {"preset": "ultrafast", "normalize_loudness": False, "remove_silence": False}


def _saved(name: str) -> Path | None:
    d = frames_dir()
    return d / name if d else None


# ------------------------------------------------------------------------------------------- planning


def _two_faces(n: int, fps: float = 6.0, shots: list[int] | None = None, faces: int = 2, size: float = 0.3) -> Analysis:
    """An analysis of ``n`` frames: ``faces`` still faces side by side in every frame."""
    shot_of = shots or [0] * n
    tracks = []
    for shot in sorted(set(shot_of)):
        frames = [i for i in range(n) if shot_of[i] == shot]
        for k in range(faces):
            box = ((k + 0.5) / faces - 0.07, 0.3, 0.14, size)
            tracks.append(Track(id=len(tracks), shot=shot, boxes=dict.fromkeys(frames, box), detected=set(frames)))
    looked = {s: sum(1 for x in shot_of if x == s) for s in set(shot_of)}
    return Analysis(fps=fps, times=[(i + 0.5) / fps for i in range(n)], shot_of=shot_of, tracks=tracks,
                    detector="test", looked=looked)  # fmt: skip


def _labels(spans: list[tuple[float, float, int | None]], n: int, fps: float = 6.0) -> Speakers:
    labels: list[int | None] = [None] * n
    for a, b, who in spans:
        for i in range(n):
            if a <= (i + 0.5) / fps < b:
                labels[i] = who
    return Speakers(labels=labels, voiced=[1.0] * n, scores={})


def _views(p) -> list[tuple[float, str, tuple[int, ...]]]:  # type: ignore[no-untyped-def]
    return [(round(s.start, 2), s.view.kind, s.view.faces) for s in p.segments]


def test_auto_cuts_to_each_turn_and_holds_through_an_interjection() -> None:
    n = 72  # 12 s at 6 fps: A 0-4 s, B says "yes" 4-4.7 s, A 4.7-8 s, B 8-12 s
    a = _two_faces(n)
    sp = _labels([(0, 4, 0), (4, 4.7, 1), (4.7, 8, 0), (8, 12, 1)], n)
    p = plan(a, sp, mode="auto", to_out=lambda t: t, duration=12.0)
    assert [(k, f) for _, k, f in _views(p)] == [("single", (0,)), ("single", (1,))], _views(p)
    assert abs(p.segments[1].start - 8.0) < 0.2 and p.switches == 1
    # Rapid exchanges (turns shorter than the hold) and cross-talk show both: split, never a flicker.
    sp = _labels([(0, 3, 0), (3, 3.5, 1), (3.5, 4, 0), (4, 4.6, 1), (4.6, 5.2, 0), (5.2, 8, BOTH_TALK), (8, 12, 1)], n)
    p = plan(a, sp, mode="auto", to_out=lambda t: t, duration=12.0)
    inner = p.segments[1:-1] if len(p.segments) > 2 else []
    assert all(s.end - s.start >= MIN_HOLD for s in inner), _views(p)
    assert any(s.view.kind == "split" for s in p.segments) and p.switches <= 3, _views(p)
    # single never splits: cross-talk keeps whoever was shown
    p = plan(a, sp, mode="single", to_out=lambda t: t, duration=12.0)
    assert all(s.view.kind == "single" for s in p.segments) and p.switches <= 2, _views(p)


def test_auto_goes_wide_for_many_or_small_faces_and_cuts_with_the_shot() -> None:
    n = 36
    p = plan(_two_faces(n, faces=3), _labels([], n), mode="auto", to_out=lambda t: t, duration=6.0)
    assert _views(p) == [(0.0, "wide", ())]
    p = plan(_two_faces(n, size=0.05), _labels([], n), mode="auto", to_out=lambda t: t, duration=6.0)
    assert _views(p) == [(0.0, "wide", ())]
    # A cut at 3 s to a one-face shot: a new segment right there, whatever the hold.
    a = _two_faces(n, shots=[0] * 18 + [1] * 18)
    a.tracks = [t for t in a.tracks if not (t.shot == 1 and t.id == 3)]
    p = plan(a, _labels([(0, 3, 0)], n), mode="auto", to_out=lambda t: t, duration=6.0)
    assert [(k, f) for _, k, f in _views(p)] == [("single", (0,)), ("single", (2,))]
    assert abs(p.segments[1].start - 3.0) < 0.1 and p.switches == 0  # a shot cut, not a switch


def test_overrides_force_a_layout_for_their_time_on_the_source_timeline() -> None:
    n = 60
    a = _two_faces(n)
    sp = _labels([(0, 10, 0)], n)
    over = [LayoutOverride(start=104.0, end=107.0, layout="wide")]  # the clip starts at 100 s in the source
    p = plan(a, sp, mode="auto", to_out=lambda t: t, duration=10.0, overrides=over, window_start=100.0)
    assert [(round(t), k) for t, k, _ in _views(p)] == [(0, "single"), (4, "wide"), (7, "single")], _views(p)
    with pytest.raises(ValueError, match="end must be after start"):
        LayoutOverride(start=3, end=2, layout="split")
    with pytest.raises(ValueError, match="overlap"):
        RenderOptions(layouts=[{"start": 1, "end": 3, "layout": "wide"}, {"start": 2, "end": 4, "layout": "split"}])


def test_cuts_are_told_from_grain_and_talking() -> None:
    rng = np.random.default_rng(1)
    a = np.full((90, 160), 90, np.uint8)
    a[20:60, 40:80] = 200
    noisy = np.clip(a.astype(int) + rng.integers(-6, 7, a.shape), 0, 255).astype(np.uint8)
    moved = np.roll(a, 3, axis=1)
    other = np.full((90, 160), 30, np.uint8)
    other[10:80, 90:150] = 160
    assert not is_cut(a, noisy) and not is_cut(a, moved)
    assert is_cut(a, other)


def test_captions_sit_between_the_two_faces_of_a_split() -> None:
    style = load_style("clean", None)
    words = timed_words("two people talk here", start=0.1, step=0.3)
    faces = [FaceBand(start=0, end=2, top=0.15, bottom=0.38), FaceBand(start=0, end=2, top=0.62, bottom=0.85)]
    ass = build_captions(words, style, 1080, 1920, faces=faces).burn
    line = next(x for x in ass.splitlines() if x.startswith("Dialogue:"))
    margin_v = int(line.split(",")[7])
    # MarginV counts from the bottom edge (alignment 2): the text's middle is near the seam at 960 px.
    assert 1920 * 0.4 < 1920 - margin_v < 1920 * 0.62, margin_v


# ---------------------------------------------------------------------------------------------- media


@pytest.fixture(scope="module")
def two_speakers(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    pytest.importorskip("skimage")
    from layout_media import two_speakers as film

    d = tmp_path_factory.mktemp("two")
    return film([(0, "Hello, I am the first speaker here."), (1, "And I am the second one, answering.")],
                d / "two.mp4", size=(480, 270), fps=12)  # fmt: skip


@pytest.mark.slow
def test_split_stacks_the_faces_and_auto_cuts_to_whoever_talks(tmp_path: Path, two_speakers) -> None:  # type: ignore[no-untyped-def]
    from layout_media import who_is_shown

    app = Clipcast(Settings(data_dir=tmp_path / "data", output_dir=tmp_path / "clips"))
    video = ingest(app, two_speakers.path)
    attach_words(app, video, timed_words("hello i am the first speaker here and i am the second one", step=0.4))
    a_turn, b_turn = two_speakers.turns
    a_mid, b_mid = (a_turn.start + a_turn.end) / 2, (b_turn.start + b_turn.end) / 2

    # Short clips keep it quick: 1.5 s for the split, A's second half and most of B's turn for auto.
    cid = new_clip(app, video, a_mid - 0.75, a_mid + 0.75)
    clip = render_clip(app, cid, options=RenderOptions(layout="split", aspect="9:16", **FAST))
    img = frame(app.storage.local_path(clip.video_key), 0.75, _saved("layout-split.png"))
    shown = sorted(who_is_shown(img), key=lambda s: s[1][1])
    assert [who for who, _ in shown] == [0, 1], shown  # A (left in the source) on top, B below
    for half, (_, (x, y, w, h)) in enumerate(shown):
        cx, cy = x + w / 2, y + h / 2
        assert abs(cx - 0.5) < 0.12 and abs(cy - (0.25 + 0.5 * half)) < 0.12, (half, cx, cy)

    start = a_mid - 0.5
    cid = new_clip(app, video, start, b_turn.end - 0.3)
    clip = render_clip(app, cid, options=RenderOptions(layout="auto", aspect="9:16", **FAST))
    path = app.storage.local_path(clip.video_key)
    assert [w for w, _ in who_is_shown(frame(path, 0.3, _saved("layout-auto-a.png")))] == [0]
    assert [w for w, _ in who_is_shown(frame(path, b_mid - start, _saved("layout-auto-b.png")))] == [1]
    with app.session() as s:
        assert s.get(Clip, cid).render_options["layout"] == "auto"  # type: ignore[union-attr]


# ------------------------------------------------------------------------------------------------ API


def test_patch_takes_a_layout_and_per_shot_overrides_and_refuses_bad_ones(app: Clipcast) -> None:
    api = client(app)
    alice = make_user(app, "alice@example.com")
    ids = seed(app, alice.id)  # the clip runs 1-16 s
    url, h = f"/api/clips/{ids['clip']}", alice.headers
    body = {
        "layout": "auto",
        "layouts": [{"start": 2, "end": 5, "layout": "wide"}, {"start": 5, "end": 9, "layout": "split"}],
    }
    r = api.patch(url, json=body, headers=h)
    assert r.status_code == 200, r.text
    with app.session() as s:
        opts = s.get(Clip, ids["clip"]).render_options  # type: ignore[union-attr]
    assert opts["layout"] == "auto" and opts["layouts"][1] == {"start": 5.0, "end": 9.0, "layout": "split"}
    RenderOptions(**opts)  # what the render job will be given is valid
    bad = [
        ({"layout": "grid"}, "layout"),
        ({"layouts": [{"start": 4, "end": 3, "layout": "wide"}]}, "end must be after start"),
        ({"layouts": [{"start": 2, "end": 5, "layout": "wide"}, {"start": 4, "end": 6, "layout": "wide"}]}, "overlap"),
        ({"layouts": [{"start": 12, "end": 20, "layout": "wide"}]}, "outside the clip"),
        ({"layouts": [{"start": 2, "end": 3, "layout": "wide", "zoom": 2}]}, "zoom"),
    ]
    for patch, words in bad:
        r = api.patch(url, json=patch, headers=h)
        assert r.status_code == 422 and words in error_of(r)["message"], (patch, r.text)
    with app.session() as s:
        assert s.get(Clip, ids["clip"]).render_options == opts  # type: ignore[union-attr]  # nothing lost
