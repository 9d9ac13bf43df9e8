"""Translated captions: the plain (SRT/VTT) cues sent to the configured LLM backend, returned line for line,
written as extra ``captions.<lang>.srt``/``.vtt`` files and optionally burned in instead of the original.

Needs a model-backed selector (openai, gemini: anything with ``structured``); the offline heuristic selector
cannot translate, and asking it to is an error, not a silent copy. Translated cues keep the original cues'
times; they are shown whole (no per-word animation: word order changes between languages).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from core.contracts import Word
from core.errors import ClipcastError, InputError
from core.media.captions import Cue

LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")

PROMPT = """Translate these video captions into the language with code "{language}".
Keep each numbered line separate and in order, one translation per line, as short as the original: they are
read on a phone while the video plays. Keep names, numbers and brand names as they are.
Answer with JSON: {{"lines": [...]}} holding exactly {n} strings, the translation of line 1 first.

{lines}
"""


class CueTranslation(BaseModel):
    lines: list[str]


def translate_cues(selector: Any, cues: Sequence[Cue], language: str) -> list[Cue]:
    """``cues`` with their text in ``language`` (same times), asked of ``selector`` in one request."""
    if not LANGUAGE.match(language):
        raise InputError(f"{language!r} is not a language code", "use ISO 639-1 codes such as de, fr, es, pt-BR")
    if not hasattr(selector, "structured"):
        raise InputError(
            f"translated captions need an LLM backend; the configured selector {selector.name!r} cannot translate",
            "set llm.backend to openai or gemini (with its api_key), or drop the translate option",
        )
    if not cues:
        return []
    texts = [c.text.replace("\n", " ") for c in cues]
    prompt = PROMPT.format(
        language=language, n=len(texts), lines="\n".join(f"{i}: {t}" for i, t in enumerate(texts, 1))
    )
    answer = selector.structured(prompt, CueTranslation)
    lines = [re.sub(r"^\d+:\s*", "", line).strip() for line in answer.lines]
    if len(lines) != len(cues) or not all(lines):
        raise ClipcastError(
            f"the model returned {len(lines)} caption line(s) for {len(cues)} in {language!r}",
            "render again (models sometimes merge lines), or pick another model",
        )
    return [
        Cue(start=c.start, end=c.end, lines=[[Word(text=t, start=c.start, end=c.end)]])
        for c, t in zip(cues, lines, strict=True)
    ]
