"""The studio: static HTML, CSS and ES modules from ``core/api/web``, driving the same JSON API as any client
with the session cookie. No build step and nothing loaded from outside this server (see docs/architecture.md).
Not part of the OpenAPI document."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse

from core.api.errors import NotFound

router = APIRouter(include_in_schema=False)
WEB = Path(__file__).resolve().parent.parent / "web"
PAGE = WEB / "index.html"
#: Asset names are plain file names in WEB (never a path from the request).
ASSET = re.compile(r"^[a-z0-9-]+\.(js|css|svg)$")
TYPES = {"js": "text/javascript", "css": "text/css", "svg": "image/svg+xml"}

#: Only this origin's own files: no inline script or style, no third party.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
HEADERS = {"Content-Security-Policy": CSP, "X-Frame-Options": "DENY", "Cache-Control": "no-cache"}


@router.get("/")
def studio() -> HTMLResponse:
    return HTMLResponse(PAGE.read_text(encoding="utf-8"), headers=HEADERS)


@router.get("/web/{name}")
def asset(name: str) -> FileResponse:
    path = WEB / name
    if not ASSET.match(name) or not path.is_file():
        raise NotFound(f"no studio file {name}")
    return FileResponse(path, media_type=TYPES[name.rsplit(".", 1)[1]], headers=HEADERS)
