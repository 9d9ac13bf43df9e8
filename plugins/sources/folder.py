"""Watch a folder: every new video file becomes an item (its absolute path; never processed twice).

A file still being copied is left for the next poll: it must be at least ``settle_seconds`` old. The folder
must lie under ``sources.folder_roots`` (``core.sources``); files that resolve outside it (symlinks) are skipped.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from clipcast import InputError, Source, SourceItem, hookimpl

VIDEO_EXTENSIONS = [".mp4", ".mov", ".mkv", ".webm", ".m4v", ".avi"]


class FolderSource(Source):
    name = "folder"
    description = "new video files in a local folder"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        extensions: list[str] = Field(default_factory=lambda: list(VIDEO_EXTENSIONS))
        recursive: bool = False
        settle_seconds: float = Field(5.0, ge=0, description="ignore files modified more recently than this")

    target_type = "path"
    settings: Any = None

    def bind(self, settings: Any) -> None:
        self.settings = settings

    def poll(self, target: str) -> list[SourceItem]:
        from clipcast import item_allowed

        folder = Path(target).expanduser()
        if not folder.is_dir():
            raise InputError(f"watched folder {folder} does not exist", "create it or fix the source's target")
        exts = {e.lower() for e in self.options.extensions}
        files = folder.rglob("*") if self.options.recursive else folder.iterdir()
        now = time.time()
        items = []
        for path in sorted(files):
            if not path.is_file() or path.name.startswith(".") or path.suffix.lower() not in exts:
                continue
            if now - path.stat().st_mtime < self.options.settle_seconds:
                continue  # probably still being written
            resolved = str(path.resolve())
            if self.settings is None or not item_allowed(self.settings, FolderSource, target, resolved):
                continue  # a link out of the watched folder, or no roots configured
            items.append(SourceItem(id=resolved, location=resolved, title=path.stem))
        return items


@hookimpl
def register_sources(register):  # type: ignore[no-untyped-def]
    register(FolderSource)
