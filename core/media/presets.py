"""YAML presets (caption styles, brand kits): a name looked up in the user's directory, then the built-ins, or
a path to a YAML file. File paths inside a preset are relative to the preset file.

The built-ins (styles, brands, fonts) are package data of ``core.media``, found with ``importlib.resources`` so a
wheel install has them; they must be real files on disk (ffmpeg and libass open them), so zipped installs are
not supported."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from core.errors import InputError

M = TypeVar("M", bound=BaseModel)


def builtin_dir(name: str) -> Path:
    """The directory of the built-in ``name`` resources (styles, brands, fonts) inside the installed package."""
    return Path(str(files("core.media") / name))


def available(dirs: list[Path]) -> list[str]:
    """Preset names found in ``dirs``."""
    return sorted({p.stem for d in dirs if d.is_dir() for p in d.glob("*.yaml")})


def load(name: str, dirs: list[Path], model: type[M], kind: str, file_fields: tuple[str, ...] = ()) -> M:
    """The preset ``name`` (or the YAML file at that path) validated as ``model``; ``kind`` names it in errors."""
    path = Path(name)
    if not (path.suffix in (".yaml", ".yml") and path.is_file()):
        path = next((d / f"{name}.yaml" for d in dirs if (d / f"{name}.yaml").is_file()), path)
    if not path.is_file():
        names = ", ".join(available(dirs)) or "none"
        raise InputError(f"unknown {kind} {name!r}", f"use one of: {names}, or a path to a {kind} YAML file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        preset = model.model_validate({"name": path.stem, **data})
    except (yaml.YAMLError, ValidationError, TypeError) as exc:
        raise InputError(f"{kind} {path} is invalid: {exc}", "fix the file")
    updates = {
        field: (path.parent / value).resolve()
        for field in file_fields
        if (value := getattr(preset, field)) is not None and not Path(value).is_absolute()
    }
    return preset.model_copy(update=updates) if updates else preset
