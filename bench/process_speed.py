"""End-to-end speed of `clipcast process` on a generated talk, per stage, as a multiple of real time.

    .venv/bin/python bench/process_speed.py [--minutes 10] [--picture testsrc2|flat|VIDEO] [--keep DIR] [...]
    .venv/bin/python bench/process_speed.py --minutes 1 --option hook_title=true   # the cost of one option

Prints each stage's wall time divided by the source duration (0.10x = a 10-minute video takes 1 minute),
then the render stage beside a bare baseline measured in the same run: one plain ffmpeg crop+scale+encode
per clip over the same segments, same encoder settings, same parallelism. CPU seconds (this process and its ffmpeg
children) are printed too: on a shared, busy machine they compare fairly where wall times do not.
Targets (issue 4, 2 cores, defaults):
whole pipeline < 0.15x of the source duration; render within 1.5x of the baseline for blur mode.

``--broll cutaway|pip`` then renders the same clips again, without and with B-roll, interleaved
(``--rounds`` of each, best kept): B-roll comes from a generated local library of 640x360 clips named after
the talk's topic words, ``broll.max_inserts`` (3) inserts of ``broll.seconds`` (2 s) per clip.

The speech is always generated (espeak-ng); the picture decides most of the encoder's work:
``testsrc2`` (default) is ffmpeg's moving test pattern: sharp edges, motion in several places, about
2.6 Mbit/s when our render encodes it at 1080x1920 - as busy as ordinary talking-head footage or busier.
``flat`` is the plain colour picture of ``clipcast demo``: the easy bound. A path loops that video's picture
under the generated speech (any real recording you have).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from measure import cpu_seconds

from core.app import Clipcast
from core.config import Settings
from core.contracts import SelectionRequest
from core.media import ffmpeg
from core.media.encoders import NVENC_PRESET
from core.media.synth import talk_video
from core.pipeline.process import process
from core.pipeline.render import RenderOptions

OPENERS = [
    "Here is the thing nobody tells you about",
    "The biggest mistake I see with",
    "If you remember one thing about",
    "Let me tell you a quick story about",
    "Most people get this wrong when it comes to",
    "The secret to getting better at",
]
TOPICS = ["saving money", "public speaking", "learning to code", "running a small shop", "sleep", "cooking at home"]
POINTS = [
    "You do not need more time, you need fewer things on your list.",
    "Start small, do it every day, and measure what changes.",
    "The first version will be bad, and that is exactly the point.",
    "Ask one more question than feels comfortable.",
    "Write it down, because memory lies to you in the morning.",
    "Nobody is watching as closely as you think they are.",
    "The boring option is usually the one that works.",
    "Stop comparing your first year with somebody's tenth.",
]


def script(minutes: float, seed: int = 7, points: int = 4) -> list[str]:
    """Paragraphs of plain talk, about ``minutes`` long when spoken at 165 words per minute, each an opener and
    ``points`` points (about 4.5 s a point: 4 give units of about 18 s, 16 of about 58 s)."""
    rnd = random.Random(seed)
    words_needed = int(minutes * 165 * 0.92)  # pauses take the rest
    parts, count = [], 0
    while count < words_needed:
        # Four points: a paragraph is one talk unit (a clip never straddles two), and with three (about 14 s)
        # no unit reached selection.min_seconds (15 s), so the bench found no clip at all.
        chosen = rnd.sample(POINTS, points) if points <= len(POINTS) else rnd.choices(POINTS, k=points)
        text = f"{rnd.choice(OPENERS)} {rnd.choice(TOPICS)}. " + " ".join(chosen)
        parts.append(text)
        count += len(text.split())
    return parts


class StageCPU:
    """A Reporter that notes CPU seconds per stage."""

    def __init__(self) -> None:
        self.cpu: dict[str, float] = {}
        self.current: str | None = None
        self.mark = cpu_seconds()

    def stage(self, name: str) -> None:
        now = cpu_seconds()
        if self.current:
            self.cpu[self.current] = self.cpu.get(self.current, 0.0) + now - self.mark
        self.current, self.mark = name, now

    def progress(self, percent: float, message: str = "") -> None:
        pass

    def check_cancelled(self) -> None:
        pass


def generate(minutes: float, picture: str, dest: Path, points: int = 4) -> None:
    """The generated talk with the chosen picture (a video file's picture is looped under the speech)."""
    if picture in ("testsrc2", "flat"):
        talk_video(
            script(minutes, points=points),
            dest,
            pause=0.8,
            **({"picture": "testsrc2"} if picture == "testsrc2" else {}),
        )
        return
    footage = Path(picture)
    if not footage.is_file():
        raise SystemExit(f"--picture {picture}: not testsrc2, flat, or a video file")
    speech = dest.with_name("speech.mp4")
    talk_video(script(minutes, points=points), speech, pause=0.8)
    ffmpeg.run(
        ["-stream_loop", "-1", "-i", str(footage), "-i", str(speech), "-map", "0:v", "-map", "1:a",
         "-t", f"{ffmpeg.probe(speech).duration:.3f}", "-c:v", "libx264", "-preset", "veryfast", "-crf", "20",
         "-c:a", "copy", str(dest)],
        timeout=3600,
    )  # fmt: skip
    speech.unlink()


def baseline(
    src: Path, clips: list, out: Path, parallel: int, preset: str, crf: int, x264_params: str, encoder: str
) -> float:
    """Bare ffmpeg: seek, centre crop to 9:16, scale to 1080x1920, encode with the same encoder settings;
    one process per clip."""
    if encoder == "libx264":
        codec = ["-c:v", "libx264", "-preset", preset, "-crf", str(crf)]
        codec += ["-x264-params", x264_params] if x264_params else []
    else:
        codec = ["-c:v", encoder, "-preset", NVENC_PRESET, "-rc", "vbr", "-cq", str(crf), "-b:v", "0"]

    def one(i: int, start: float, end: float) -> None:
        ffmpeg.run(
            ["-ss", f"{start:.3f}", "-t", f"{end - start:.3f}", "-i", str(src),
             "-vf", "crop=ih*9/16:ih,scale=1080:1920", *codec,
             "-c:a", "aac", "-ar", "48000", str(out / f"bare-{i}.mp4")],
            timeout=3600,
        )  # fmt: skip

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        list(pool.map(lambda a: one(*a), [(i, c.start, c.end) for i, c in enumerate(clips)]))
    return time.perf_counter() - t0


def _option(text: str) -> tuple[str, object]:
    key, sep, value = text.partition("=")
    if not sep:
        raise SystemExit(f"--option {text}: expected KEY=VALUE")
    try:
        return key, json.loads(value)
    except ValueError:
        return key, value


#: Words of the generated talk (TOPICS and POINTS above) that get a B-roll clip of their own.
BROLL_WORDS = ["money", "code", "shop", "sleep", "cooking", "list", "version", "question", "memory", "option"]


def broll_library(work: Path) -> Path:
    """A folder of 3-second 640x360 clips (ffmpeg's moving test patterns), one per word in ``BROLL_WORDS``."""
    lib = work / "broll-library"
    lib.mkdir(exist_ok=True)
    patterns = ["mandelbrot", "smptehdbars", "rgbtestsrc", "testsrc", "cellauto"]
    for i, word in enumerate(BROLL_WORDS):
        dest = lib / f"{word}.mp4"
        if not dest.is_file():
            ffmpeg.run(
                ["-f", "lavfi", "-i", f"{patterns[i % len(patterns)]}=s=640x360:r=25", "-t", "3",
                 "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", str(dest)],
                timeout=120,
            )  # fmt: skip
    return lib


def broll_cost(app: Clipcast, clips: list, reframe: str, mode: str, rounds: int) -> None:
    """Render the clips with B-roll off and on, interleaved (off/on, then on/off), ``rounds`` of each; print the
    best wall and CPU time of each and the ratio. Each render is forced (the clip's render hash is cleared)."""
    from core import models
    from core.pipeline import render as render_mod

    inserts: list[int] = []
    plan = render_mod.plan_broll

    def counted(*a, **k):  # type: ignore[no-untyped-def]
        result = plan(*a, **k)
        inserts.append(len(result.inserts))
        return result

    render_mod.plan_broll = counted
    ids = [c.id for c in clips]
    best: dict[str, tuple[float, float]] = {}
    for r in range(rounds):
        for kind in ("off", mode) if r % 2 == 0 else (mode, "off"):
            with app.session() as s:
                for cid in ids:
                    row = s.get(models.Clip, cid)
                    row.render_hash = None
                    s.add(row)
                s.commit()
            inserts.clear()
            c0, t0 = cpu_seconds(), time.perf_counter()
            done = render_mod.render_clips(app, ids, options=RenderOptions(reframe=reframe, broll=kind))
            wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
            failed = [cid for cid, v in done.items() if isinstance(v, Exception)]
            if failed:
                raise SystemExit(f"B-roll bench: clips {failed} failed: {done[failed[0]]}")
            print(f"  round {r + 1} broll={kind}: {wall:.1f} s wall, {cpu:.1f} s CPU"
                  + (f", {sum(inserts)} inserts in {len(ids)} clips" if kind != "off" else ""))  # fmt: skip
            prev = best.get(kind)
            best[kind] = (min(wall, prev[0]), min(cpu, prev[1])) if prev else (wall, cpu)
    render_mod.plan_broll = plan
    (off_wall, off_cpu), (on_wall, on_cpu) = best["off"], best[mode]
    print(f"\nB-roll ({mode}) render of {len(ids)} clips, best of {rounds}: {on_wall:.1f} s vs {off_wall:.1f} s "
          f"without: ratio {on_wall / off_wall:.2f}; CPU {on_cpu:.1f} s vs {off_cpu:.1f} s: "
          f"ratio {on_cpu / off_cpu:.2f}")  # fmt: skip


def rerender(app: Clipcast, clips: list, reframe: str) -> tuple[float, float]:
    """Our render stage again over the same clips (their render hashes cleared so nothing is skipped as up to
    date): wall and CPU seconds."""
    from core import models
    from core.pipeline.render import render_clips

    with app.session() as s:
        for clip in clips:
            row = s.get(models.Clip, clip.id)
            row.render_hash = None
            s.add(row)
    c0, t0 = cpu_seconds(), time.perf_counter()
    render_clips(app, [c.id for c in clips], options=RenderOptions(reframe=reframe))
    return time.perf_counter() - t0, cpu_seconds() - c0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--picture", default="testsrc2", help="testsrc2 (default), flat, or a video file to loop")
    ap.add_argument("--reframe", default="blur", choices=["crop", "blur", "face"])
    ap.add_argument("--clips", type=int, default=5)
    ap.add_argument("--min", type=float, dest="min_seconds", help="shortest clip, s (default: selection.min_seconds)")
    ap.add_argument("--max", type=float, dest="max_seconds", help="longest clip, s (default: selection.max_seconds)")
    ap.add_argument("--points", type=int, default=4,
                    help="sentences after each paragraph's opener (4: talk units of about 18 s; 16: about 58 s, "
                         "for clips near a minute, with --min 50 --max 56)")  # fmt: skip
    ap.add_argument("--keep", type=Path, help="keep the work directory here")
    ap.add_argument("--preset", help="libx264 preset for both sides (default: render.preset)")
    ap.add_argument("--parallel", type=int, help="clips rendered at once, both sides (default: render.parallel)")
    ap.add_argument("--encoder", choices=["libx264", "h264_nvenc"], help="both sides (default: render.encoder)")
    ap.add_argument("--render-repeat", type=int, default=2, help="render/bare pairs, interleaved; best counts")
    ap.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto", help="speech-to-text device")
    ap.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                    help="a render option for our side (VALUE read as JSON, else a string), e.g. hook_title=true, "
                         "auto_emoji=true, platform=tiktok, music=bed.wav (with --music-dir); repeatable")  # fmt: skip
    ap.add_argument("--music-dir", type=Path, help="render.music_dir, for --option music=NAME")
    ap.add_argument("--broll", choices=["cutaway", "pip"], help="also measure the render with B-roll on vs off")
    ap.add_argument("--rounds", type=int, default=3, help="with --broll: renders of each kind, interleaved")
    args = ap.parse_args()
    extra = dict(_option(o) for o in args.option)

    work = args.keep or Path(tempfile.mkdtemp(prefix="clipcast-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        points = "" if args.points == 4 else f"-{args.points}points"
        src = work / f"talk-{args.minutes:g}min-{Path(args.picture).stem}{points}.mp4"
        if not src.is_file():
            t = time.perf_counter()
            generate(args.minutes, args.picture, src, points=args.points)
            print(f"generated {src.name} in {time.perf_counter() - t:.0f} s")
        duration = ffmpeg.probe(src).duration
        run = work / f"run-{int(time.time())}"  # fresh database and storage: no cached transcript or render
        stt = {"backend": "faster-whisper", "faster-whisper": {"device": args.device}}
        broll = {"providers": ["library"], "library": {"roots": [str(broll_library(work))]}} if args.broll else {}
        settings = Settings(data_dir=run / "data", output_dir=run / "clips", stt=stt, broll=broll)
        for key in ("preset", "parallel", "encoder", "music_dir"):
            if getattr(args, key):
                settings.render = settings.render.model_copy(update={key: getattr(args, key)})
        app = Clipcast(settings)
        request = SelectionRequest(clips=args.clips, min_seconds=args.min_seconds or settings.selection.min_seconds,
                                   max_seconds=args.max_seconds or settings.selection.max_seconds)  # fmt: skip
        cpu = StageCPU()
        t = time.perf_counter()
        result = process(app, src, request=request, render_options=RenderOptions(reframe=args.reframe, **extra),
                         output_dir=run / "out", reporter=cpu)  # fmt: skip
        total = time.perf_counter() - t
        cpu.stage("done")
        rendered = sum(c.rendered_duration or 0 for c in result.clips)
        r = settings.render
        ours_runs = [(result.timings.get("render", 0.0), cpu.cpu.get("render", 0.0))]
        bare_runs: list[tuple[float, float]] = []
        for i in range(args.render_repeat):
            # Interleaved, best of N: bare, ours (the pipeline's render was the first "ours"), bare, ours...
            cpu_before = cpu_seconds()
            bare = baseline(src, result.clips, run, r.parallel, r.preset, r.crf, r.x264_params, r.encoder)
            bare_runs.append((bare, cpu_seconds() - cpu_before))
            if i + 1 < args.render_repeat:
                ours_runs.append(rerender(app, result.clips, args.reframe))
            print(f"  render pair {i + 1}: ours {ours_runs[i][0]:.1f} s ({ours_runs[i][1]:.1f} s CPU), "
                  f"bare {bare_runs[i][0]:.1f} s ({bare_runs[i][1]:.1f} s CPU)", flush=True)  # fmt: skip
        bare, bare_cpu = min(b[0] for b in bare_runs), min(b[1] for b in bare_runs)
        best_render, best_render_cpu = min(o[0] for o in ours_runs), min(o[1] for o in ours_runs)
        ours_bytes = sum(f.stat().st_size for f in result.output_dir.glob("clip-*.mp4"))
        bare_bytes = sum(f.stat().st_size for f in run.glob("bare-*.mp4"))

        print(f"\nsource: {duration / 60:.1f} min generated talk ({args.picture} picture), {len(result.clips)} clips, "
              f"{rendered:.0f} s rendered ({args.reframe}, {r.aspect}, {r.caption_style}, preset {r.preset}, "
              f"parallel {r.parallel}, encoder {r.encoder}, speech-to-text on {app.stt().resolved()[0]})")  # fmt: skip
        if extra:
            print(f"render options: {', '.join(f'{k}={v}' for k, v in extra.items())}")
        print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())} (2 cores)")
        print(f"{'stage':<12}{'seconds':>9}{'x real time':>13}{'CPU s':>9}")
        for stage, secs in result.timings.items():
            print(f"{stage:<12}{secs:>9.1f}{secs / duration:>12.3f}x{cpu.cpu.get(stage, 0.0):>9.1f}")
        print(f"{'total':<12}{total:>9.1f}{total / duration:>12.3f}x   (target < 0.15x)")
        render, render_cpu = best_render, best_render_cpu
        n = args.render_repeat
        print(f"\nrender stage {render:.1f} s vs bare ffmpeg crop+encode of the same segments {bare:.1f} s: "
              f"ratio {render / bare:.2f}  (best of {n} each, interleaved; target <= 1.15)")  # fmt: skip
        print(f"CPU: render {render_cpu:.1f} s vs bare {bare_cpu:.1f} s: ratio {render_cpu / bare_cpu:.2f}")
        print(f"size: ours {ours_bytes / 1e6:.1f} MB vs bare {bare_bytes / 1e6:.1f} MB")
        if args.broll and not result.clips:
            print("no clips to render with B-roll (try --min/--max, or a longer --minutes)")
        elif args.broll:
            broll_cost(app, result.clips, args.reframe, args.broll, args.rounds)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
