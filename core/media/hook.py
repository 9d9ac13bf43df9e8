"""The hook title card (the clip's title over its first seconds, in brand colours) and title variants.

Selection writes a clip's ``title``; ``title_variants`` holds up to three the user can pick from
(``pick_title``). When selection left none, ``derive_variants`` offers the title and the clip's first two
sentences, cut at a word boundary: plain, but each reads as a hook.
"""

from __future__ import annotations

import re
import textwrap
from typing import Any

from pydantic import BaseModel, Field

from core import models
from core.errors import InputError

#: Most characters of a derived title variant.
TITLE_CHARS = 60
VARIANTS = 3


class HookTitle(BaseModel):
    """A title card: ``text`` shown from 0 to ``seconds`` (s, the clip's own timeline)."""

    text: str
    seconds: float = Field(3.0, gt=0)
    box_colour: str = "#FFD400"  # brand accent
    text_colour: str = "#000000"


def _short(text: str, limit: int = TITLE_CHARS) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:-") + "…"


def derive_variants(title: str, text: str) -> list[str]:
    """Up to ``VARIANTS`` distinct titles: ``title`` first, then the text's first sentences."""
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", text.strip()) if len(s.split()) >= 3]
    out: list[str] = []
    for candidate in [title, *sentences]:
        c = _short(candidate)
        if c and c.lower() not in (o.lower() for o in out):
            out.append(c)
        if len(out) == VARIANTS:
            break
    return out


def pick_title(app: Any, clip_id: int, index: int) -> models.Clip:
    """Make variant ``index`` (1-based) the clip's title; the variants are derived first when there are none."""
    with app.session() as s:
        clip = s.get(models.Clip, clip_id)
        if clip is None:
            raise InputError(f"there is no clip {clip_id}")
        variants = list(clip.title_variants) or derive_variants(clip.title, clip.text)
        if not 1 <= index <= len(variants):
            raise InputError(
                f"clip {clip_id} has {len(variants)} title variant(s); there is no variant {index}",
                "choose one of: " + "; ".join(f"{i}: {v}" for i, v in enumerate(variants, 1)),
            )
        clip.title_variants = variants
        clip.title = variants[index - 1]
        clip.updated_at = models.utcnow()
        s.add(clip)
        s.commit()
        s.refresh(clip)
        s.expunge(clip)
        return clip


def wrap_title(text: str, chars: int = 18) -> list[str]:
    """The title in lines of about ``chars`` characters (ASS here does not wrap by itself)."""
    return textwrap.wrap(text, chars, break_long_words=False) or [text]
