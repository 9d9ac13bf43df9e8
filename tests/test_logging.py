"""Logging: JSON lines when not a terminal, ids bound, and secrets never printed."""

from __future__ import annotations

import io
import json
import logging

import pytest

from core import logging as clog
from core.config import Settings, secret_values


def test_configured_secrets_never_appear(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(
        secret_key="token-encryption-key-0123456789",
        database_url="postgresql://clip:db-password-42@localhost/clipcast",
        publishers={},
    )
    stream = io.StringIO()
    clog.configure("DEBUG", "auto", stream=stream, secrets=secret_values(settings))
    log = clog.get_logger("test", job_id=7)
    log.info("connecting", url=settings.database_url)
    log.info(f"key is {settings.secret_key.get_secret_value()}")
    log.warning("refresh", access_token="ya29.raw-access-token-value")  # masked by its key name
    clog.add_secret("ya29.raw-access-token-value")  # what core.accounts does when it decrypts a token
    log.warning("again", detail="Bearer ya29.raw-access-token-value")  # masked by its value anywhere
    logging.getLogger("httpx").warning("sending Authorization: Bearer token-encryption-key-0123456789")
    output = stream.getvalue()
    for secret in ("token-encryption-key-0123456789", "db-password-42", "ya29.raw-access-token-value"):
        assert secret not in output
    first = json.loads(output.splitlines()[0])  # a StringIO is not a terminal → JSON lines
    assert first["event"] == "connecting" and first["job_id"] == 7 and first["level"] == "info"
    assert "****" in output


def test_console_format_on_request() -> None:
    stream = io.StringIO()
    clog.configure("INFO", "console", stream=stream)
    clog.get_logger("t").info("hello", video_id=3)
    line = stream.getvalue()
    assert "hello" in line and "video_id=3" in line and not line.startswith("{")


def test_bound_context_vars_appear() -> None:
    stream = io.StringIO()
    clog.configure("INFO", "json", stream=stream)
    clog.bind(clip_id=11)
    try:
        clog.get_logger("t").info("rendering")
    finally:
        clog.unbind("clip_id")
    assert json.loads(stream.getvalue())["clip_id"] == 11


def test_access_log_redacts_codes_signatures_and_tokens() -> None:
    """Google's OAuth callback and a signed file URL, as uvicorn's access logger writes them."""
    stream = io.StringIO()
    clog.configure("INFO", "json", stream=stream)
    access = logging.getLogger("uvicorn.access")
    access.setLevel(logging.INFO)
    fmt = '%s - "%s %s HTTP/%s" %d'
    access.info(fmt, "10.0.0.1:5", "GET", "/api/accounts/callback/youtube?code=4%2F0AQSTgQG-secret&scope=x", "1.1", 200)
    access.info(fmt, "10.0.0.1:5", "GET", "/files/videos/ab/original.mp4?expires=1767225600&sig=deadbeef99", "1.1", 200)
    access.info(fmt, "10.0.0.1:5", "GET", "/x?access_token=EAAB-graph-token&X-Amz-Signature=abc123", "1.1", 200)
    output = stream.getvalue()
    for secret in ("4%2F0AQSTgQG-secret", "1767225600", "deadbeef99", "EAAB-graph-token", "abc123"):
        assert secret not in output
    assert "code=****&scope=x" in output and "sig=****" in output


def test_stored_job_errors_name_the_key_not_the_value() -> None:
    from pydantic import ValidationError

    from core.pipeline.render import RenderOptions
    from core.tasks.middleware import _reason

    with pytest.raises(ValidationError) as caught:
        RenderOptions(crf="secret_key: hunter2-value")
    reason = _reason(caught.value, None)
    assert "crf" in reason and "hunter2" not in reason
