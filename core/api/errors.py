"""One error body for every failure: ``{"error": {"code", "message", "detail"}}``.

A ``ClipcastError`` becomes a 4xx carrying its message (and hint); validation problems list each bad field; only
a bug gives a 500, and its body never carries internals (the log has the traceback).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from core.errors import (
    ClipcastError,
    ConfigError,
    InputError,
    PermanentError,
    PluginError,
    PublishVetoed,
    RetryableError,
    StorageError,
)
from core.logging import get_logger
from core.progress import Cancelled
from core.public_errors import scrub

log = get_logger("clipcast.api")


class ApiError(ClipcastError):
    """An error with an HTTP status and a stable machine-readable code."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, hint: str | None = None, *, detail: Any = None, headers: dict | None = None):
        super().__init__(message, hint)
        self.detail = detail
        self.headers = headers or {}


class NotFound(ApiError):
    status, code = 404, "not_found"


class Conflict(ApiError):
    status, code = 409, "conflict"


class ValidationProblem(ApiError):
    """A request that is well-formed but asks for something out of bounds."""

    status, code = 422, "validation_error"


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class PayloadTooLarge(ApiError):
    status, code = 413, "payload_too_large"


class UnsupportedMediaType(ApiError):
    status, code = 415, "unsupported_media_type"


class RateLimited(ApiError):
    status, code = 429, "rate_limited"


class QuotaExceeded(ApiError):
    """A per-user daily quota is used up; says which one and when it resets (next midnight UTC)."""

    status, code = 429, "quota_exceeded"

    def __init__(self, quota: str, limit: float, used: float, resets_at: datetime) -> None:
        seconds = max(1, int((resets_at - datetime.now(resets_at.tzinfo)).total_seconds()))
        super().__init__(
            f"daily quota {quota} exceeded: {used:g} used of {limit:g}; it resets at {resets_at.isoformat()}",
            "wait for the reset or ask an administrator to raise your quota",
            detail={"quota": quota, "limit": limit, "used": used, "resets_at": resets_at.isoformat()},
            headers={"Retry-After": str(seconds)},
        )


def _status_for(exc: ClipcastError) -> tuple[int, str]:
    if isinstance(exc, ApiError):
        return exc.status, exc.code
    if isinstance(exc, Cancelled):
        return 409, "cancelled"
    if isinstance(exc, PublishVetoed):
        return 422, "publish_vetoed"
    if isinstance(exc, InputError):
        return 400, "invalid_input"
    if isinstance(exc, PluginError):
        return 400, "unknown_backend"
    if isinstance(exc, RetryableError):
        return 503, "temporarily_unavailable"
    if isinstance(exc, StorageError):
        return 503, "storage_error"
    if isinstance(exc, ConfigError):
        return 503, "misconfigured"
    if isinstance(exc, PermanentError):
        return 400, "invalid_input"
    return 400, "bad_request"


def error_body(code: str, message: str, detail: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "detail": detail}}


def error_response(status: int, code: str, message: str, detail: Any = None, headers: dict | None = None):
    return JSONResponse(error_body(code, message, detail), status_code=status, headers=headers)


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    416: "range_not_satisfiable",
    422: "validation_error",
    429: "rate_limited",
}


def install(api: FastAPI) -> None:
    """Register the handlers on a FastAPI app."""

    @api.exception_handler(ClipcastError)
    async def _clipcast(request: Request, exc: ClipcastError) -> JSONResponse:
        status, code = _status_for(exc)
        if status >= 500:
            log.warning("request failed", code=code, error=str(exc))
        # a backend may quote where the server keeps files: the answer never does (the log keeps the full text)
        settings = getattr(getattr(request.app.state, "clipcast", None), "settings", None)
        message = scrub(exc.message, settings) if settings else exc.message
        detail = getattr(exc, "detail", None)
        if detail is None and exc.hint:
            detail = {"hint": scrub(exc.hint, settings) if settings else exc.hint}
        headers = dict(getattr(exc, "headers", {}) or {})
        if isinstance(exc, RetryableError):
            headers.setdefault("Retry-After", "30")
        return error_response(status, code, message or "", detail, headers)

    @api.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return error_response(400, "malformed_json", "the request body is not valid JSON", _clean(errors))
        problem = invalid_request(errors)
        return error_response(problem.status, problem.code, problem.message, problem.detail)

    @api.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
        return error_response(exc.status_code, code, message, None, headers)

    @api.exception_handler(ClientDisconnect)
    async def _gone(_request: Request, _exc: ClientDisconnect) -> JSONResponse:
        # The client hung up mid-request (e.g. an aborted upload): nobody reads this answer; not a server bug.
        return error_response(400, "client_disconnected", "the client closed the connection before the body ended")

    @api.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error", path=request.url.path, error=repr(exc), exc_info=exc)
        return error_response(500, "internal_error", "internal error; the server log has the details")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (Starlette names only the first matching route's). Asked of
    the routes themselves, one method at a time, so it holds however routers are nested."""
    from starlette.routing import Match

    allowed = []
    for method in ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"):
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.routes):
            allowed.append(method)
    return allowed


def invalid_request(errors: Any) -> ValidationProblem:
    """A 422 naming each bad field of pydantic ``errors`` (for bodies validated outside FastAPI's own parsing)."""
    problems = [f"{'.'.join(_part(p) for p in e.get('loc', ()))}: {e.get('msg', '')}" for e in errors]
    return ValidationProblem("invalid request: " + "; ".join(problems), detail=_clean(errors))


def _part(part: Any) -> str:
    """One step of an error's location. An unknown key is the client's own text (an extra field), so control
    characters become ``?`` and a long key is cut: the answer never carries a NUL or a client's essay."""
    text = "".join("?" if ord(c) < 32 or ord(c) == 127 else c for c in str(part))
    return text if len(text) <= 64 else text[:61] + "..."


def _clean(errors: Any) -> list[dict[str, Any]]:
    """Validation errors as JSON-safe dicts (pydantic puts exception objects in ``ctx``)."""
    out = []
    for e in errors:
        item = {"loc": [_part(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": e.get("type")}
        out.append(item)
    return out
