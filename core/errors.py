"""Errors that carry a user-facing message and, where one exists, what to do about it.

Every error a user can cause (bad input, bad config, a platform refusing) is a ``ClipcastError``: the CLI and
the API print ``str(error)`` as is, so the text must say what was wrong and what to do.
"""

from __future__ import annotations


class ClipcastError(Exception):
    """Base class: a message a person can act on, plus an optional hint."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(f"{message} ({hint})" if hint else message)


class ConfigError(ClipcastError):
    """The configuration file or environment is wrong; nothing ran."""


class PluginError(ClipcastError):
    """A plugin could not be loaded, or a named backend does not exist."""


class UnknownBackendError(PluginError):
    def __init__(self, kind: str, name: str, available: list[str]) -> None:
        names = ", ".join(sorted(available)) or "none"
        super().__init__(
            f"unknown {kind} backend {name!r}; available: {names}",
            "install the plugin that provides it, or pick one of the available names",
        )
        self.kind, self.name, self.available = kind, name, available


class PermanentError(ClipcastError):
    """Retrying will not help (bad input, revoked authorisation). Workers never retry these."""


class InputError(PermanentError):
    """The user's input (a file, a URL, a clip plan) is unusable; the message says why."""


class StorageError(ClipcastError):
    """A storage backend failed or a storage key is invalid."""


class RetryableError(ClipcastError):
    """A transient failure (network, rate limit, 5xx): the same call may succeed later.

    ``retry_after``: seconds after which it will (a rate-limit window); a worker then waits that long without
    spending one of the job's retries."""

    def __init__(self, message: str, hint: str | None = None, *, retry_after: float | None = None) -> None:
        super().__init__(message, hint)
        self.retry_after = retry_after


class Deferred(RetryableError):
    """Nothing was sent, and nothing can be before a known time (a platform's publishing window is full).

    ``window_seconds``: the platform's moving window (e.g. Instagram's 24 h); the post is scheduled again for
    when the oldest post of the account inside that window leaves it."""

    def __init__(self, message: str, hint: str | None = None, *, window_seconds: float = 86400) -> None:
        super().__init__(message, hint)
        self.window_seconds = window_seconds


class PublishVetoed(PermanentError):
    """A ``before_publish`` hook refused the post."""


def validation_summary(exc: object) -> str:
    """A pydantic ``ValidationError`` as "key: problem; ..." without the offending values: ``str(exc)`` quotes
    every input, which would copy a file's or a request's contents into a stored error."""
    errors = exc.errors(include_input=False, include_url=False)  # type: ignore[attr-defined]
    parts = [f"{'.'.join(str(p) for p in e.get('loc', ())) or '(value)'}: {e.get('msg', 'invalid')}" for e in errors]
    return "; ".join(parts) or "invalid"
