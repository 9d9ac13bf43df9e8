"""structlog set-up: readable on a terminal, JSON lines otherwise; secrets are redacted from every line.

Redaction has three layers: values of keys that look secret (token, secret, password, authorization, api_key)
are masked; every string known to be a secret (from the configuration, or added with ``add_secret`` when a
token is decrypted) is replaced wherever it appears in the rendered line; and URL query parameters that carry
credentials (an OAuth ``code``, a signed file URL's ``sig``, tokens, S3 signatures) are masked in any URL a line
contains, such as uvicorn's access log.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from typing import Any

import structlog

_SECRET_KEYS = re.compile(r"(token|secret|password|authorization|api[_-]?key|cookie)", re.I)
_secrets: set[str] = set()
_ordered: tuple[str, ...] = ()
_lock = threading.Lock()
MASK = "****"
#: Query parameters whose values are credentials (or pieces of one, like a signed URL's expiry).
_QUERY_SECRETS = re.compile(
    r"([?&](?:code|state|sig|signature|expires|token|access_token|refresh_token|id_token|client_secret|key|"
    r"api_key|password|x-amz-signature|x-amz-credential|x-amz-security-token)=)[^&\s\"'#]*",
    re.I,
)


def add_secret(value: str | None) -> None:
    """Never print ``value`` in a log line (values shorter than 6 characters are ignored as too common)."""
    global _ordered
    if value and len(value) >= 6 and value not in _secrets:
        with _lock:
            _secrets.add(value)
            _ordered = tuple(sorted(_secrets, key=len, reverse=True))  # longest first: no partial masks


def redact(text: str) -> str:
    for s in _ordered:  # sorted once per added secret, not once per log line
        if s in text:
            text = text.replace(s, MASK)
    if "=" in text:
        text = _QUERY_SECRETS.sub(lambda m: m.group(1) + MASK, text)
    return text


def _mask_secret_keys(_logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
    for key in list(event):
        if key != "event" and _SECRET_KEYS.search(key) and event[key] not in (None, ""):
            event[key] = MASK
    return event


class _RedactingRenderer:
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __call__(self, logger: Any, name: str, event: dict[str, Any]) -> str:
        return redact(self.inner(logger, name, event))


class _RedactingFilter(logging.Filter):
    """Redacts records of the standard library loggers (uvicorn, dramatiq, httpx) too."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        clean = redact(msg)
        if clean != msg:
            record.msg, record.args = clean, None
        return True


class _Stderr:
    """Whatever ``sys.stderr`` is at write time (test runners swap and close it; a bound stream would go stale)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


#: Libraries whose INFO lines are noise in a CLI or server log (migrations on every start, per-second ticks);
#: held at WARNING unless the level is DEBUG.
_QUIET = ("alembic", "apscheduler", "httpx", "botocore", "urllib3", "faster_whisper")


def configure(level: str = "INFO", fmt: str = "auto", stream: Any = None, secrets: list[str] | None = None) -> None:
    """Configure structlog and the standard library logging. Safe to call more than once."""
    stream = stream or _Stderr()
    for s in secrets or []:
        add_secret(s)
    json_lines = fmt == "json" or (fmt == "auto" and not getattr(stream, "isatty", lambda: False)())
    renderer = structlog.processors.JSONRenderer() if json_lines else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _mask_secret_keys,
            structlog.processors.format_exc_info,
            _RedactingRenderer(renderer),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_clipcast", False):
            root.removeHandler(h)
    handler = logging.StreamHandler(stream)
    handler._clipcast = True  # type: ignore[attr-defined]
    handler.addFilter(_RedactingFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level)
    for name in _QUIET:  # at DEBUG the user asked for everything
        logging.getLogger(name).setLevel(logging.NOTSET if level == "DEBUG" else logging.WARNING)


def get_logger(name: str | None = None, **bound: Any) -> Any:
    """A lazy logger: safe at import time, it follows whatever ``configure`` sets up later."""
    return structlog.get_logger(name, **bound)


if not structlog.is_configured():
    # Before ``configure`` runs, log to stderr: stdout belongs to command output such as ``--json``.
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=_Stderr()))


bind = structlog.contextvars.bind_contextvars
unbind = structlog.contextvars.unbind_contextvars
