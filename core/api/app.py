"""``create_app(clipcast)``: the FastAPI application around one ``Clipcast`` context.

Route modules (one per resource, in ``core/api/routes``) are included in the order of ``ROUTE_MODULES``, then
plugins add theirs through ``register_routes``.
"""

from __future__ import annotations

import gc
import importlib
from typing import Any

from fastapi import FastAPI

from core.api import errors
from core.api.limits import BodyLimit, NulInUrl
from core.api.ratelimit import make_limiter
from core.app import Clipcast
from core.logging import get_logger

log = get_logger("clipcast.api")

#: Route modules under core.api.routes, in the order they appear in the OpenAPI document.
ROUTE_MODULES = [
    "health",
    "auth",
    "setup",
    "users",
    "tokens",
    "videos",
    "processing",
    "jobs",
    "clips",
    "accounts",
    "schedules",
    "posts",
    "sources",
    "plugins",
    "metrics",
    "analytics",
    "webhook_metrics",
    "files",
    "docs",
    "web",
]

DESCRIPTION = """Clipcast turns long videos into short vertical clips and publishes them on schedules.

Authenticate with a personal API token (`Authorization: Bearer cc_...`, see `POST /api/tokens` or
`clipcast tokens create`) or a dashboard session cookie from `POST /api/auth/login`.
Every error has the body `{"error": {"code", "message", "detail"}}`. Another user's id answers 404.
"""


def _no_otel() -> dict[str, Any]:
    """FastAPI's built-in OpenTelemetry off (newer FastAPI only): Clipcast exports Prometheus metrics, and the
    check whether a tracer, meter or logger provider is configured ran on every request (about 7% of the event
    loop's time in bench/api_load.py)."""
    import inspect

    if "telemetry" not in inspect.signature(FastAPI.__init__).parameters:
        return {}
    return {"telemetry": {"tracing": False, "metrics": False, "logs": False}}


_NO_OTEL = _no_otel()


def create_app(clipcast: Clipcast) -> FastAPI:
    from importlib.metadata import PackageNotFoundError, version

    try:
        ver = version("clipcast")
    except PackageNotFoundError:
        ver = "0.0.0"
    # /docs comes from local files (routes/docs.py): offline must work. No /redoc (it needs a CDN).
    api = FastAPI(title="Clipcast", version=ver, description=DESCRIPTION, docs_url=None, redoc_url=None, **_NO_OTEL)
    api.state.clipcast = clipcast
    api.state.auth_limiter = make_limiter(clipcast.settings)
    errors.install(api)
    api.add_middleware(BodyLimit, upload_bytes=int(clipcast.settings.api.max_upload_mb * 1024 * 1024))
    api.add_middleware(NulInUrl)
    for name in ROUTE_MODULES:
        api.include_router(importlib.import_module(f"core.api.routes.{name}").router)
    for impl in clipcast.plugins.hook.register_routes.get_hookimpls():
        try:
            impl.function(app=api)
        except Exception as exc:  # one plugin's broken routes must not take the API (or other plugins) down
            log.warning("a plugin failed to register routes", plugin=impl.plugin_name, error=repr(exc))
            clipcast.plugins.load_errors[impl.plugin_name] = f"register_routes failed: {exc!r}"
    _document_errors(api, clipcast.settings.api.page_size_max)
    return api


def freeze_heap() -> None:
    """Put everything alive at start-up out of the garbage collector's sight (``gc.freeze``).

    A serving process holds about 200,000 objects from imports, models and routes that never die; each full
    collection walked them all, a pause of about 130 ms every thousand list requests that every request in
    flight waited out (measured in-process: bench/api_inprocess.py). Called by the serving entry points
    (``clipcast serve``, ``core.api.asgi``), not by ``create_app``: tests build hundreds of apps."""
    gc.collect()
    gc.freeze()


#: What every API operation may answer besides its own codes: the error body's statuses (see errors.py).
COMMON_ERRORS = {
    "400": "invalid input (the message says what and why)",
    "401": "no valid token or session",
    "403": "not allowed for this caller",
    "404": "no such row, or another user's",
    "409": "the row's state does not allow this now",
    "413": "the request body is too large",
    "422": "a field is missing, out of bounds or malformed",
    "429": "rate limit or daily quota reached (see Retry-After)",
}


def _document_errors(api: FastAPI, page_size_max: int) -> None:
    """The OpenAPI document says what the server does: every error status above on every /api operation, with
    the error body's schema, and the installation's real ``limit`` maximum on list routes."""
    build = api.openapi

    def openapi() -> dict:
        if api.openapi_schema is not None:
            return api.openapi_schema
        spec = build()
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        schemas["Error"], schemas["JsonValue"] = ERROR_SCHEMA, JSON_VALUE
        _no_nul(spec["paths"])
        _no_nul(schemas)
        ref = {"$ref": "#/components/schemas/Error"}
        for path, ops in spec.get("paths", {}).items():
            for op in ops.values():
                for param in op.get("parameters", []):
                    if param.get("in") == "query" and param.get("name") == "limit":
                        param["schema"]["maximum"] = page_size_max
                if not path.startswith(("/api/", "/files/")):
                    continue
                responses = op.setdefault("responses", {})
                for status, description in COMMON_ERRORS.items():
                    entry = responses.setdefault(status, {"description": description})
                    entry["content"] = {"application/json": {"schema": ref}}  # FastAPI's 422 shape is not ours
        api.openapi_schema = spec
        return spec

    api.openapi = openapi  # type: ignore[method-assign]


#: Text the API accepts never holds NUL (PostgreSQL cannot store it; ``core.api.schemas.In`` refuses it).
NO_NUL = "^[^\\u0000]*$"
JSON_VALUE: dict = {
    "description": "any JSON value whose text holds no NUL character",
    "anyOf": [
        {"type": "string", "pattern": NO_NUL},
        {"type": "number"},
        {"type": "boolean"},
        {"type": "null"},
        {"type": "array", "items": {"$ref": "#/components/schemas/JsonValue"}},
        {
            "type": "object",
            "propertyNames": {"pattern": NO_NUL},
            "additionalProperties": {"$ref": "#/components/schemas/JsonValue"},
        },
    ],
}


def _no_nul(node: Any) -> None:
    """Write the NUL rule into the document: strings get a pattern, free-form objects and values say it too."""
    if isinstance(node, list):
        for item in node:
            _no_nul(item)
        return
    if not isinstance(node, dict):
        return
    if node.get("type") == "string" and "pattern" not in node and "format" not in node:
        node["pattern"] = NO_NUL
    if node.get("type") == "object" and node.get("additionalProperties") in (True, {}):
        node["additionalProperties"] = {"$ref": "#/components/schemas/JsonValue"}
        node["propertyNames"] = {"pattern": NO_NUL}
    if node.get("type") == "array" and node.get("items") in (True, {}):
        node["items"] = {"$ref": "#/components/schemas/JsonValue"}
    for key, value in node.items():
        if key != "example":
            _no_nul(value)


ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "detail"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "detail": {}},
        }
    },
}
