"""``/docs``: Swagger UI from the fastapi-offline package's bundled files, so the API reference works offline
(FastAPI's default loads it from a CDN). ``/openapi.json`` is FastAPI's. Only the package's files are used, not
its app class. There is no ``/redoc``: ReDoc's bundle fetches its logo from the vendor's CDN even when served
locally."""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from core.api.errors import NotFound

router = APIRouter(include_in_schema=False)
ASSETS = Path(fastapi_offline.__file__).resolve().parent / "static"
SERVED = {"swagger-ui-bundle.js", "swagger-ui.css", "favicon.png"}


@router.get("/docs")
def swagger() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="Clipcast API",
        swagger_js_url="/docs/assets/swagger-ui-bundle.js",
        swagger_css_url="/docs/assets/swagger-ui.css",
        swagger_favicon_url="/docs/assets/favicon.png",
    )


@router.get("/docs/assets/{name}")
def asset(name: str) -> FileResponse:
    if name not in SERVED:  # a fixed list: the name never becomes a path
        raise NotFound(f"no docs asset {name}")
    return FileResponse(ASSETS / name, headers={"Cache-Control": "public, max-age=86400"})
