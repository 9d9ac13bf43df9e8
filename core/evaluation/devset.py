"""The labelled development set: committed talk texts (``bench/devset/talks/*.yaml``) → espeak-ng speech + manifest.

Each talk is spoken paragraph by paragraph, so every paragraph's span in the joined audio is known exactly
(its first and last non-silent sample): highlight labels come from the audio, not from a recogniser. The
media (16-bit mono WAV at espeak's 22.05 kHz) goes to a cache directory and is never committed; building is
idempotent (a talk whose text, voice and speed are unchanged is not spoken again).

Talk file: ``title``, ``voice`` (an espeak-ng voice, e.g. ``en-gb`` or ``en-us+f3``), ``speed`` (words per
minute), ``pause`` (seconds of silence between paragraphs) and ``paragraphs``: each ``kind`` (``highlight``
or ``filler``), optional ``tags`` (``subtle``, ``trap``, ``greeting``...) and ``text``.
"""

from __future__ import annotations

import hashlib
import json
import wave
from pathlib import Path

import numpy as np
import yaml

from core.media.synth import speak

TALKS = Path(__file__).resolve().parents[2] / "bench" / "devset" / "talks"
#: Samples below this level (of full scale) count as silence when measuring a paragraph's speech span.
SILENT = 0.01


def talk_files(names: list[str] | None = None) -> list[Path]:
    files = sorted(TALKS.glob("*.yaml"))
    if names:
        files = [f for f in files if any(f.stem.startswith(n) for n in names)]
    return files


def _read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as w:
        rate = w.getframerate()
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        if w.getnchannels() > 1:
            data = data.reshape(-1, w.getnchannels())[:, 0]
    return data, rate


def _speech_span(samples: np.ndarray) -> tuple[int, int]:
    loud = np.flatnonzero(np.abs(samples.astype(np.float32)) > SILENT * 32768)
    return (int(loud[0]), int(loud[-1]) + 1) if loud.size else (0, 0)


def build_talk(spec_path: Path, out_dir: Path, *, paragraphs: int | None = None) -> dict:
    """Speak one talk (its first ``paragraphs`` only, when given: CI's small part of the set) into
    ``out_dir/<stem>.wav``; return its manifest entry (times in seconds)."""
    spec = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    if paragraphs:
        spec["paragraphs"] = spec["paragraphs"][:paragraphs]
    fingerprint = hashlib.sha256(spec_path.read_bytes() + str(paragraphs).encode()).hexdigest()[:16]
    media = out_dir / f"{spec_path.stem}.wav"
    meta = out_dir / f"{spec_path.stem}.json"
    if media.is_file() and meta.is_file():
        cached = json.loads(meta.read_text())
        if cached.get("fingerprint") == fingerprint:
            return cached["entry"]
    out_dir.mkdir(parents=True, exist_ok=True)
    pieces: list[np.ndarray] = []
    paragraphs: list[dict] = []
    rate = 0
    offset = 0
    for i, para in enumerate(spec["paragraphs"]):
        wav = speak(
            " ".join(para["text"].split()),
            out_dir / f".part-{spec_path.stem}-{i}.wav",
            voice=spec.get("voice", "en-us"),
            words_per_minute=int(spec.get("speed", 165)),
        )
        samples, rate = _read_wav(wav)
        wav.unlink()
        a, b = _speech_span(samples)
        samples = samples[a:b]
        pause = np.zeros(int(float(spec.get("pause", 1.0)) * rate), dtype="<i2")
        if i:
            pieces.append(pause)
            offset += pause.size
        paragraphs.append(
            {
                "start": round(offset / rate, 3),
                "end": round((offset + samples.size) / rate, 3),
                "kind": para["kind"],
                "tags": list(para.get("tags") or []),
            }
        )
        pieces.append(samples)
        offset += samples.size
    tail = np.zeros(int(0.5 * rate), dtype="<i2")
    audio = np.concatenate([*pieces, tail])
    tmp = media.with_suffix(".part.wav")
    with wave.open(str(tmp), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(audio.tobytes())
    tmp.replace(media)
    entry = {
        "id": spec_path.stem,
        "path": media.name,
        "title": spec.get("title", spec_path.stem),
        "tags": [spec.get("voice", "en-us"), f"{spec.get('speed', 165)}wpm"],
        "highlights": [
            {"start": p["start"], "end": p["end"], "tags": p["tags"]} for p in paragraphs if p["kind"] == "highlight"
        ],
        "paragraphs": paragraphs,
    }
    meta.write_text(json.dumps({"fingerprint": fingerprint, "entry": entry}, indent=1))
    return entry


def build(out_dir: Path, names: list[str] | None = None, *, paragraphs: int | None = None) -> Path:
    """Build the talks (all, or those whose file name starts with one of ``names``); write ``manifest.json``."""
    out_dir = Path(out_dir)
    videos = [build_talk(f, out_dir, paragraphs=paragraphs) for f in talk_files(names)]
    manifest = out_dir / "manifest.json"
    manifest.write_text(json.dumps({"version": 1, "videos": videos}, indent=1))
    return manifest
