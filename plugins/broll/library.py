"""B-roll from a local library: folders of the user's own clips and pictures, matched by name and tags.

The folders are the administrator's (``broll.library.roots``); a render names at most a collection (one
sub-folder name, never a path), looked up under each root. Files that resolve outside their root (symlinks
out) are skipped, and so are hidden files and anything but the extensions listed.

A file's terms are the words of its name and of the folders between the root and it (``city/bike-lane_2.mp4``
→ city, bike, lane), plus its tags: a ``tags.yaml`` (or ``tags.yml``) in its folder mapping file names to a
list or a comma-separated string of tags, or a sidecar ``<file name>.txt`` of comma/space separated tags.

Ranking (deterministic): a keyword that is a word of the file name scores 3, a tag 2, a folder name 1 (plurals
folded: "bikes" finds bike.mp4); each of the clip's topic words the file also has adds 0.5; ties go to videos
before images, then to the shorter relative path, then alphabetically.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from clipcast import BrollAsset, BrollProvider, BrollQuery, InputError, hookimpl

VIDEO_EXTENSIONS = [".mp4", ".mov", ".m4v", ".webm", ".mkv"]
IMAGE_EXTENSIONS = [".jpg", ".jpeg", ".png"]
_WORD = re.compile(r"[a-z0-9]+")
_NAME = re.compile(r"^[\w][\w .-]*$")
#: Seconds an index of the roots is reused before the folders are walked again.
INDEX_TTL = 10.0


def fold(word: str) -> str:
    """Lower case, English plurals folded (cities → city, boxes → box, bikes → bike)."""
    w = word.lower()
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 4 and (w.endswith(("ches", "shes")) or (w.endswith("es") and w[-3] in "sxz")):
        return w[:-2]
    if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "is", "us")):
        return w[:-1]
    return w


def words_of(text: str) -> set[str]:
    return {fold(w) for w in _WORD.findall(text.lower().replace("_", " "))}


@dataclass(frozen=True)
class Entry:
    path: Path
    rel: str
    kind: str
    name_terms: frozenset[str]
    tags: frozenset[str]
    folders: frozenset[str]


def _tags_file(folder: Path) -> dict[str, set[str]]:
    for name in ("tags.yaml", "tags.yml"):
        f = folder / name
        if f.is_file() and not f.is_symlink():
            try:
                data = yaml.safe_load(f.read_text(encoding="utf-8")) or {}
            except yaml.YAMLError as exc:
                raise InputError(f"B-roll tags file {name} in {folder.name} is not valid YAML: {exc}")
            if not isinstance(data, dict):
                raise InputError(f"B-roll tags file {name} in {folder.name} must map file names to tags")
            out = {}
            for file, tags in data.items():
                items = tags if isinstance(tags, list) else str(tags or "").split(",")
                out[str(file)] = {t for item in items for t in words_of(str(item))}
            return out
    return {}


class LocalLibrary(BrollProvider):
    """A folder of the user's clips and images (see the module docstring)."""

    name = "library"
    description = "the user's own clips and pictures in admin-set folders, matched by file name and tags"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        roots: list[Path] = Field(default_factory=list, description="folders of B-roll files (admin-set)")
        extensions: list[str] = Field(
            default_factory=lambda: VIDEO_EXTENSIONS + IMAGE_EXTENSIONS, description="file types offered"
        )
        max_files: int = Field(5000, ge=1, description="most files indexed per root (the walk stops there)")

    _index: tuple[float, tuple[str | None, ...], list[Entry]] | None = None

    def index(self, collection: str | None = None) -> list[Entry]:
        """Every usable file under the roots (or under each root's ``collection`` folder), sorted by path."""
        if collection is not None and (not _NAME.match(collection) or ".." in collection or "/" in collection):
            raise InputError(f"{collection!r} is not a B-roll collection name", "give a folder name, not a path")
        key = (collection, *map(str, self.options.roots))
        if self._index and self._index[1] == key and time.monotonic() - self._index[0] < INDEX_TTL:
            return self._index[2]
        exts = {e.lower() for e in self.options.extensions}
        entries: list[Entry] = []
        for root in self.options.roots:
            base = root.expanduser().resolve()
            top = base / collection if collection else base
            if not top.is_dir() or not top.resolve().is_relative_to(base):
                continue
            tags_by_dir: dict[Path, dict[str, set[str]]] = {}
            count = 0
            for path in sorted(top.rglob("*")):
                if count >= self.options.max_files:
                    break
                rel_parts = path.relative_to(base).parts
                if any(p.startswith(".") for p in rel_parts) or path.suffix.lower() not in exts:
                    continue
                real = path.resolve()
                if not real.is_relative_to(base) or not real.is_file():
                    continue  # a link out of the library, or not a file
                if path.parent not in tags_by_dir:
                    tags_by_dir[path.parent] = _tags_file(path.parent)
                tags = set(tags_by_dir[path.parent].get(path.name, set()))
                sidecar = path.with_name(path.name + ".txt")
                if sidecar.is_file() and sidecar.resolve().is_relative_to(base):
                    tags |= words_of(sidecar.read_text(encoding="utf-8", errors="replace").replace(",", " "))
                kind = "image" if path.suffix.lower() in IMAGE_EXTENSIONS else "video"
                entries.append(
                    Entry(
                        path=real,
                        rel="/".join(rel_parts),
                        kind=kind,
                        name_terms=frozenset(words_of(path.stem)),
                        tags=frozenset(tags),
                        folders=frozenset(w for p in rel_parts[:-1] for w in words_of(p)),
                    )
                )
                count += 1
        self._index = (time.monotonic(), key, entries)
        return entries

    def search(self, query: BrollQuery) -> list[BrollAsset]:
        word = fold(query.keyword)
        topic = {fold(t) for t in query.topic} - {word}
        ranked = []
        for e in self.index(query.collection):
            if word in e.name_terms:
                score, how = 3.0, "name"
            elif word in e.tags:
                score, how = 2.0, "tag"
            elif word in e.folders:
                score, how = 1.0, "folder"
            else:
                continue
            score += 0.5 * len(topic & (e.name_terms | e.tags | e.folders))
            ranked.append((-score, e.kind != "video", len(e.rel), e.rel, score, how, e))
        ranked.sort(key=lambda r: r[:4])
        return [
            BrollAsset(
                provider=self.name, id=e.rel, kind=e.kind, score=score, matched=f"{query.keyword} ({how})", path=e.path
            )  # type: ignore[arg-type]
            for *_, score, how, e in ranked[: query.limit]
        ]


@hookimpl
def register_broll_providers(register):  # type: ignore[no-untyped-def]
    register(LocalLibrary)
