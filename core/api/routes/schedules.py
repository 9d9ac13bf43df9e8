"""Posting schedules: crontab slots per account, with score threshold, daily cap and auto-approve."""

from __future__ import annotations

from fastapi import APIRouter
from sqlmodel import Session, col, select

from core.api.deps import AppDep, Id, PageDep, UserDep, owned, paged, scoped
from core.api.schemas import PageOut, ScheduleIn, ScheduleOut, SchedulePatch
from core.models import Post, Schedule, SocialAccount
from core.schedules import validate_schedule

router = APIRouter(prefix="/api/schedules", tags=["schedules"])


def drop_schedule(s: Session, schedule: Schedule) -> None:
    """Delete ``schedule``; its posts stay, no longer tied to it."""
    for post in s.exec(select(Post).where(Post.schedule_id == schedule.id)).all():
        post.schedule_id = None
        s.add(post)
    s.delete(schedule)


@router.get("", response_model=PageOut[ScheduleOut], summary="Your schedules")
def list_schedules(user: UserDep, app: AppDep, pg: PageDep) -> dict:
    stmt = scoped(select(Schedule), Schedule, user).order_by(col(Schedule.id))
    with app.session() as s:
        return paged(s, stmt, pg)


@router.post("", response_model=ScheduleOut, status_code=201, summary="Create a schedule for one of your accounts")
def add_schedule(body: ScheduleIn, user: UserDep, app: AppDep) -> Schedule:
    validate_schedule(body.cron, body.timezone, body.blackout)  # the scheduler's own check: accept what it can run
    with app.session() as s:
        account = owned(s, SocialAccount, body.account_id, user, "account")
        row = Schedule(**body.model_dump(), user_id=account.user_id)
        s.add(row)
        s.flush()
        return row


@router.get("/{schedule_id}", response_model=ScheduleOut, summary="One schedule")
def read_schedule(schedule_id: Id, user: UserDep, app: AppDep) -> Schedule:
    with app.session() as s:
        return owned(s, Schedule, schedule_id, user)


@router.patch("/{schedule_id}", response_model=ScheduleOut, summary="Change a schedule")
def update_schedule(schedule_id: Id, body: SchedulePatch, user: UserDep, app: AppDep) -> Schedule:
    changes = body.model_dump(exclude_unset=True)
    with app.session() as s:
        row = owned(s, Schedule, schedule_id, user)
        validate_schedule(
            changes.get("cron", row.cron), changes.get("timezone", row.timezone), changes.get("blackout", row.blackout)
        )
        for key, value in changes.items():
            setattr(row, key, value)
        s.add(row)
        return row


@router.delete("/{schedule_id}", status_code=204, summary="Delete a schedule (its posts stay)")
def delete_schedule(schedule_id: Id, user: UserDep, app: AppDep) -> None:
    with app.session() as s:
        drop_schedule(s, owned(s, Schedule, schedule_id, user))
