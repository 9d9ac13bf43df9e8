"""Local speech-to-text (faster-whisper, bundled tiny.en) on real and generated speech, plus the transcript cache.

Truth for the shared sample talk (../shared/media/README.md): speech 0.0-13.1 s, 13.9-17.2 s ("... I will say
banana"), near-silence 17.2-38.9 s, "banana banana" 38.9-41.0 s.
"""

from __future__ import annotations

import itertools
import math
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from core import models
from core.app import Clipcast
from core.config import BackendSection, Settings
from core.contracts import Segment, Transcript, Word
from core.errors import ConfigError, InputError
from core.media.synth import speak
from core.pipeline.ingest import ensure_audio, ingest
from core.pipeline.transcribe import repair_word_timings, transcribe
from core.progress import Cancelled, NullReporter
from plugins.stt.faster_whisper import FasterWhisper
from tests.conftest import TALK_VIDEO, need

TOLERANCE = 0.5
# espeak-ng's voice is hard for tiny.en; with a full sentence of context these phrases come out reliably.
SENTENCE = "Hello and welcome. Today we talk about why that matters for your health."


class Recorder(NullReporter):
    def __init__(self, cancel_after_first_segment: bool = False) -> None:
        self.stages: list[str] = []
        self.percents: list[float] = []
        self.cancel = cancel_after_first_segment

    def stage(self, name: str) -> None:
        self.stages.append(name)

    def progress(self, percent: float, message: str = "") -> None:
        if self.stages and self.stages[-1] == "transcribe":
            self.percents.append(percent)

    def check_cancelled(self) -> None:
        if self.cancel and any(0 < p < 100 for p in self.percents):
            raise Cancelled("the user cancelled the job")


def _app(tmp: Path, stt_options: dict[str, Any] | None = None) -> Clipcast:
    stt = {"backend": "faster-whisper"} | ({"faster-whisper": stt_options} if stt_options else {})
    return Clipcast(Settings(data_dir=tmp, stt=BackendSection.model_validate(stt)))


