"""YAML presets (caption styles, brand kits): a name looked up in the administrator's directory, then the
built-ins. Only names are accepted, never paths: a style or brand kit may come from an API request or a watched
source's preset, and a path there would read the server's files (the CLI turns a YAML path it is given into a
directory and a name first). File paths inside a preset (fonts, logos) are the administrator's and are relative
to the preset file.

The built-ins (styles, brands, fonts) are package data of ``core.media``, found with ``importlib.resources`` so a
wheel install has them; they must be real files on disk (ffmpeg and libass open them), so zipped installs are
not supported."""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from core.errors import InputError, validation_summary

M = TypeVar("M", bound=BaseModel)

#: What a preset name may look like: no separators, no dots, so it can only name a file in a configured directory.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$"


def builtin_dir(name: str) -> Path:
    """The directory of the built-in ``name`` resources (styles, brands, fonts) inside the installed package."""
    return Path(str(files("core.media") / name))


def available(dirs: list[Path]) -> list[str]:
    """Preset names found in ``dirs``."""
    return sorted({p.stem for d in dirs if d.is_dir() for p in d.glob("*.yaml")})


def load(name: str, dirs: list[Path], model: type[M], kind: str, file_fields: tuple[str, ...] = ()) -> M:
    """The preset ``name`` from the first of ``dirs`` that has it, validated as ``model``; ``kind`` names it in
    errors. Errors name the preset and the bad keys, never the file's values (they may be anyone's secrets)."""
    names = ", ".join(available(dirs)) or "none"
    if not isinstance(name, str) or not re.fullmatch(NAME_PATTERN, name):
        raise InputError(
            f"{kind} names are plain names (letters, digits, '-' and '_'), not paths",
            f"use one of: {names}; administrators add their own in the configured directory",
        )
    path = next((d / f"{name}.yaml" for d in dirs if (d / f"{name}.yaml").is_file()), None)
    if path is None:
        raise InputError(f"unknown {kind} {name!r}", f"use one of: {names}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            raise TypeError("the file is not a mapping")
        preset = model.model_validate({**data, "name": name})
    except ValidationError as exc:
        raise InputError(f"{kind} {name!r} is invalid: {validation_summary(exc)}", "fix the preset file")
    except (yaml.YAMLError, TypeError) as exc:
        raise InputError(f"{kind} {name!r} is not a YAML mapping ({type(exc).__name__})", "fix the preset file")
    updates = {
        field: (path.parent / value).resolve()
        for field in file_fields
        if (value := getattr(preset, field)) is not None and not Path(value).is_absolute()
    }
    return preset.model_copy(update=updates) if updates else preset
