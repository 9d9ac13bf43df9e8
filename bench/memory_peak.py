"""Peak memory of the pipeline per stage, beside the talk's length: is it flat in the length?

    .venv/bin/python bench/memory_peak.py [--minutes 10 60 180] [--keep DIR] [--piece-minutes M] [--baseline]

For each length a talk is generated (espeak-ng, 320x180 flat colour picture, bench/transcribe_speed.py's
paragraphs; ``--keep`` reuses ``talk-<N>min.mp4`` there) and run stage by stage in a fresh child process:
ingest, audio (16 kHz WAV extraction), transcribe (default faster-whisper backend on the CPU, model load
included), select (``analyze`` on the ingested video: candidates, pauses, scoring, summary; the transcript comes
from the cache). Per stage it prints the process's peak RSS over that stage (VmHWM, reset through
``/proc/self/clear_refs`` before each stage) beside what was resident when the stage began (memory an
earlier stage freed is often kept by the allocator, so a stage's peak never reads below it), and the largest
peak of any ffmpeg child over the run (``ChildPeak``).

``--piece-minutes M`` sets ``stt.faster-whisper.piece_minutes`` (0 = whole file, the old behaviour);
``--baseline`` runs every length a second time with ``piece_minutes: 0`` so both rows come from one run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

STAGES = ("start", "ingest", "audio", "transcribe", "select")


def status_mb(field: str) -> float:
    """A memory field of /proc/self/status (VmHWM: peak RSS since the last ``reset_peak``; VmRSS: now), MB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def reset_peak() -> None:
    """Set VmHWM back to the current RSS (Linux: writing 5 to clear_refs)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


class ChildPeak(threading.Thread):
    """The largest peak RSS (VmHWM) of this process's children (ffmpeg), read from /proc every 50 ms.

    ``RUSAGE_CHILDREN`` cannot tell: a child spawned from a big process reports the parent's peak (Linux keeps
    the old address space's high-water mark across exec). A child's own VmHWM starts afresh at exec; what it
    grows in its last 50 ms before exiting is missed."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0.0

    def run(self) -> None:
        me = os.getpid()
        while True:
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    with open(f"/proc/{pid}/stat") as f:
                        if int(f.read().rsplit(")", 1)[1].split()[1]) != me:
                            continue
                    with open(f"/proc/{pid}/status") as f:
                        hwm = next((ln for ln in f if ln.startswith("VmHWM:")), None)
                except (OSError, ValueError, IndexError):
                    continue  # exited meanwhile
                if hwm:
                    self.peak = max(self.peak, int(hwm.split()[1]) / 1024)
            time.sleep(0.05)


def child(video_path: Path, piece_minutes: float | None) -> dict[str, list[float]]:
    """Run the stages on ``video_path`` in this (fresh) process: stage → [peak MB, MB resident at its start,
    the largest child's peak MB, seconds]."""
    from core.app import Clipcast
    from core.config import Settings
    from core.pipeline.analyze import analyze
    from core.pipeline.ingest import ensure_audio, ingest
    from core.pipeline.transcribe import transcribe

    stt: dict = {"device": "cpu"}
    if piece_minutes is not None:
        stt["piece_minutes"] = piece_minutes
    data_dir = Path(tempfile.mkdtemp(prefix="clipcast-bench-mem-"))
    app = Clipcast(Settings(data_dir=data_dir, stt={"backend": "faster-whisper", "faster-whisper": stt}))
    children = ChildPeak()
    children.start()
    out: dict[str, list[float]] = {"start": [status_mb("VmHWM"), 0.0, 0.0, 0.0]}
    video = None

    def stage(name: str, fn) -> None:  # type: ignore[no-untyped-def]
        reset_peak()
        children.peak = 0.0
        before, t0 = status_mb("VmRSS"), time.perf_counter()
        fn()
        out[name] = [status_mb("VmHWM"), before, children.peak, time.perf_counter() - t0]

    def do_ingest() -> None:
        nonlocal video
        video = ingest(app, video_path)

    stage("ingest", do_ingest)
    stage("audio", lambda: ensure_audio(app, video))
    stage("transcribe", lambda: transcribe(app, video))
    stage("select", lambda: analyze(app, video.id))
    return out


def talk(work: Path, minutes: float) -> Path:
    """The kept talk of ``minutes`` minutes, generated when missing."""
    from transcribe_speed import paragraphs

    from core.media.synth import talk_video

    path = work / f"talk-{minutes:g}min.mp4"
    if not path.is_file():
        t0 = time.perf_counter()
        part = path.with_name(path.stem + ".part.mp4")
        talk_video(paragraphs(minutes), part, pause=1.2, size="320x180", timeout=4 * 3600)
        part.rename(path)
        print(f"generated {path} in {time.perf_counter() - t0:.0f} s", flush=True)
    return path


def run_child(video_path: Path, piece_minutes: float | None) -> dict[str, list[float]]:
    cmd = [sys.executable, __file__, "--child", str(video_path)]
    if piece_minutes is not None:
        cmd += ["--piece-minutes", f"{piece_minutes:g}"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"child failed on {video_path.name}:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", nargs="+", type=float, default=[10.0, 60.0, 180.0])
    parser.add_argument("--keep", type=Path, help="directory to keep (and reuse) the generated talks in")
    parser.add_argument("--piece-minutes", type=float, help="stt.faster-whisper.piece_minutes (default: its own)")
    parser.add_argument("--baseline", action="store_true", help="also run each length with piece_minutes 0")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.piece_minutes)))
        return

    work = args.keep or Path(tempfile.mkdtemp(prefix="clipcast-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    runs = [(args.piece_minutes, "default" if args.piece_minutes is None else f"{args.piece_minutes:g}")]
    if args.baseline:
        runs.append((0.0, "0 (whole)"))
    print(
        f"load average {os.getloadavg()[0]:.1f}. Peak RSS per stage, MB (in brackets: resident at the stage's "
        "start); ffmpeg: the largest child's peak, MB"
    )
    print(f"{'minutes':>7} {'pieces':>10} " + " ".join(f"{s:>12}" for s in STAGES[1:]) + "  ffmpeg  transcribe s")
    for minutes in args.minutes:
        video_path = talk(work, minutes)
        for piece_minutes, label in runs:
            res = run_child(video_path, piece_minutes)
            cells = " ".join(f"{res[s][0]:5.0f} ({res[s][1]:4.0f})" for s in STAGES[1:])
            ffmpeg_mb = max(res[s][2] for s in STAGES)
            print(f"{minutes:7g} {label:>10} {cells} {ffmpeg_mb:7.0f} {res['transcribe'][3]:12.1f}", flush=True)


if __name__ == "__main__":
    main()
