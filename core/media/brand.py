"""Brand kits: a creator's logo, colours, caption style, intro/outro and progress bar, in one YAML file.

Kits live in ``render.brands_dir`` (searched first) or the built-ins in ``core/media/brands``; a path to a YAML
file works too. Relative file paths inside a kit are relative to the kit's file. Missing files are errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.errors import InputError
from core.media import presets
from core.media.captions import _HEX

BUILTIN_BRANDS = presets.builtin_dir("brands")


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
    music: Path | None = Field(None, description="a music bed looped under the clip, ducked under speech")
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
        for field in ("logo", "intro", "outro", "music"):
            path = getattr(self, field)
            if path is not None and not Path(path).is_file():
                raise InputError(
                    f"brand {self.name!r}: {field} file {path} does not exist",
                    f"fix `{field}` in the brand kit (paths are relative to the kit's YAML file) or remove it",
                )


def _dirs(brands_dir: Path | None) -> list[Path]:
    return [d for d in (brands_dir, BUILTIN_BRANDS) if d is not None]


def available_brands(brands_dir: Path | None = None) -> list[str]:
    return presets.available(_dirs(brands_dir))


def load_brand(name: str, brands_dir: Path | None = None) -> BrandKit:
    kit = presets.load(name, _dirs(brands_dir), BrandKit, "brand kit", file_fields=("logo", "intro", "outro", "music"))
    kit.check_files()
    return kit
