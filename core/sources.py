"""What a watched source may be: checked when a source is added or changed, and again before every poll (a row
written before these rules, or edited in the database, gets no pass).

- A ``path`` source (a folder) is a server directory: only administrators add one, and only under
  ``sources.folder_roots``, never overlapping ``data_dir`` (which holds every user's originals).
- A ``url`` source (feed, channel, playlist) has an http(s) target that passes the URL check, and every item it
  yields must be an http(s) URL: a feed cannot make the server read a local file.
- The preset holds analysis options and render *style* names only (``StyleIn``); render options that name
  files or tune the encoder are the administrator's configuration (``render:``), never a source's.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.api.errors import Forbidden
from core.api.schemas import SelectionIn, StyleIn
from core.contracts import Source
from core.errors import InputError, validation_summary
from core.urls import check_url

__all__ = ["SourcePreset", "check_preset", "check_source", "check_target", "inside", "item_allowed"]


class SourcePreset(BaseModel):
    """A source's ``preset``: options for the jobs its items become."""

    model_config = ConfigDict(extra="forbid")

    clips: int | None = SelectionIn.model_fields["clips"]
    min_seconds: float | None = SelectionIn.model_fields["min_seconds"]
    max_seconds: float | None = SelectionIn.model_fields["max_seconds"]
    language: str | None = SelectionIn.model_fields["language"]
    render: bool = Field(True, description="render the proposed clips (false: analyze only)")
    render_options: StyleIn = Field(default_factory=StyleIn, description="style names and switches")
    backfill: int | None = Field(None, ge=0, le=10_000, description="feed entries taken on the first poll")
    options: dict[str, Any] = Field(default_factory=dict, description="the source backend's own options")
    accounts: list[int] = Field(default_factory=list, max_length=100)


def check_preset(source_cls: type[Source], preset: Any) -> None:
    """Raise ``InputError`` naming each bad key (never its value)."""
    try:
        parsed = SourcePreset.model_validate(preset if preset is not None else {})
        source_cls.Options.model_validate(parsed.options)
    except ValidationError as exc:
        raise InputError(f"invalid source preset: {validation_summary(exc)}", "see the preset keys in docs/api.md")


def inside(path: Path, root: Path) -> bool:
    """Whether ``path`` is ``root`` or below it (both already resolved)."""
    return path == root or root in path.parents


def _folder(settings: Any, target: str) -> Path:
    """The resolved folder of a ``path`` target, if it lies under a configured root and clear of data_dir."""
    roots = [Path(r).expanduser().resolve() for r in settings.sources.folder_roots]
    if not roots:
        raise InputError(
            "folder sources are disabled: no sources.folder_roots are configured",
            "an administrator lists the directories that may be watched in sources.folder_roots",
        )
    if "\x00" in target or not os.path.isabs(os.path.expanduser(target)):
        raise InputError("a watched folder must be an absolute path under sources.folder_roots")
    folder = Path(target).expanduser().resolve()  # symlinks and '..' resolved before the comparison
    data = Path(settings.data_dir).expanduser().resolve()
    if inside(folder, data) or inside(data, folder):
        raise InputError("a watched folder may not be inside Clipcast's data_dir or contain it")
    if not any(inside(folder, root) for root in roots):
        raise InputError(
            "the folder is not under any of sources.folder_roots",
            "watch a directory below one of: " + ", ".join(str(r) for r in roots),
        )
    return folder


def check_target(app: Any, source_cls: type[Source], target: str, *, is_admin: bool) -> None:
    """Raise ``InputError`` (or ``Forbidden``) when ``target`` may not be watched by this caller."""
    if not target.strip():
        raise InputError("target is empty", "give a channel/playlist URL or feed URL (folders: administrators)")
    if source_cls.target_type == "path":
        if not is_admin:
            raise Forbidden(f"only administrators may add {source_cls.name} sources (they read server directories)")
        _folder(app.settings, target)
        source_cls.check_target(target)
    else:
        source_cls.check_target(target)  # the kind's own shape first: a clearer message than the URL check's
        check_url(target, app.settings)


def check_source(app: Any, source_cls: type[Source], target: str, preset: Any, *, is_admin: bool) -> None:
    check_preset(source_cls, preset)  # local and cheap: before the target's name is resolved
    check_target(app, source_cls, target, is_admin=is_admin)


def item_allowed(settings: Any, source_cls: type[Source], target: str, location: str) -> bool:
    """Whether a polled item's location may become a job: an http(s) URL for URL sources, a file under the
    watched folder for path sources."""
    if source_cls.target_type == "path":
        try:
            return inside(Path(location).resolve(), _folder(settings, target))
        except (InputError, OSError, ValueError):
            return False
    return location.lower().startswith(("http://", "https://")) and not any(c.isspace() for c in location)
