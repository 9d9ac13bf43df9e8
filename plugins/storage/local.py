"""Local filesystem storage (the default): files under ``root`` (default ``<data_dir>/storage``).

URLs a platform can fetch (Instagram pulls the video, webhooks pass a download link):
- ``public_base_url`` set (your own web server or CDN serving ``root``): ``<public_base_url>/<key>``;
- otherwise, with ``server.public_base_url`` and ``secret_key`` set, the Clipcast API serves the file at
  ``<server.public_base_url>/files/<key>?expires=...&sig=...``, signed and expiring like an S3 presigned URL;
- otherwise there is no such URL and ``url()`` returns None.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from pydantic import BaseModel, ConfigDict, Field

from clipcast import Storage, StorageError, hookimpl, scratch_prefix, sign_key, validate_key

CHUNK = 1024 * 1024


class LocalStorage(Storage):
    name = "local"
    description = "files on this machine (default)"
    adopts_files = True

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        root: Path | None = Field(None, description="directory; default <data_dir>/storage")
        public_base_url: str | None = Field(None, description="URL prefix that serves root over HTTP")

    def __init__(self, options: BaseModel | None = None) -> None:
        super().__init__(options)
        self.root = Path(self.options.root or "clipcast-data/storage").resolve()
        self.public_base_url: str | None = None
        self._signing_secret: str | None = None

    def bind(self, settings: Any) -> None:
        if self.options.root is None:
            self.root = (Path(settings.data_dir) / "storage").resolve()
        if self.options.public_base_url is None and settings.server.public_base_url and settings.secret_key:
            self.public_base_url = f"{settings.server.public_base_url.rstrip('/')}/files"
            self._signing_secret = settings.secret_key.get_secret_value()

    def _path(self, key: str) -> Path:
        path = (self.root / validate_key(key)).resolve()
        if self.root not in path.parents:
            raise StorageError(f"storage key {key!r} resolves outside the storage root")
        return path

    def put_file(self, key: str, path: Path, content_type: str | None = None) -> None:
        with open(path, "rb") as src:
            self.put_stream(key, src, content_type)

    def adopt_file(self, key: str, path: Path, content_type: str | None = None) -> None:
        """A rename when ``path`` is on the same file system as ``root`` (copying a 3 GB file took 6.9 s);
        otherwise a copy. Atomic either way: readers never see half a file."""
        dest = self._path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(path, dest)
        except OSError:  # another file system (EXDEV), or not allowed: copy it instead
            self.put_file(key, path, content_type)

    def put_stream(self, key: str, stream: BinaryIO, content_type: str | None = None) -> int:
        dest = self._path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        written = 0
        # Write to a temporary file and rename: readers never see half a file.
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=scratch_prefix(".part"))
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK):
                    out.write(chunk)
                    written += len(chunk)
            os.replace(tmp, dest)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return written

    def open(self, key: str) -> BinaryIO:
        path = self._path(key)
        if not path.is_file():
            raise StorageError(f"no object {key!r} in local storage", "it was never stored, or was deleted since")
        return open(path, "rb")

    def download(self, key: str, dest: Path) -> Path:
        src = self._path(key)
        if not src.is_file():
            raise StorageError(f"no object {key!r} in local storage", "it was never stored, or was deleted since")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
        return dest

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def list(self, prefix: str = "") -> Iterator[str]:
        if not self.root.exists():
            return
        for path in sorted(self.root.rglob("*")):
            if path.is_file() and not path.name.startswith(".part-"):
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    yield key

    def url(self, key: str, expires: int = 3600) -> str | None:
        validate_key(key)
        if self.options.public_base_url:
            return f"{self.options.public_base_url.rstrip('/')}/{key}"
        if self.public_base_url and self._signing_secret:
            expires_at = int(time.time()) + expires
            signature = sign_key(key, expires_at, self._signing_secret)
            return f"{self.public_base_url}/{key}?expires={expires_at}&sig={signature}"
        return None

    def local_path(self, key: str) -> Path | None:
        path = self._path(key)
        return path if path.is_file() else None

    def size(self, key: str) -> int:
        return self._path(key).stat().st_size


@hookimpl
def register_storage_backends(register):  # type: ignore[no-untyped-def]
    register(LocalStorage)
