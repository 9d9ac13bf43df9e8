"""Folder publisher: copies the clip, its caption and a metadata JSON into a directory (a synced folder, a NAS
share). Useful for posting by hand, for platforms without an API, and for tests.

Each post gets its own sub-directory ``<post id>-<slug>``. Its files are written into ``.part-<post id>`` and the
directory is renamed into place in one atomic step, so a sync client never picks up half a delivery, and the
remote id is recorded only once the rename is done. A process killed mid-copy leaves at most that ``.part``
directory: the next attempt (``recover``, then ``publish``) removes it and writes again, and one that finds the
finished directory counts it as published instead of writing a second copy.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from clipcast import PermanentError, PostStatus, Publisher, PublishRequest, PublishResult, hookimpl


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:50] or "clip"


class FolderPublisher(Publisher):
    name = "folder"
    description = "copy clip + caption + metadata JSON into a directory"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        path: Path | None = Field(None, description="target directory; default <data_dir>/outbox")
        max_caption_chars: int = Field(2200, gt=0)

    def __init__(self, options: BaseModel | None = None) -> None:
        super().__init__(options)
        self.root = Path(self.options.path or "clipcast-data/outbox")

    def bind(self, settings: Any) -> None:
        if self.options.path is None:
            self.root = Path(settings.data_dir) / "outbox"

    def _dir(self, request: PublishRequest) -> Path:
        ident = request.post_id if request.post_id is not None else f"clip{request.clip_id}"
        return self.root / f"{ident}-{_slug(request.title or request.caption)}"

    def describe(self, request: PublishRequest) -> dict[str, Any]:
        tags = " ".join(h if h.startswith("#") else f"#{h}" for h in request.hashtags)
        text = (request.caption + ("\n\n" + tags if tags else "")).strip()  # caption.txt; the limit is the caption's
        return {"title": request.title, "text": text, "text_length": len(request.caption), "title_limit": None,
                "text_limit": self.options.max_caption_chars, "privacy": None}  # fmt: skip

    def preflight(self, request: PublishRequest, account: Any) -> list[str]:
        problems = []
        if not Path(request.video_path).is_file():
            problems.append(f"the rendered video {request.video_path} is missing")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            if not os.access(self.root, os.W_OK):
                problems.append(f"cannot write to {self.root}")
        except OSError as exc:
            problems.append(f"cannot create {self.root}: {exc.strerror}")
        if len(request.caption) > self.options.max_caption_chars:
            problems.append(
                f"caption is {len(request.caption)} characters; the limit is {self.options.max_caption_chars}"
            )
        return problems

    def _part(self, request: PublishRequest) -> Path:
        ident = request.post_id if request.post_id is not None else f"clip{request.clip_id}"
        return self.root / f".part-{ident}"

    def publish(self, request: PublishRequest, account: Any) -> PublishResult:
        dest = self._dir(request)
        if (dest / "metadata.json").is_file():
            return self.check_status(str(dest), account)
        request.save_checkpoint(delivery="writing", dest=str(dest))
        tmp = self._part(request)
        try:
            shutil.rmtree(tmp, ignore_errors=True)  # a killed attempt's leftovers
            tmp.mkdir(parents=True)
            video_name = "clip" + (Path(request.video_path).suffix or ".mp4")
            shutil.copyfile(request.video_path, tmp / video_name)
            tags = " ".join(h if h.startswith("#") else f"#{h}" for h in request.hashtags)
            (tmp / "caption.txt").write_text((request.caption + ("\n\n" + tags if tags else "")).strip() + "\n")
            meta = {
                "post_id": request.post_id,
                "clip_id": request.clip_id,
                "title": request.title,
                "caption": request.caption,
                "hashtags": request.hashtags,
                "duration": request.duration,
                "video": video_name,
                "publish_at": request.publish_at.isoformat() if request.publish_at else None,
                "written_at": datetime.now(UTC).isoformat(),
            }
            (tmp / "metadata.json").write_text(json.dumps(meta, indent=2) + "\n")
            if dest.exists():
                shutil.rmtree(dest)  # an incomplete directory from elsewhere: never counted
            os.replace(tmp, dest)
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise PermanentError(f"folder publisher could not write {dest}: {exc.strerror or exc}")
        return PublishResult(status=PostStatus.PUBLISHED, remote_id=str(dest), url=dest.as_uri())

    def check_status(self, remote_id: str, account: Any) -> PublishResult:
        dest = Path(remote_id)
        if (dest / "metadata.json").is_file():
            return PublishResult(status=PostStatus.PUBLISHED, remote_id=remote_id, url=dest.resolve().as_uri())
        return PublishResult(status=PostStatus.FAILED, remote_id=remote_id, error=f"{dest} is gone")

    def recover(self, request: PublishRequest, account: Any) -> PublishResult | None:
        """A finished delivery counts; an unfinished one is removed and written again by ``publish``."""
        dest = Path(request.resume.get("dest") or self._dir(request))
        if (dest / "metadata.json").is_file():
            return self.check_status(str(dest), account)
        shutil.rmtree(self._part(request), ignore_errors=True)
        return None


@hookimpl
def register_publishers(register):  # type: ignore[no-untyped-def]
    register(FolderPublisher)
