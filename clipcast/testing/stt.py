"""``SpeechToTextContract``: what every speech-to-text backend must do, on a real spoken sample.

Subclass it (a ``Test...`` class) and provide an ``stt`` fixture returning the backend. The sample is generated
at test time: ``SAMPLE_TEXT`` spoken by espeak-ng (installed with Clipcast's system dependencies) and converted
to the 16 kHz mono WAV the core hands to ``transcribe``. The suite checks the transcript's shape (language,
duration, words in order inside the audio, probabilities 0..1, progress fractions 0..1) and that at least
``min_recall`` of ``SAMPLE_WORDS`` were heard (0.5 by default: espeak-ng's voice is hard for small models).
A backend that talks to a server can set ``min_recall = 0`` and check the mapping in its own tests instead.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import ClassVar

import pytest

from clipcast import SpeechToText, Transcript

SAMPLE_TEXT = "Hello and welcome. Today we talk about why that matters for your health."
SAMPLE_WORDS = ("hello", "welcome", "today", "talk", "matters", "health")


def speech_sample(dest_dir: Path, text: str = SAMPLE_TEXT) -> Path:
    """``text`` spoken by espeak-ng as a 16 kHz mono WAV in ``dest_dir`` (skips when espeak-ng is absent)."""
    if not (shutil.which("espeak-ng") and shutil.which("ffmpeg")):
        pytest.skip("espeak-ng and ffmpeg are needed for the speech sample")
    from core.media.ffmpeg import extract_audio
    from core.media.synth import speak

    raw = speak(text, dest_dir / "sample-espeak.wav")
    return extract_audio(raw, dest_dir / "sample.wav")


class SpeechToTextContract:
    #: Share of ``SAMPLE_WORDS`` the transcript must contain.
    min_recall: ClassVar[float] = 0.5

    @pytest.fixture
    def sample(self, tmp_path: Path) -> Path:
        return speech_sample(tmp_path)

    def test_is_a_speech_to_text_backend(self, stt: SpeechToText) -> None:
        assert isinstance(stt, SpeechToText) and stt.name
        assert stt.cache_key(), "cache_key() identifies the settings that change the output"

    def test_transcribes_the_sample(self, stt: SpeechToText, sample: Path) -> None:
        import wave

        with wave.open(str(sample)) as w:
            seconds = w.getnframes() / w.getframerate()
        fractions: list[float] = []
        t = stt.transcribe(sample, language="en", progress=lambda f, _m: fractions.append(f))
        assert isinstance(t, Transcript)
        assert t.language and t.backend == stt.name
        assert t.duration == pytest.approx(seconds, abs=0.5)
        starts = [w.start for w in t.words]
        assert starts == sorted(starts), "words must be in time order"
        for w in t.words:
            assert 0 <= w.start <= w.end <= seconds + 0.25, w
            assert 0 <= w.probability <= 1, w
        for s in t.segments:
            assert s.start <= s.end
        assert all(0 <= f <= 1 for f in fractions), fractions
        heard = set(re.findall(r"[a-z]+", t.text.lower()))
        recall = sum(word in heard for word in SAMPLE_WORDS) / len(SAMPLE_WORDS)
        assert recall >= self.min_recall, f"heard {t.text!r}"
