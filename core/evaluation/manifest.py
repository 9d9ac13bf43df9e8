"""The evaluation manifest: videos and the spans a person labelled as worth posting (see docs/evaluation.md).

JSON or YAML::

    {"version": 1,
     "videos": [{"id": "talk-1", "path": "talk-1.mp4", "tags": ["podcast"],
                 "highlights": [{"start": 44.9, "end": 71.5, "tags": ["story"]}]}]}

``path`` is relative to the manifest's directory (or absolute). Times are seconds from the start of the media.
A video with no highlights still counts for the boundary measures but not for the ranking ones.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.errors import InputError


class Highlight(BaseModel):
    model_config = ConfigDict(extra="ignore")
    start: float = Field(ge=0)
    end: float
    tags: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _ordered(self) -> Highlight:
        if self.end <= self.start:
            raise ValueError(f"a highlight must end after it starts ({self.start:g}-{self.end:g} s)")
        return self


class VideoEntry(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str
    path: str
    title: str = ""
    tags: list[str] = Field(default_factory=list)
    highlights: list[Highlight] = Field(default_factory=list)


class Manifest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    version: int = 1
    videos: list[VideoEntry]
    root: Path = Field(Path("."), exclude=True)

    def media(self, video: VideoEntry) -> Path:
        path = Path(video.path)
        return path if path.is_absolute() else self.root / path


def load_manifest(path: Path) -> Manifest:
    """Read and check a manifest; every problem names the file and the entry."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read the manifest {path}: {exc.strerror}", "give the path of a manifest file")
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise InputError(f"{path} is not valid JSON/YAML: {exc}", "see docs/evaluation.md for the format")
    try:
        manifest = Manifest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise InputError(f"{path}: {loc}: {first['msg']}", "see docs/evaluation.md for the format")
    manifest.root = path.resolve().parent
    missing = [v.path for v in manifest.videos if not manifest.media(v).is_file()]
    if missing:
        raise InputError(
            f"{path}: {len(missing)} media file(s) not found, first {missing[0]!r}",
            "paths are relative to the manifest's directory (build the development set with bench/devset/build.py)",
        )
    return manifest
