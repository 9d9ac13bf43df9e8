"""A slow outbox disk for fault runs (``CLIPCAST_PLUGINS=fakes.slow_outbox``): the folder publisher's copy of the
clip takes about ``CLIPCAST_SLOW_OUTBOX_SECONDS`` (default 0.4 s), as onto a NAS share or a synced folder, so a
``kill -9`` can land inside it. The bytes are copied for real, in 16 KB pieces; nothing else is changed."""

from __future__ import annotations

import os
import shutil
import time
from typing import Any

import plugins.publishers.folder as folder

PIECE = 16 * 1024


class _SlowShutil:
    def __getattr__(self, name: str) -> Any:
        return getattr(shutil, name)

    @staticmethod
    def copyfile(src: Any, dst: Any) -> Any:
        seconds = float(os.environ.get("CLIPCAST_SLOW_OUTBOX_SECONDS", "0.4"))
        pieces = max(1, os.path.getsize(src) // PIECE + 1)
        with open(src, "rb") as fin, open(dst, "wb") as fout:
            while block := fin.read(PIECE):
                fout.write(block)
                fout.flush()
                time.sleep(seconds / pieces)
        return dst


folder.shutil = _SlowShutil()  # type: ignore[assignment]