@pytest.fixture(scope="module")
def talk(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The sample talk ingested and transcribed once with the default settings (batched, beam_size 1, VAD)."""
    if not TALK_VIDEO.is_file():
        pytest.skip(f"{TALK_VIDEO} is absent (the shared sample talk)")
    need(shutil.which("ffmpeg") is not None, "ffmpeg is not installed")
    app = _app(tmp_path_factory.mktemp("talk"))
    video = ingest(app, TALK_VIDEO)
    reporter = Recorder()
    transcript = transcribe(app, video, reporter=reporter)
    return {"app": app, "video": video, "transcript": transcript, "reporter": reporter}


@pytest.fixture(scope="module")
def spoken(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A short generated English sentence (espeak-ng)."""
    need(shutil.which("espeak-ng") is not None, "espeak-ng is not installed (make setup installs it)")
    return speak(SENTENCE, tmp_path_factory.mktemp("spoken") / "hello.wav")


def _word(transcript: Transcript, text: str, nth: int = 0) -> Word:
    hits = [w for w in transcript.words if w.text.strip(".,!?").lower() == text]
    assert len(hits) > nth, f"{text!r} not found (or too few times) in: {transcript.text}"
    return hits[nth]


@pytest.mark.slow
def test_default_transcript_of_real_speech(talk: dict[str, Any]) -> None:
    """Defaults (batched, beam_size 1, VAD): known phrases present, word times within 0.5 s, nothing in the pause,
    and the quiet words after the long pause kept (faster-whisper's batched VAD default of 160 ms lost them)."""
    t: Transcript = talk["transcript"]
    text = t.text.lower()
    assert "example video" in text and "banana" in text
    assert t.language == "en" and t.backend == "faster-whisper" and t.model == "bundled:tiny.en"
    assert t.duration == pytest.approx(42.45, abs=0.1)
    assert abs(_word(t, "hello").start - 0.0) <= TOLERANCE
    assert abs(_word(t, "example").start - 2.0) <= TOLERANCE
    assert abs(_word(t, "time", 0).end - 13.1) <= TOLERANCE  # "...you can see the time."
    assert abs(_word(t, "when").start - 13.9) <= TOLERANCE
    assert not [w for w in t.words if 18.5 < w.start < 38.4], "words inside the long pause"
    late = [w for w in t.words if w.start > 18.5]  # after the pause: only the final "banana banana"
    assert late and all(w.start >= 38.9 - TOLERANCE and w.end <= 41.0 + TOLERANCE for w in late), late
    assert any("banana" in w.text.lower() for w in late), late
    for w in t.words:
        assert 0 <= w.start <= w.end <= t.duration and 0 <= w.probability <= 1


def test_speech_is_found_once_per_transcription(talk: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """Silero VAD runs once: the re-decoding of chunks the prompted run left empty (the quiet "banana banana")
    uses the batched run's own speech chunks (it ran VAD and PyAV's decode a second time: 6% of the stage)."""
    import faster_whisper.transcribe as fwt
    import faster_whisper.vad as fwv

    calls: list[str] = []
    for module in (fwt, fwv):
        real = module.get_speech_timestamps
        monkeypatch.setattr(
            module, "get_speech_timestamps", lambda *a, _r=real, **k: calls.append("vad") or _r(*a, **k)
        )
    app = talk["app"]
    t = app.stt().transcribe(ensure_audio(app, talk["video"]))
    assert calls == ["vad"]
    assert [w.text for w in t.words] == [w.text for w in talk["transcript"].words]
    assert any("banana" in w.text.lower() for w in t.words if w.start > 38.4)  # the recovered chunk


@pytest.mark.slow
def test_word_times_within_half_a_second_with_beam_5(tmp_path: Path, talk_video: Path) -> None:
    """The most accurate setting (beam_size 5, no VAD, no disfluent prompt; ~11x real time) reproduces the
    reference transcript (with the prompt, the sequential decoder merged "banana banana" into one word)."""
    app = _app(tmp_path / "data", {"beam_size": 5, "vad_filter": False, "initial_prompt": None})
    t = transcribe(app, ingest(app, talk_video))
    assert "when the time reaches 40 seconds, i will say banana" in t.text.lower()
    assert abs(_word(t, "hello").start - 0.0) <= TOLERANCE
    assert abs(_word(t, "time", 0).end - 13.1) <= TOLERANCE
    assert abs(_word(t, "when").start - 13.9) <= TOLERANCE
    assert abs(_word(t, "banana", 0).end - 17.2) <= TOLERANCE
    assert abs(_word(t, "banana", 1).start - 38.9) <= TOLERANCE
    assert abs(_word(t, "banana", 2).end - 41.0) <= TOLERANCE


@pytest.mark.slow
def test_progress_is_reported_and_stored_in_the_cache(talk: dict[str, Any]) -> None:
    reporter: Recorder = talk["reporter"]
    assert "transcribe" in reporter.stages
    assert reporter.percents == sorted(reporter.percents) and reporter.percents[-1] == 100.0
    per_segment = [p for p in reporter.percents if 0 < p < 100]  # one update per segment, not just start/end
    assert len(per_segment) == len(talk["transcript"].segments) >= 1
    app, video = talk["app"], talk["video"]
    with app.session() as s:
        rows = s.exec(select(models.Transcript)).all()
        assert len(rows) == 1 and rows[0].backend == "faster-whisper" and rows[0].language == "en"
        assert s.get(models.Video, video.id).transcript_id == rows[0].id


@pytest.mark.slow
def test_second_call_hits_the_cache(talk: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    app, video = talk["app"], talk["video"]
    backend = app.stt()
    calls: list[str | None] = []

    def fake(audio: Path, *, language: str | None = None, progress: Any = None) -> Transcript:
        calls.append(language)
        return Transcript(language="en", duration=1.0, segments=[], backend="faster-whisper")

    monkeypatch.setattr(backend, "transcribe", fake)
    again = transcribe(app, video)
    assert calls == [] and again == talk["transcript"]
    # Another language is another cache entry: the backend runs.
    transcribe(app, video, language="en")
    assert calls == ["en"]
    transcribe(app, video, language="en")
    assert calls == ["en"]


@pytest.mark.slow
def test_cancel_between_segments_stores_nothing(talk: dict[str, Any]) -> None:
    app, video = talk["app"], talk["video"]

    def count() -> int:
        with app.session() as s:
            return len(s.exec(select(models.Transcript)).all())

    before = count()
    reporter = Recorder(cancel_after_first_segment=True)
    with pytest.raises(Cancelled):
        transcribe(app, video, language="en-US", reporter=reporter)  # a new cache key: really runs
    assert 0 < max(reporter.percents) < 100
    assert count() == before


def test_english_only_model_refuses_other_languages(spoken: Path) -> None:
    backend = FasterWhisper()
    with pytest.raises(InputError) as info:
        backend.transcribe(spoken, language="de")
    assert str(info.value).startswith(
        "the speech-to-text model bundled:tiny.en understands English only; cannot transcribe language 'de'"
    )
    assert "multilingual model" in str(info.value)
    t = backend.transcribe(spoken, language="en")
    assert "welcome" in t.text.lower() and t.language == "en"


@pytest.mark.slow
def test_sequential_decoding_and_no_vad(spoken: Path) -> None:
    for options in ({"batched": False}, {"batch_size": 4}, {"vad_filter": False, "beam_size": 2}):
        t = FasterWhisper(FasterWhisper.Options.model_validate(options)).transcribe(spoken)
        assert "welcome" in t.text.lower() and "your health" in t.text.lower()
        assert all(w.end >= w.start for w in t.words) and t.words
    assert FasterWhisper().batched and not FasterWhisper(FasterWhisper.Options(vad_filter=False)).batched


def test_cache_key_follows_options_that_change_output() -> None:
    def key(**o: Any) -> str:
        return FasterWhisper(FasterWhisper.Options.model_validate(o)).cache_key()

    assert key() == key(cpu_threads=2, download_root="/tmp/models")
    variants = [key(beam_size=5), key(model="small"), key(vad_filter=False), key(batched=False)]
    assert len({key(), key(vad_min_silence_ms=500), *variants}) == 6
    assert key(language="de") != key()
    # The disfluent prompt changes which words come back (fillers): a different prompt is another transcript.
    assert len({key(), key(initial_prompt=None), key(initial_prompt="Uh, hmm.")}) == 3


def test_model_loads_once_across_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    import faster_whisper

    created: list[str] = []

    class SlowModel:
        def __init__(self, source: str, **kw: Any) -> None:
            time.sleep(0.05)
            created.append(source)

    monkeypatch.setattr(faster_whisper, "WhisperModel", SlowModel)
    backend = FasterWhisper()
    threads = [threading.Thread(target=backend._load) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(created) == 1 and backend.loads == 1
    assert Path(created[0]).name == "model" and (Path(created[0]) / "model.bin").is_file()


def test_unknown_model_is_a_config_error(tmp_path: Path, spoken: Path) -> None:
    backend = FasterWhisper(FasterWhisper.Options(model=str(tmp_path / "no-such-model")))
    with pytest.raises(ConfigError) as info:
        backend.transcribe(spoken)
    assert "stt.faster-whisper: cannot load model" in str(info.value)


@pytest.mark.slow
def test_ensure_audio_then_transcribe_generated_video(tmp_path: Path, spoken: Path) -> None:
    """The whole path on generated speech: ingest → 16 kHz audio → transcript with timed words."""
    from core.media.synth import talk_video

    video_path = talk_video([SENTENCE], tmp_path / "talk.mp4", size="160x120")
    app = _app(tmp_path / "data")
    video = ingest(app, video_path)
    assert ensure_audio(app, video).is_file()
    t = transcribe(app, video)
    assert "welcome" in t.text.lower() and "your health" in t.text.lower()
    assert t.words[0].start < 1.0 and t.words[-1].end <= video.duration + 0.1


# ---------------------------------------------------------------------------------------- word timing repair


def test_untimed_words_are_interpolated_between_neighbours() -> None:
    nan = math.nan
    words = [
        Word(text="one", start=1.0, end=1.5),
        Word(text="two", start=nan, end=nan),
        Word(text="three", start=3.0, end=2.0),  # end before start: invalid
        Word(text="four", start=3.5, end=4.0),
    ]
    t = Transcript(
        language="en", duration=5, segments=[Segment(start=1.0, end=4.0, text="one two three four", words=words)]
    )
    fixed = repair_word_timings(t).words
    assert [w.text for w in fixed] == ["one", "two", "three", "four"]
    assert (fixed[0].start, fixed[0].end, fixed[3].start, fixed[3].end) == (1.0, 1.5, 3.5, 4.0)  # kept
    # "two" and "three" share 1.5..3.5 in proportion to their length (3 and 5 characters).
    assert fixed[1].start == 1.5 and fixed[1].end == pytest.approx(2.25)
    assert fixed[2].start == pytest.approx(2.25) and fixed[2].end == pytest.approx(3.5)


def test_segment_text_without_words_becomes_timed_words() -> None:
    t = Transcript(
        language="en",
        duration=10,
        segments=[Segment(start=2.0, end=4.0, text="ab abcd ab"), Segment(start=5.0, end=6.0, text="")],
    )
    fixed = repair_word_timings(t)
    words = fixed.segments[0].words
    assert [(w.text, w.start, w.end) for w in words] == [("ab", 2.0, 2.5), ("abcd", 2.5, 3.5), ("ab", 3.5, 4.0)]
    assert fixed.segments[1].words == []


PARAGRAPHS = [
    "Our team rebuilt the way we ship software. It took about two weeks and nobody expected it.",
    "The city council questioned the price of fresh bread. The reaction online was mixed.",
    "A good editor measured the energy bill for the whole building. The results come in spring.",
    "My neighbour celebrated three years of careful work. Why does this matter to all of us?",
    "The new library explained how children learn to read. The budget for it was tiny.",
    "This small change improved the morning train schedule. The old approach had failed twice.",
    "Our team ignored a surprising number of complaints. What would you do in their place?",
    "The city council measured the rules for public parks. Is that really true, I wonder?",
    "A good editor slowed down the price of fresh bread, because the old approach had failed twice.",
    "My neighbour explained the morning train schedule, and the reaction online was mixed.",
    "This small change questioned how children learn to read. How did we get here?",
    "The new library improved the rules for public parks, even though the budget was tiny.",
]


@pytest.fixture(scope="module")
def long_talk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 1.5 minutes of generated speech as a 16 kHz WAV, paragraphs 2.5 s of silence apart (longer than
    vad_min_silence_ms, so a cut in a pause is one the VAD would split at too)."""
    import subprocess
    import wave

    import numpy as np

    need(shutil.which("espeak-ng") is not None, "espeak-ng is not installed (make setup installs it)")
    need(shutil.which("ffmpeg") is not None, "ffmpeg is not installed")
    tmp = tmp_path_factory.mktemp("long")
    parts = []
    for i, text in enumerate(PARAGRAPHS):
        raw = speak(text, tmp / f"p{i}.wav")
        cmd = ["ffmpeg", "-v", "error", "-i", str(raw), "-ar", "16000", "-ac", "1", "-f", "s16le", "-"]
        parts += [np.frombuffer(subprocess.run(cmd, capture_output=True, check=True).stdout, "<i2")]
        parts += [np.zeros(40_000, "<i2")]
    wav = tmp / "long.wav"
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(np.concatenate(parts).tobytes())
    return wav


@pytest.mark.slow
def test_long_audio_in_pieces(long_talk: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """piece_minutes 0.5 on ~1.5 minutes: 3 pieces cut in pauses. Exact: each piece's words and times are a
    whole-file transcription of that piece's samples, shifted by its start; faster-whisper never gets more
    than one piece of samples; progress only moves forward. Against one whole-file run: the same words more
    than 15 s (half a VAD chunk) from every cut. Near a cut they may differ: VAD groups speech into chunks of
    up to 30 s from a piece's start, so the chunks around a cut (the decoder's context) are not the same."""
    import wave

    import numpy as np

    from plugins.stt.faster_whisper import read_pcm16

    whole = FasterWhisper(FasterWhisper.Options(piece_minutes=0)).transcribe(long_talk)
    backend = FasterWhisper(FasterWhisper.Options(piece_minutes=0.5))
    pieces = backend.pieces(long_talk)
    assert len(pieces) == 3 and pieces[0][0] == 0 and pieces[-1][1] == round(whole.duration * 16000)
    for (_, end), (start, _) in itertools.pairwise(pieces):
        assert end == start
        pause = np.abs(read_pcm16(long_talk, 16000, (end - 1600, end + 1600))).max()
        assert pause == 0, "a cut 0.1 s from speech"

    runner = backend._load()
    handed: list[int] = []
    real = runner.transcribe
    monkeypatch.setattr(runner, "transcribe", lambda audio, **k: handed.append(len(audio)) or real(audio, **k))
    fractions: list[float] = []
    pieced = backend.transcribe(long_talk, progress=lambda f, m: fractions.append(f))
    assert max(handed) <= max(b - a for a, b in pieces) and len(handed) >= 3
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(set(fractions)) > 3
    assert pieced.duration == pytest.approx(whole.duration, abs=0.001)
    starts = [w.start for w in pieced.words]
    assert starts == sorted(starts) and all(0 <= w.start <= w.end <= pieced.duration for w in pieced.words)

    expected: list[tuple[str, float, float]] = []
    for i, (a, b) in enumerate(pieces):
        piece_wav = tmp_path / f"piece{i}.wav"
        with wave.open(str(piece_wav), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(16000)
            w.writeframes((read_pcm16(long_talk, 16000, (a, b)) * 32768).astype("<i2").tobytes())
        alone = FasterWhisper(FasterWhisper.Options(piece_minutes=0)).transcribe(piece_wav)
        expected += [(w.text, round(w.start + a / 16000, 3), round(w.end + a / 16000, 3)) for w in alone.words]
    got = [(w.text, w.start, w.end) for w in pieced.words]
    assert [g[0] for g in got] == [e[0] for e in expected]
    assert all(abs(g[1] - e[1]) <= 0.002 and abs(g[2] - e[2]) <= 0.002 for g, e in zip(got, expected, strict=True))

    def near_cut(t: float) -> bool:
        return any(abs(t - end / 16000) < 15 for _, end in pieces[:-1])

    far = [w.text for w in pieced.words if not near_cut(w.start)]
    assert far == [w.text for w in whole.words if not near_cut(w.start)]
