"""Test kit for plugins: the contract suites Clipcast's built-ins pass, and bases for local fake servers.

Subclass a contract in a ``Test...`` class and give it the fixtures its docstring names; pytest runs the
inherited tests against your backend. Needs pytest (and requests, which Clipcast installs). Part of the public
plugin API (docs/plugin_api.md).
"""

from __future__ import annotations

from typing import Any

from clipcast.testing.fakes import FakeServer, Fault, OAuthFake, Request, Response, js
from clipcast.testing.publisher import PublisherContract
from clipcast.testing.selector import SelectorContract, talk_transcript
from clipcast.testing.storage import PatternStream, StorageContract
from clipcast.testing.stt import SAMPLE_TEXT, SAMPLE_WORDS, SpeechToTextContract, speech_sample
from clipcast.testing.video import vertical_video


def loopback_settings(**values: Any) -> Any:
    """Installation settings for tests whose fake servers listen on loopback: the egress guard, strict by
    default, lets 127.0.0.0/8 and ::1 through and nothing else. Bind backends with it:
    ``publisher.bind(loopback_settings())``. ``values`` are further ``Settings`` fields."""
    from core.config import Settings

    values.setdefault("ingest", {"allowed_networks": ["127.0.0.0/8", "::1/128"]})
    return Settings(**values)


__all__ = [
    "SAMPLE_TEXT",
    "SAMPLE_WORDS",
    "FakeServer",
    "Fault",
    "OAuthFake",
    "PatternStream",
    "PublisherContract",
    "Request",
    "Response",
    "SelectorContract",
    "SpeechToTextContract",
    "StorageContract",
    "js",
    "loopback_settings",
    "speech_sample",
    "talk_transcript",
    "vertical_video",
]
