"""Brand kits: a creator's logo, colours, caption style, intro/outro and progress bar, in one YAML file.

Kits live in ``render.brands_dir`` (searched first) or ``config/brands``; a path to a YAML file works too.
Relative file paths inside a kit are relative to the kit's file. Missing files are errors, never skipped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from core.errors import InputError
from core.media.captions import _HEX

BUILTIN_BRANDS = Path(__file__).resolve().parents[2] / "config" / "brands"


class BrandKit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = "custom"
    logo: Path | None = Field(None, description="PNG (with transparency) or JPEG")
    logo_position: Literal["top-left", "top-right", "bottom-left", "bottom-right"] = "top-right"
    logo_size: float = Field(0.18, gt=0, le=1, description="logo width as a fraction of the frame width")
    logo_opacity: float = Field(0.9, ge=0, le=1)
    logo_margin: int = Field(48, ge=0, description="px from the frame edges")
    caption_style: str | None = Field(None, description="caption preset this brand uses unless one is given")
    primary_colour: str | None = Field(None, description="caption text colour (overrides the style)")
    highlight_colour: str | None = Field(None, description="active-word colour (overrides the style)")
    accent_colour: str = Field("#FFD400", description="progress bar colour")
    intro: Path | None = Field(None, description="a video played before the clip")
    outro: Path | None = Field(None, description="a video played after the clip")
    progress_bar: bool = False
    progress_height: int = Field(12, ge=2, le=100, description="px")
    progress_position: Literal["top", "bottom"] = "bottom"

    @field_validator("primary_colour", "highlight_colour", "accent_colour")
    @classmethod
    def _colour(cls, v: str | None) -> str | None:
        if v is not None and not _HEX.match(v.strip()):
            raise ValueError(f"{v!r} is not a colour; use #RRGGBB or #RRGGBBAA")
        return v

    def check_files(self) -> None:
        """Raise ``InputError`` naming the first file the kit refers to that is not there."""
        for field in ("logo", "intro", "outro"):
            path = getattr(self, field)
            if path is not None and not Path(path).is_file():
                raise InputError(
                    f"brand {self.name!r}: {field} file {path} does not exist",
                    f"fix `{field}` in the brand kit (paths are relative to the kit's YAML file) or remove it",
                )


def available_brands(brands_dir: Path | None = None) -> list[str]:
    dirs = [d for d in (brands_dir, BUILTIN_BRANDS) if d is not None and d.is_dir()]
    return sorted({p.stem for d in dirs for p in d.glob("*.yaml")})


def load_brand(name: str, brands_dir: Path | None = None) -> BrandKit:
    path = Path(name)
    if not (path.suffix in (".yaml", ".yml") and path.is_file()):
        dirs = [d for d in (brands_dir, BUILTIN_BRANDS) if d is not None]
        path = next((d / f"{name}.yaml" for d in dirs if (d / f"{name}.yaml").is_file()), path)
    if not path.is_file():
        raise InputError(
            f"unknown brand kit {name!r}",
            f"use one of: {', '.join(available_brands(brands_dir)) or 'none'}, or a path to a brand YAML file",
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        kit = BrandKit.model_validate({"name": path.stem, **data})
    except (yaml.YAMLError, ValidationError) as exc:
        raise InputError(f"brand kit {path} is invalid: {exc}", "fix the kit file")
    updates = {
        f: (path.parent / getattr(kit, f)).resolve()
        for f in ("logo", "intro", "outro")
        if getattr(kit, f) is not None and not Path(getattr(kit, f)).is_absolute()
    }
    kit = kit.model_copy(update=updates)
    kit.check_files()
    return kit
