"""Two speakers, one vertical frame: is the one talking in the picture? ``layout: auto`` beside the face crop.

    .venv/bin/python bench/layout_quality.py [--runs 2] [--frames DIR]

A generated interview (tests/layout_media.py: two faces left and right, espeak-ng turns of 0.5-6 s, the
talker's mouth moving with their voice; who talks is known at every moment) is rendered 9:16 three ways, in
the same run and interleaved: the default (``reframe: blur``), the single-face crop (``reframe: face``, the
baseline: it follows the largest face) and ``layout: auto``. The rendered files are read back at 4 frames a
second; a frame shows speaker A or B when the face detector finds a face with that speaker's badge under it.
Printed per mode: the share of speaking time the speaker is in the frame, the share they are alone in it
(a single crop on them), the number of times what the frame shows changes, and the render time (best of
``--runs``), with the extra time of ``layout: auto`` over the default. Silence removal is off so the output
keeps the source's clock (the known turns).
"""

from __future__ import annotations

import argparse
import itertools
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import numpy as np  # noqa: E402
from layout_media import TwoSpeakers, two_speakers, who_is_shown  # noqa: E402

from core import models  # noqa: E402
from core.app import Clipcast  # noqa: E402
from core.config import Settings  # noqa: E402
from core.pipeline.ingest import ingest  # noqa: E402
from core.pipeline.render import RenderOptions, render_clip  # noqa: E402

SCRIPT = [
    (0, "Welcome back to the show. Today we talk about making short videos from long ones."),
    (1, "Thanks for having me. I have been cutting clips by hand for years."),
    (0, "Right."),
    (1, "And the hardest part is always finding the moment people will actually watch."),
    (0, "So how do you find it? Do you watch the whole recording again?"),
    (1, "Yes. Every minute of it, twice, with notes."),
    (0, "That sounds slow. What would you change first, if you could?"),
    (1, "I would let the machine find the candidates, and keep the final choice for myself."),
    (0, "Makes sense. A human still decides what is worth posting."),
    (1, "Exactly, and the framing too: choose who to show, and switch when the other one speaks."),
]
MODES = {
    "default (reframe blur)": {"reframe": "blur"},
    "single-face crop (reframe face)": {"reframe": "face"},
    "layout auto": {"layout": "auto"},
}


def shown(path: Path, fps: float = 4.0) -> list[tuple[float, set[int]]]:
    """(time, speakers in the frame) for ``fps`` frames a second of a rendered clip (270x480 RGB)."""
    w, h = 270, 480
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-vf", f"fps={fps},scale={w}:{h}", "-f", "rawvideo",
         "-pix_fmt", "rgb24", "pipe:1"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    frames = np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3)
    return [((i + 0.5) / fps, {who for who, _ in who_is_shown(f)}) for i, f in enumerate(frames)]


def score(talk: TwoSpeakers, seen: list[tuple[float, set[int]]]) -> tuple[float, float, int]:
    """(share of speaking time the speaker is in frame, share they are alone in it, changes of what is shown)."""
    spoken = [(talk.speaker_at(t), s) for t, s in seen if talk.speaker_at(t) is not None]
    in_frame = sum(1 for who, s in spoken if who in s) / max(1, len(spoken))
    alone = sum(1 for who, s in spoken if s == {who}) / max(1, len(spoken))
    changes = sum(1 for (_, a), (_, b) in itertools.pairwise(seen) if a != b)
    return in_frame, alone, changes


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=2, help="renders per mode (times: best of these)")
    ap.add_argument("--frames", type=Path, default=None, help="save a frame per mode (and a switch) here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        t0 = time.perf_counter()
        talk = two_speakers(SCRIPT, d / "interview.mp4", size=(960, 540), fps=25, face_height=0.28)
        print(f"generated {talk.duration:.1f} s interview, {len(talk.turns)} turns in {time.perf_counter() - t0:.0f} s")
        app = Clipcast(Settings(data_dir=d / "data", output_dir=d / "clips"))
        video = ingest(app, talk.path)
        times: dict[str, list[float]] = {m: [] for m in MODES}
        last: dict[str, Path] = {}
        for _ in range(args.runs):
            for mode, opts in MODES.items():  # interleaved: the machine's load changes over the run
                with app.session() as s:
                    clip = models.Clip(video_id=video.id, start=0.0, end=talk.duration, text="")
                    s.add(clip)
                    s.commit()
                    s.refresh(clip)
                    cid = clip.id
                t = time.perf_counter()
                row = render_clip(app, cid, options=RenderOptions(remove_silence=False, **opts))  # type: ignore[arg-type]
                times[mode].append(time.perf_counter() - t)
                last[mode] = app.storage.local_path(row.video_key)
        print(
            f"{'mode':34} {'speaker in frame':>17} {'speaker alone':>14} {'view changes':>13} {'render s (best)':>16}"
        )
        for mode in MODES:
            seen = shown(last[mode])
            in_frame, alone, changes = score(talk, seen)
            best = min(times[mode])
            print(f"{mode:34} {in_frame:>16.0%} {alone:>14.0%} {changes:>13d} {best:>16.1f}")
        base, auto = min(times["default (reframe blur)"]), min(times["layout auto"])
        every = "; ".join(f"{m}: {[round(x, 1) for x in v]}" for m, v in times.items())
        print(
            f"layout auto costs {auto - base:+.1f} s ({(auto / base - 1):+.0%}) over the default render of a "
            f"{talk.duration:.0f} s clip (best of {args.runs}; all times, s: {every})"
        )
        if args.frames:
            args.frames.mkdir(parents=True, exist_ok=True)
            for mode, name in (("single-face crop (reframe face)", "baseline-face"), ("layout auto", "auto")):
                for t in (talk.turns[1].start + 1.0, talk.turns[3].start + 1.0):
                    png = args.frames / f"layout-bench-{name}-{t:.0f}s.png"
                    cmd = ["ffmpeg", "-v", "error", "-y", "-ss", f"{t:.2f}", "-i", str(last[mode]), "-frames:v", "1"]
                    subprocess.run([*cmd, str(png)], check=True)


if __name__ == "__main__":
    main()
