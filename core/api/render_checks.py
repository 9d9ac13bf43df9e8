"""Render options checked when they are stored (clip PATCH, POST /api/videos/{id}/render), so that a name
that does not exist is refused at once rather than by a render job later."""

from __future__ import annotations

from typing import Any

from core.errors import InputError
from core.media.brand import load_brand
from core.media.captions import load_style
from core.media.music import resolve_track


def check_names(app: Any, changes: dict[str, Any]) -> None:
    """A 400 now, naming the field, for a style, brand kit or track that does not exist, or translations
    without a backend that can translate, rather than a render that fails later (values the schema refuses,
    such as a path for a name, are 422s before this; a well-formed value the server refuses is a 400, as
    the API documents)."""
    r = app.settings.render
    checks = {
        "caption_style": lambda v: load_style(v, r.styles_dir),
        "brand": lambda v: load_brand(v, r.brands_dir),
        "music": lambda v: resolve_track(v, r.music_dir),
    }
    for key, check in checks.items():
        if changes.get(key) is not None:
            try:
                check(changes[key])
            except InputError as exc:
                raise InputError(f"{key}: {exc}", exc.hint) from exc
    wants = changes.get("translate") or changes.get("translate_burn")
    if wants and not hasattr(app.selector(), "structured"):
        raise InputError(
            f"translate: translated captions need an LLM backend; {app.settings.llm.backend!r} cannot translate",
            "an administrator sets llm.backend to openai, gemini or openai-compatible",
        )
