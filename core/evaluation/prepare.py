"""Media → 16 kHz WAV → transcript, cached under ``<data_dir>/eval/`` so re-running an evaluation is fast.

Speech-to-text is the slow part of an evaluation (selection takes milliseconds per talk). The cache key is the
one the pipeline uses (audio sha256 + the backend's settings + language), so changing the STT model re-runs it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.contracts import Transcript
from core.evaluation.manifest import Manifest, VideoEntry
from core.media import ffmpeg
from core.pipeline.transcribe import cache_key, file_sha256, repair_word_timings


@dataclass
class Prepared:
    entry: VideoEntry
    audio: Path
    transcript: Transcript
    duration: float


def eval_cache(app: Any) -> Path:
    return Path(app.settings.data_dir) / "eval"


def prepare(app: Any, manifest: Manifest, entry: VideoEntry, *, stt: str | None = None) -> Prepared:
    src = manifest.media(entry)
    sha = file_sha256(src)
    cache = eval_cache(app)
    wav = cache / "audio" / f"{sha}.wav"
    if not wav.is_file():
        ffmpeg.extract_audio(src, wav)
    backend = app.stt(stt)
    key = cache_key(file_sha256(wav), backend.cache_key(), None)
    path = cache / "transcripts" / f"{key}.json"
    if path.is_file():
        transcript = Transcript.model_validate_json(path.read_text(encoding="utf-8"))
    else:
        transcript = repair_word_timings(backend.transcribe(wav))
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part")
        tmp.write_text(json.dumps(transcript.model_dump(mode="json")), encoding="utf-8")
        tmp.replace(path)
    duration = ffmpeg.probe(wav).duration
    return Prepared(entry=entry, audio=wav, transcript=transcript, duration=duration)
