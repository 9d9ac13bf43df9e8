"""Error text a user sees never names the server's own directories.

A job's or a post's error and every API error message reach the studio and API clients as they are; a
backend's exception may quote where it keeps files (the data directory, local storage's root, a scratch
directory of this process in the system temp dir). ``scrub`` replaces every such path with ``[server file]``
(the log keeps the full text). Paths a user typed themselves (a watched folder) are not under these roots and
stay as they are; so does anything else in the temp dir (only Clipcast's own scratch names are hidden there).
"""

from __future__ import annotations

import re
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

from core.scratch import _host as scratch_host

HIDDEN = "[server file]"
# a path ends at whitespace, a quote, a bracket or a separator that cannot be part of what follows the root
_TAIL = r"(?:/[^\s'\"()\[\]<>,;:]*)?"


def server_roots(settings: Any) -> tuple[str, ...]:
    """The directories whose names stay on the server: data_dir, output_dir, local storage's root."""
    roots = {Path(settings.data_dir), Path(settings.output_dir)}
    storage = getattr(settings, "storage", None)
    local = storage.sections().get("local") if storage is not None else None
    root = local.get("root") if isinstance(local, dict) else None
    if root:
        roots.add(Path(root))
    out: set[str] = set()
    for path in roots:
        out.add(str(path))
        try:
            out.add(str(path.resolve()))
        except OSError:
            pass
    # only absolute forms: a relative root ("clips") is also an everyday word ("3 clips rendered")
    return tuple(sorted((r for r in out if r.startswith("/") and r != "/"), key=len, reverse=True))


@lru_cache(maxsize=32)
def _pattern(roots: tuple[str, ...]) -> re.Pattern[str]:
    # scratch entries are named <kind>-<host>-<pid>-... (core.scratch.prefix) in the system temp dir
    scratch = re.escape(tempfile.gettempdir()) + r"/[\w.-]*?-" + re.escape(scratch_host()) + r"-\d+-[^/\s'\":]*"
    alternatives = [re.escape(r) for r in roots] + [scratch]
    return re.compile(r"(?<![\w.-])(?:" + "|".join(alternatives) + ")" + _TAIL)  # a path starts at a boundary


def scrub(text: str | None, settings: Any) -> str | None:
    """``text`` with every path under a server root replaced by ``[server file]``; None stays None."""
    if not text:
        return text
    return _pattern(server_roots(settings)).sub(HIDDEN, text)
