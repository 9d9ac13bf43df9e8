"""Where each stage's function lives (``worker.stages`` in the config overrides one, e.g. a custom pipeline)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from core.errors import ClipcastError

STAGES = {
    "analyze": "core.pipeline.analyze:analyze",
    "render": "core.pipeline.render:render_clip",
    "publish": "core.pipeline.publish:publish_post",
    "check": "core.pipeline.publish:check_post",
}


class StageUnavailable(ClipcastError):
    """A stage's function cannot be imported (the module is missing or broken)."""


def stage_function(app: Any, name: str) -> Callable[..., Any]:
    target = app.settings.worker.stages.get(name) or STAGES[name]
    module_name, _, attr = target.partition(":")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise StageUnavailable(f"the {name} stage ({target}) cannot be loaded: {exc}")
