"""Every hook Clipcast calls. Documented one by one in docs/plugin_hooks.md (a test keeps the two in step, and
runs each section's example). Plugins use the marker as ``clipcast.hookimpl``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("clipcast")
hookimpl = pluggy.HookimplMarker("clipcast")

#: ``register(BackendClass)``: what backend-registration hooks receive.
Register = Callable[[type], None]


@hookspec
def register_stt_backends(register: Register) -> None:
    """Register speech-to-text backends (subclasses of ``clipcast.SpeechToText``)."""


@hookspec
def register_llm_backends(register: Register) -> None:
    """Register clip selectors (subclasses of ``clipcast.ClipSelector``)."""


@hookspec
def register_storage_backends(register: Register) -> None:
    """Register storage backends (subclasses of ``clipcast.Storage``)."""


@hookspec
def register_publishers(register: Register) -> None:
    """Register publishers (subclasses of ``clipcast.Publisher``)."""


@hookspec
def register_sources(register: Register) -> None:
    """Register watched-source kinds (subclasses of ``clipcast.Source``)."""


@hookspec
def register_broll_providers(register: Register) -> None:
    """Register B-roll providers (subclasses of ``clipcast.BrollProvider``)."""


@hookspec
def clip_candidates(transcript: Any, request: Any) -> list[Any] | None:
    """Return extra ``Candidate`` windows to score beside the core's sentence-aligned ones."""


@hookspec
def adjust_render(spec: Any, clip: Any) -> None:
    """Edit a ``RenderSpec`` in place before ffmpeg runs (append ``video_filters`` or ``overlays``)."""


@hookspec
def before_publish(request: Any, account: Any) -> None:
    """Edit a ``PublishRequest`` in place, or raise ``clipcast.PublishVetoed`` to refuse the post."""


@hookspec
def on_event(event: Any) -> None:
    """Receive a job or post lifecycle ``Event`` (for notifications); exceptions are logged, not raised."""


@hookspec
def register_commands(cli: Any) -> None:
    """Add commands to the ``clipcast`` Typer app."""


@hookspec
def register_routes(app: Any) -> None:
    """Add routes to the FastAPI app."""
