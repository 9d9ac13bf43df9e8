"""Request body size limits, enforced while the body streams in (never by reading it whole first).

A declared Content-Length over the limit is refused with 413 before any of the body is read; a chunked body is
counted as it arrives and cut off at the limit. Uploads (POST /api/videos) get ``upload_bytes``; everything
else gets ``other_bytes`` (JSON bodies are small).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.api.errors import error_body

UPLOAD_PATHS = ("/api/videos",)


def _message(limit: int) -> str:
    return f"the request body is larger than the limit of {limit / 1024 / 1024:g} MB"


class BodyTooLarge(HTTPException):
    """An HTTPException so body parsers that wrap other errors into 400 let it through as the 413 it is."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            413,
            _message(limit),
            headers={"Connection": "close"},  # else the server would read (and discard) the rest
        )


def _body(limit: int) -> bytes:
    return json.dumps(error_body("payload_too_large", _message(limit), {"limit_bytes": limit})).encode()


class BodyLimit:
    def __init__(self, app: ASGIApp, upload_bytes: int, other_bytes: int = 1024 * 1024) -> None:
        self.app = app
        self.upload_bytes = upload_bytes
        self.other_bytes = other_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.upload_bytes if scope["path"].rstrip("/") in UPLOAD_PATHS else self.other_bytes
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _reject(send, limit)
            return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _reject(send, limit)


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", []):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _reject(send: Send, limit: int) -> None:
    body = _body(limit)
    headers: list[Any] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class NulInUrl:
    """Refuses (422) a URL whose path or query carries a NUL character: PostgreSQL cannot compare or store one,
    so it would otherwise be a 500 there and a plain miss on SQLite."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            query = scope.get("query_string", b"").lower()
            if "\x00" in scope.get("path", "") or b"%00" in query or b"\x00" in query:
                body = error_body("validation_error", "the URL contains a NUL character (%00), which no field may hold")
                await send({"type": "http.response.start", "status": 422,
                            "headers": [(b"content-type", b"application/json")]})  # fmt: skip
                await send({"type": "http.response.body", "body": json.dumps(body).encode()})
                return
        await self.app(scope, receive, send)
