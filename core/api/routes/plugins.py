"""What is installed: plugins, the backends they provide, and the ones that failed to load."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from core.api.deps import AppDep, UserDep
from core.plugins import KINDS

router = APIRouter(prefix="/api/plugins", tags=["plugins"])


@router.get("", summary="Installed plugins, their hooks and backends, and load errors")
def list_plugins(_user: UserDep, app: AppDep) -> dict[str, Any]:
    manager = app.plugins
    return {
        "plugins": manager.describe(),
        "backends": {kind: sorted(manager.backends(kind)) for kind in KINDS},
        "selected": {
            "stt": app.settings.stt.backend,
            "llm": app.settings.llm.backend,
            "storage": app.settings.storage.backend,
        },
        "errors": manager.load_errors,
    }
