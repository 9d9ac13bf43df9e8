"""Watched sources (folders, channels, playlists, feeds) whose new items are analyzed automatically."""

from __future__ import annotations

from fastapi import APIRouter
from sqlmodel import col, select

from core import sources
from core.api.deps import AppDep, Id, PageDep, UserDep, owned, paged, scoped
from core.api.schemas import PageOut, SourceIn, SourceOut, SourcePatch
from core.models import SourceItemSeen, WatchedSource
from core.schedules import validate_schedule
from core.users import Principal

router = APIRouter(prefix="/api/sources", tags=["sources"])


def _check(app: AppDep, user: Principal, kind: str, target: str, cron: str | None, preset: dict) -> None:
    """Target and preset rules in ``core.sources``: folders for admins under sources.folder_roots only, URLs
    checked, presets carrying style names and analysis options only."""
    cls = app.plugins.backend("source", kind)  # unknown kinds: 400 listing the available ones
    sources.check_source(app, cls, target, preset, is_admin=user.is_admin)
    if cron is not None:
        validate_schedule(cron, "UTC")


@router.get("", response_model=PageOut[SourceOut], summary="Your watched sources")
def list_sources(user: UserDep, app: AppDep, pg: PageDep) -> dict:
    stmt = scoped(select(WatchedSource), WatchedSource, user).order_by(col(WatchedSource.id))
    with app.session() as s:
        return paged(s, stmt, pg)


@router.post("", response_model=SourceOut, status_code=201, summary="Watch a folder, channel, playlist or feed")
def add_source(body: SourceIn, user: UserDep, app: AppDep) -> WatchedSource:
    _check(app, user, body.kind, body.target, body.cron, body.preset)
    with app.session() as s:
        row = WatchedSource(**body.model_dump(), user_id=user.id)
        s.add(row)
        s.flush()
        return row


@router.get("/{source_id}", response_model=SourceOut, summary="One watched source")
def read_source(source_id: Id, user: UserDep, app: AppDep) -> WatchedSource:
    with app.session() as s:
        return owned(s, WatchedSource, source_id, user, "source")


@router.patch("/{source_id}", response_model=SourceOut, summary="Change a watched source")
def update_source(source_id: Id, body: SourcePatch, user: UserDep, app: AppDep) -> WatchedSource:
    changes = body.model_dump(exclude_unset=True)
    with app.session() as s:
        row = owned(s, WatchedSource, source_id, user, "source")
        target, preset = changes.get("target", row.target), changes.get("preset", row.preset)
        _check(app, user, row.kind, target, changes.get("cron", row.cron), preset)
        for key, value in changes.items():
            setattr(row, key, value)
        s.add(row)
        return row


@router.delete("/{source_id}", status_code=204, summary="Stop watching (videos already found stay)")
def delete_source(source_id: Id, user: UserDep, app: AppDep) -> None:
    with app.session() as s:
        row = owned(s, WatchedSource, source_id, user, "source")
        for seen in s.exec(select(SourceItemSeen).where(SourceItemSeen.source_id == source_id)).all():
            s.delete(seen)
        s.delete(row)
