"""Clipcast's public plugin API: everything a plugin may import, under the product's name.

``import clipcast`` (or ``from clipcast import Publisher, hookimpl``) is the supported surface; ``core.*`` and
``plugins.*`` are internal and change without notice. Every name here is listed in docs/plugin_api.md (a test
fails when one is not). ``PLUGIN_API`` is the surface's version: a minor bump adds names, a major bump removes
or changes them. A renamed name keeps working for one minor release under its old name with a
``DeprecationWarning`` (``_RENAMED`` below), then goes at the next major.

The contract types, hooks, errors and progress protocol are imported at once (they need only pydantic and
pluggy); the helpers (logging, keys, accounts, transcript text, HTTP) load on first use, so importing
``clipcast`` from a plugin never drags the database or the pipeline in, and never imports a plugin back.
"""

from __future__ import annotations

import importlib
import warnings
from typing import TYPE_CHECKING, Any

from core.contracts import (
    Backend,
    BrollAsset,
    BrollProvider,
    BrollQuery,
    Candidate,
    Chapter,
    ClipPlan,
    ClipSelector,
    Event,
    MediaInfo,
    MetricsStatus,
    PostMetrics,
    PostStatus,
    ProgressFn,
    Publisher,
    PublishRequest,
    PublishResult,
    Reframe,
    RenderSpec,
    Segment,
    SelectionRequest,
    Source,
    SourceItem,
    SpeechToText,
    Storage,
    Summary,
    Transcript,
    UsageRecord,
    Word,
    no_progress,
)
from core.errors import (
    ClipcastError,
    ConfigError,
    Deferred,
    InputError,
    PermanentError,
    PluginError,
    PublishVetoed,
    RetryableError,
    StorageError,
    UnknownBackendError,
)
from core.hookspecs import Register, hookimpl
from core.progress import Cancelled, NullReporter, Reporter

if TYPE_CHECKING:  # the lazy names below, for type checkers and editors
    from core.accounts import AccountHandle, ReconnectNeeded  # noqa: F401
    from core.crypto import decrypt_json, encrypt_json  # noqa: F401
    from core.egress import guard_session, guarded_client, ydl_guard  # noqa: F401
    from core.keys import sign as sign_key  # noqa: F401
    from core.keys import validate_key  # noqa: F401
    from core.logging import add_secret, get_logger  # noqa: F401
    from core.pipeline.candidates import Sentence, clean_words, join_words, split_sentences  # noqa: F401
    from core.pipeline.pauses import find_pauses  # noqa: F401
    from core.pipeline.select import MAX_OVERLAP, current_audio, overlap_share  # noqa: F401
    from core.pipeline.transcribe import repair_word_timings  # noqa: F401
    from core.pipeline.units import talk_units  # noqa: F401
    from core.publish_gate import irreversible_step  # noqa: F401
    from core.scratch import prefix as scratch_prefix  # noqa: F401
    from core.sources import item_allowed  # noqa: F401
    from core.urls import check_url  # noqa: F401
    from core.usage import estimate_cost  # noqa: F401
    from plugins.publishers.http import TRANSIENT, HttpClient, PlatformError, json_or_empty, secret_value  # noqa: F401

#: The version of this surface (see the module docstring for what a bump means).
PLUGIN_API = "1.0"

#: Helpers loaded on first use: public name → (module, attribute there).
_LAZY: dict[str, tuple[str, str]] = {
    "AccountHandle": ("core.accounts", "AccountHandle"),
    "ReconnectNeeded": ("core.accounts", "ReconnectNeeded"),
    "add_secret": ("core.logging", "add_secret"),
    "get_logger": ("core.logging", "get_logger"),
    "validate_key": ("core.keys", "validate_key"),
    "sign_key": ("core.keys", "sign"),
    "estimate_cost": ("core.usage", "estimate_cost"),
    "Sentence": ("core.pipeline.candidates", "Sentence"),
    "split_sentences": ("core.pipeline.candidates", "split_sentences"),
    "join_words": ("core.pipeline.candidates", "join_words"),
    "clean_words": ("core.pipeline.candidates", "clean_words"),
    "find_pauses": ("core.pipeline.pauses", "find_pauses"),
    "talk_units": ("core.pipeline.units", "talk_units"),
    "MAX_OVERLAP": ("core.pipeline.select", "MAX_OVERLAP"),
    "overlap_share": ("core.pipeline.select", "overlap_share"),
    "current_audio": ("core.pipeline.select", "current_audio"),
    "repair_word_timings": ("core.pipeline.transcribe", "repair_word_timings"),
    "check_url": ("core.urls", "check_url"),
    "guarded_client": ("core.egress", "guarded_client"),
    "guard_session": ("core.egress", "guard_session"),
    "ydl_guard": ("core.egress", "ydl_guard"),
    "encrypt_json": ("core.crypto", "encrypt_json"),
    "decrypt_json": ("core.crypto", "decrypt_json"),
    "scratch_prefix": ("core.scratch", "prefix"),
    "irreversible_step": ("core.publish_gate", "irreversible_step"),
    "item_allowed": ("core.sources", "item_allowed"),
    "HttpClient": ("plugins.publishers.http", "HttpClient"),
    "PlatformError": ("plugins.publishers.http", "PlatformError"),
    "TRANSIENT": ("plugins.publishers.http", "TRANSIENT"),
    "json_or_empty": ("plugins.publishers.http", "json_or_empty"),
    "secret_value": ("plugins.publishers.http", "secret_value"),
}

#: Renamed names: old name → (new name, the PLUGIN_API version that removes the old one).
_RENAMED: dict[str, tuple[str, str]] = {}

__all__ = [
    "PLUGIN_API",
    "Backend",
    "BrollAsset",
    "BrollProvider",
    "BrollQuery",
    "Cancelled",
    "Candidate",
    "Chapter",
    "ClipPlan",
    "ClipSelector",
    "ClipcastError",
    "ConfigError",
    "Deferred",
    "Event",
    "InputError",
    "MediaInfo",
    "MetricsStatus",
    "NullReporter",
    "PermanentError",
    "PluginError",
    "PostMetrics",
    "PostStatus",
    "ProgressFn",
    "PublishRequest",
    "PublishResult",
    "PublishVetoed",
    "Publisher",
    "Reframe",
    "Register",
    "RenderSpec",
    "Reporter",
    "RetryableError",
    "Segment",
    "SelectionRequest",
    "Source",
    "SourceItem",
    "SpeechToText",
    "Storage",
    "StorageError",
    "Summary",
    "Transcript",
    "UnknownBackendError",
    "UsageRecord",
    "Word",
    "hookimpl",
    "no_progress",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value  # resolved once
        return value
    if name in _RENAMED:
        new, removed_in = _RENAMED[name]
        warnings.warn(
            f"clipcast.{name} is deprecated and goes in plugin API {removed_in}: use clipcast.{new}",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(__name__), new)
    raise AttributeError(f"module 'clipcast' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
