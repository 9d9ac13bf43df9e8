"""Transcription speed: our pipeline (ingest + ensure_audio + transcribe through the plugin) against plain
faster-whisper on the same audio, same model and options, same run.

    .venv/bin/python bench/transcribe_speed.py [MINUTES] [--keep DIR] [--repeat N]   (default 10 minutes, 4)

A talk of about MINUTES minutes is generated with espeak-ng (varied sentences, pauses between paragraphs).
Both sides load the default model (bundled tiny.en, int8, batched, beam_size 1, VAD, word timestamps, the
filler-keeping initial_prompt) inside
their timing.
Prints each as a multiple of real time and our overhead in percent (target: 5% or less), and fails when the
two sides' words differ. (Handing plain faster-whisper the video file instead, so that it decodes the audio
itself with PyAV, changes words: "trains" for "train" in a 1-minute talk; so it is not a baseline here.)
The machine's other load shows up in both wall-time figures; CPU time (this process's threads plus ffmpeg
children) is printed too, as it is far less disturbed by other processes.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from measure import cpu_seconds

from core.app import Clipcast
from core.config import Settings
from core.media import ffmpeg
from core.media.synth import talk_video
from core.pipeline.ingest import ensure_audio, ingest
from core.pipeline.transcribe import transcribe
from core.plugins import get_manager
from plugins.stt.faster_whisper import FasterWhisper, bundled_model_path

SUBJECTS = ["Our team", "The new library", "A good editor", "This small change", "The city council", "My neighbour"]
VERBS = ["improved", "slowed down", "rebuilt", "explained", "questioned", "measured", "celebrated", "ignored"]
OBJECTS = [
    "the way we ship software",
    "the morning train schedule",
    "the price of fresh bread",
    "how children learn to read",
    "the energy bill for the whole building",
    "three years of careful work",
    "the rules for public parks",
    "a surprising number of complaints",
]
TAILS = [
    "and nobody expected it.",
    "which took about two weeks.",
    "because the old approach had failed twice.",
    "so the results will be published in spring.",
    "even though the budget was tiny.",
    "and the reaction online was mixed.",
]
QUESTIONS = ["Why does this matter?", "What would you do?", "Is that really true?", "How did we get here?"]


def paragraphs(minutes: float, seed: int = 7) -> list[str]:
    """About ``minutes`` of speech at espeak's 165 words per minute, in paragraphs of 3-5 sentences."""
    rng = random.Random(seed)
    words_needed = int(minutes * 172)  # espeak-ng at 165 wpm plus 1.2 s pauses: ~172 words per minute overall
    out: list[str] = []
    count = 0
    while count < words_needed:
        sentences = []
        for _ in range(rng.randint(3, 5)):
            sentence = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(TAILS)}"
            if rng.random() < 0.25:
                sentence += " " + rng.choice(QUESTIONS)
            sentences.append(sentence)
        text = " ".join(sentences)
        out.append(text)
        count += len(text.split())
    return out


def baseline(audio: Path, device: str) -> tuple[float, float, list[str]]:
    """Plain faster-whisper with the backend's default options (device, compute type and model as the backend
    resolves them: on a GPU, float16 and the largest cached model): wall and CPU seconds (model load included),
    and the words."""
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    backend = FasterWhisper(FasterWhisper.Options(device=device))
    o = backend.options
    device, compute_type, name = backend.resolved()
    c0, t0 = cpu_seconds(), time.perf_counter()
    model = WhisperModel(name or str(bundled_model_path()), device=device, compute_type=compute_type)
    runner = BatchedInferencePipeline(model=model) if o.batched else model
    extra = {"batch_size": o.batch_size} if o.batched else {}
    segments, _info = runner.transcribe(
        str(audio),
        beam_size=o.beam_size,
        vad_filter=o.vad_filter,
        vad_parameters={"min_silence_duration_ms": o.vad_min_silence_ms},
        word_timestamps=True,
        initial_prompt=o.initial_prompt or None,  # the backend's default prompt (it keeps fillers): same decoding
        **extra,
    )
    words = [w.word.strip() for s in segments for w in s.words or [] if w.word.strip()]
    return time.perf_counter() - t0, cpu_seconds() - c0, words


