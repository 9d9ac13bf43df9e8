"""``create_app(clipcast)``: the FastAPI application around one ``Clipcast`` context.

Route modules (one per resource, in ``core/api/routes``) are included in the order of ``ROUTE_MODULES``, then
plugins add theirs through ``register_routes``.
"""

from __future__ import annotations

import importlib

from fastapi import FastAPI

from core.api import errors
from core.api.limits import BodyLimit
from core.api.ratelimit import make_limiter
from core.app import Clipcast
from core.logging import get_logger

log = get_logger("clipcast.api")

#: Route modules under core.api.routes, in the order they appear in the OpenAPI document.
ROUTE_MODULES = [
    "health",
    "auth",
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
    "files",
    "web",
]

DESCRIPTION = """Clipcast turns long videos into short vertical clips and publishes them on schedules.

Authenticate with a personal API token (`Authorization: Bearer cc_...`, see `POST /api/tokens` or
`clipcast tokens create`) or a dashboard session cookie from `POST /api/auth/login`.
Every error has the body `{"error": {"code", "message", "detail"}}`. Another user's id answers 404.
"""


def create_app(clipcast: Clipcast) -> FastAPI:
    from importlib.metadata import PackageNotFoundError, version

    try:
        ver = version("clipcast")
    except PackageNotFoundError:
        ver = "0.0.0"
    api = FastAPI(title="Clipcast", version=ver, description=DESCRIPTION)
    api.state.clipcast = clipcast
    api.state.auth_limiter = make_limiter(clipcast.settings)
    errors.install(api)
    api.add_middleware(BodyLimit, upload_bytes=int(clipcast.settings.api.max_upload_mb * 1024 * 1024))
    for name in ROUTE_MODULES:
        api.include_router(importlib.import_module(f"core.api.routes.{name}").router)
    for impl in clipcast.plugins.hook.register_routes.get_hookimpls():
        try:
            impl.function(app=api)
        except Exception as exc:  # one plugin's broken routes must not take the API (or other plugins) down
            log.warning("a plugin failed to register routes", plugin=impl.plugin_name, error=repr(exc))
            clipcast.plugins.load_errors[impl.plugin_name] = f"register_routes failed: {exc!r}"
    return api
