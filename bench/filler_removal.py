"""How many spoken fillers the default recogniser keeps, and how many the render cuts, on a generated talk.

    .venv/bin/python bench/filler_removal.py [--talk held-out] [--voice en-gb] [--wpm 140]

The talk (espeak-ng) says 7 fillers ("um", "uh", "hmm") between ordinary words. Printed: fillers transcribed
with no prompt (the baseline: Whisper drops disfluencies) and with the default disfluent ``initial_prompt``;
then the clip rendered with ``remove_fillers`` is transcribed again (same prompt) and the fillers still heard
are counted, beside the non-filler words kept. A re-transcription is a strict judge: the prompt also makes
Whisper hear a filler in a clipped word edge. ``--talk held-out`` says other sentences (8 fillers, written
after the cut's constants were set) and ``--voice``/``--wpm`` change the speaker, to see that it transfers.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import models
from core.app import Clipcast
from core.config import Settings
from core.media import ffmpeg
from core.media.cuts import normalise
from core.media.synth import talk_video
from core.pipeline.ingest import ingest
from core.pipeline.render import RenderOptions, render_clip
from core.pipeline.transcribe import transcribe
from plugins.stt.faster_whisper import FasterWhisper

PARTS = [
    "So, um, the first thing is really simple.",
    "You, uh, open the editor and, um, load your video.",
    "Then, uh, you pick the best moment. Um, that is the hard part.",
    "And, uh, you post it. Hmm, easy.",
]
HELD_OUT = [
    "Well, uh, nobody told me about the second step.",
    "I tried, um, three different cameras before, uh, the cheap one won.",
    "Hmm, maybe the light matters more. Uh, it really does.",
    "Um, so keep it bright and, uh, keep it short.",
]
TALKS = {"default": (PARTS, 7), "held-out": (HELD_OUT, 8)}
FILLERS = {"um", "uh", "hmm", "uhm", "erm", "er", "mm", "ah"}


def fillers(words: list) -> list[str]:  # type: ignore[type-arg]
    return [w.text for w in words if normalise(w.text) in FILLERS]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--talk", choices=sorted(TALKS), default="default")
    ap.add_argument("--voice", default="en-us", help="espeak-ng voice")
    ap.add_argument("--wpm", type=int, default=165, help="words per minute")
    ap.add_argument("--remove-silence", action="store_true", help="cut pauses too (as render.remove_silence)")
    ap.add_argument("--noise", type=float, help="add pink noise at this level (dBFS): pauses are not silent")
    args = ap.parse_args()
    parts, spoken = TALKS[args.talk]
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        src = talk_video(parts, d / "fillers.mp4", pause=0.6, size="320x180", voice=args.voice,
                         words_per_minute=args.wpm)  # fmt: skip
        if args.noise is not None:
            noisy = d / "noisy.mp4"
            ffmpeg.run(
                ["-i", str(src), "-f", "lavfi", "-i", f"anoisesrc=color=pink:amplitude={10 ** (args.noise / 20):.5f}",
                 "-filter_complex", "[0:a][1:a]amix=inputs=2:duration=first:normalize=0[a]", "-map", "0:v",
                 "-map", "[a]", "-c:v", "copy", "-c:a", "aac", str(noisy)],
                timeout=120,
            )  # fmt: skip
            src = noisy
        wav = ffmpeg.extract_audio(src, d / "fillers.wav")
        bare = FasterWhisper(FasterWhisper.Options(initial_prompt=None)).transcribe(wav)
        print(f"no prompt:      {len(fillers(bare.words))}/{spoken} fillers transcribed")
        app = Clipcast(Settings(data_dir=d / "data", output_dir=d / "clips"))
        video = ingest(app, src)
        words = transcribe(app, video).words
        found = fillers(words)
        print(f"default prompt: {len(found)}/{spoken} fillers transcribed: {' '.join(found)}")
        with app.session() as s:
            clip = models.Clip(video_id=video.id, start=0.0, end=video.duration, text="")
            s.add(clip)
            s.commit()
            s.refresh(clip)
        opts = RenderOptions(remove_fillers=True, remove_silence=args.remove_silence, preset="ultrafast")
        rendered = render_clip(app, clip.id, options=opts)
        again = app.stt().transcribe(ffmpeg.extract_audio(app.storage.local_path(rendered.video_key), d / "cut.wav"))
        kept = [normalise(w.text) for w in words if normalise(w.text) not in FILLERS]
        heard = {normalise(w.text) for w in again.words}
        print(f"after the cut:  {len(fillers(again.words))} fillers heard again: {' '.join(fillers(again.words))}")
        print(f"                {sum(k in heard for k in kept)}/{len(kept)} other words heard again")
        print("rendered text: ", " ".join(w.text for w in again.words))


if __name__ == "__main__":
    main()