def pipeline(video_path: Path, device: str) -> tuple[tuple[float, float, float, float, float], list[str]]:
    """Our side: ingest + audio extraction + transcription through the plugin, in a fresh data directory (nothing
    cached, the model loaded again like the baseline's). (wall, CPU, ingest, audio, transcribe seconds), words."""
    data_dir = Path(tempfile.mkdtemp(prefix="clipcast-bench-data-"))
    app = Clipcast(Settings(data_dir=data_dir, stt={"backend": "faster-whisper", "faster-whisper": {"device": device}}))
    c0, t0 = cpu_seconds(), time.perf_counter()
    video = ingest(app, video_path)
    t1 = time.perf_counter()
    ensure_audio(app, video, warm=app.stt().warm)  # as the analyze stage does: the model loads meanwhile
    t2 = time.perf_counter()
    transcript = transcribe(app, video)
    t3 = time.perf_counter()
    return (t3 - t0, cpu_seconds() - c0, t1 - t0, t2 - t1, t3 - t2), [w.text for w in transcript.words]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("minutes", nargs="?", type=float, default=10.0)
    parser.add_argument("--keep", type=Path, help="directory to keep (and reuse) the generated talk in")
    parser.add_argument("--repeat", type=int, default=4, help="interleaved runs of each side; the best counts")
    parser.add_argument(
        "--device", choices=("auto", "cpu", "cuda"), default="auto", help="both sides (auto: the GPU when present)"
    )
    args = parser.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="clipcast-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    video_path = work / f"talk-{args.minutes:g}min.mp4"
    if not video_path.is_file():
        t0 = time.perf_counter()
        talk_video(paragraphs(args.minutes), video_path, pause=1.2, size="320x180")
        print(f"generated {video_path} in {time.perf_counter() - t0:.1f} s")
    duration = ffmpeg.probe(video_path).duration
    print(f"talk: {duration / 60:.2f} min of generated speech")
    device, compute_type, name = FasterWhisper(FasterWhisper.Options(device=args.device)).resolved()
    print(f"model: {name or 'bundled tiny.en'} on {device} ({compute_type}), load average {os.getloadavg()[0]:.1f}")

    # Plain faster-whisper gets the exact WAV our pipeline feeds the backend, extracted outside its timing.
    reference_wav = ffmpeg.extract_audio(video_path, work / "reference.wav")
    t0 = time.perf_counter()
    get_manager().backends("stt")  # process start-up (plugin imports): paid once per worker, not per video
    print(f"plugin start-up (once per process, not timed below): {time.perf_counter() - t0:.1f} s")

    base_runs: list[tuple[float, float]] = []
    our_runs: list[tuple[float, float, float, float, float]] = []
    base_words: list[str] = []
    our_words: list[str] = []
    for i in range(args.repeat):
        # Interleaved, best of N, and the order alternates (plain first, then ours first...): the machine's other
        # load and any warm-cache advantage of going second hit both sides alike.
        for side in ("plain", "ours") if i % 2 == 0 else ("ours", "plain"):
            if side == "plain":
                base_s, base_cpu, base_words = baseline(reference_wav, args.device)
                base_runs.append((base_s, base_cpu))
            else:
                run, our_words = pipeline(video_path, args.device)
                our_runs.append(run)
        print(
            f"  run {i + 1}: plain {base_runs[-1][0]:.1f} s ({base_runs[-1][1]:.1f} s CPU), "
            f"pipeline {our_runs[-1][0]:.1f} s ({our_runs[-1][1]:.1f} s CPU)",
            flush=True,
        )

    base_s = min(r[0] for r in base_runs)
    ours_s, _cpu, ingest_s, audio_s, stt_s = min(our_runs)
    base_cpu, ours_cpu = min(r[1] for r in base_runs), min(r[1] for r in our_runs)
    same = "same words" if our_words == base_words else f"WORDS DIFFER ({_first_difference(base_words, our_words)})"
    print(f"plain faster-whisper : {base_s:7.1f} s  {duration / base_s:5.1f}x real time  ({len(base_words)} words)")
    print(
        f"clipcast pipeline    : {ours_s:7.1f} s  {duration / ours_s:5.1f}x real time  ({len(our_words)} words, {same})"
        f"  [ingest {ingest_s:.1f} s, audio {audio_s:.1f} s, transcribe {stt_s:.1f} s]"
    )
    print(f"overhead, wall time  : {(ours_s - base_s) / base_s * 100:+.1f}%  (target <= 5%; best of {args.repeat})")
    print(
        f"overhead, CPU time   : {(ours_cpu - base_cpu) / base_cpu * 100:+.1f}%  ({base_cpu:.1f} s vs {ours_cpu:.1f} s)"
    )
    if our_words != base_words:
        sys.exit(1)


def _first_difference(a: list[str], b: list[str]) -> str:
    i = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    return f"from word {i}: {a[i : i + 3]} vs {b[i : i + 3]}"


if __name__ == "__main__":
    main()
