"""A plugin used by the foundation tests: an STT backend and a publisher with a required option."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, SecretStr

from core.contracts import PostStatus, Publisher, PublishRequest, PublishResult, Segment, SpeechToText, Transcript, Word
from core.hookspecs import hookimpl


class EchoSTT(SpeechToText):
    """Returns the words of a fixed sentence, evenly spread over the audio's nominal duration."""

    name = "echo"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        text: str = "hello from the echo backend"
        seconds_per_word: float = 0.5

    def transcribe(self, audio: Path, *, language=None, progress=None) -> Transcript:  # type: ignore[override]
        words = [
            Word(text=w, start=i * self.options.seconds_per_word, end=(i + 1) * self.options.seconds_per_word)
            for i, w in enumerate(self.options.text.split())
        ]
        seg = Segment(start=words[0].start, end=words[-1].end, text=self.options.text, words=words)
        return Transcript(language=language or "en", duration=words[-1].end, segments=[seg], backend=self.name)


class EchoPublisher(Publisher):
    name = "echo-pub"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        client_key: str
        client_secret: SecretStr | None = None
        max_seconds: int = 60

    def preflight(self, request, account):  # type: ignore[no-untyped-def]
        return []

    def publish(self, request: PublishRequest, account) -> PublishResult:  # type: ignore[no-untyped-def]
        return PublishResult(status=PostStatus.PUBLISHED, remote_id="echo-1")

    def check_status(self, remote_id, account):  # type: ignore[no-untyped-def]
        return PublishResult(status=PostStatus.PUBLISHED, remote_id=remote_id)


@hookimpl
def register_stt_backends(register):  # type: ignore[no-untyped-def]
    register(EchoSTT)


@hookimpl
def register_publishers(register):  # type: ignore[no-untyped-def]
    register(EchoPublisher)
