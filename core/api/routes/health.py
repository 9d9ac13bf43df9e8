"""Liveness (/healthz: the process answers) and readiness (/readyz: database, broker and storage reachable)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from core.api.deps import AppDep

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness: the process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


def _check(fn: Any) -> dict[str, Any]:
    t0 = time.perf_counter()
    try:
        detail = fn()
        return {"ok": True, "ms": round((time.perf_counter() - t0) * 1000, 1), **(detail or {})}
    except Exception as exc:  # readiness reports failures; it never raises them
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}


@router.get(
    "/readyz",
    summary="Readiness: database, broker and storage reachable",
    responses={503: {"description": "a dependency is down; the body names it"}},
)
def readyz(request: Request, app: AppDep) -> JSONResponse:
    def database() -> None:
        with app.session() as s:
            s.exec(text("SELECT 1"))  # type: ignore[call-overload]

    def broker() -> dict[str, Any]:
        if not app.settings.redis_url:
            return {"mode": "embedded"}
        import redis

        client = redis.Redis.from_url(app.settings.redis_url, socket_connect_timeout=2, socket_timeout=2)
        try:
            client.ping()
        finally:
            client.close()
        return {"mode": "redis"}

    def storage() -> dict[str, Any]:
        app.storage.exists("readyz/probe")
        return {"backend": app.storage.name}

    checks = {"database": _check(database), "broker": _check(broker), "storage": _check(storage)}
    ok = all(c["ok"] for c in checks.values())
    body = {"status": "ok" if ok else "unavailable", "checks": checks}
    return JSONResponse(body, status_code=200 if ok else 503)
