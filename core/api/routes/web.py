"""The small dashboard: one static page that drives the API with the session cookie (login, upload, live job
progress over SSE, clips with approve/reject/download). Not part of the OpenAPI document."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)
PAGE = Path(__file__).resolve().parent.parent / "web" / "index.html"

#: The page uses only its own inline script and style and talks only to this origin.
CSP = (
    "default-src 'self'; script-src 'unsafe-inline' 'self'; style-src 'unsafe-inline' 'self'; "
    "img-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'"
)


@router.get("/")
def dashboard() -> HTMLResponse:
    return HTMLResponse(
        PAGE.read_text(encoding="utf-8"),
        headers={"Content-Security-Policy": CSP, "X-Frame-Options": "DENY", "Cache-Control": "no-cache"},
    )
