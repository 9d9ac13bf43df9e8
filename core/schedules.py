"""Posting schedules: cron slots per account turn the best approved clips into posts.

A schedule (``Schedule`` row, or a ``schedules:`` entry in the YAML that the scheduler syncs into the table)
has crontab slots in a time zone, a minimum score, blackout windows and a daily maximum. When a slot's time
comes, ``run_schedules`` takes the best eligible clip for the account and creates a post at the slot time (the
dispatcher sends it on its next tick). Times in the database are aware UTC; slots are computed in the
schedule's zone, so ``0 9 * * *`` in Europe/Berlin stays 9:00 local across daylight-saving changes.

Eligible clip: same user as the account, rendered (a file exists), score ≥ ``min_score``, not rejected, never
posted to this account before (failed or cancelled posts don't count), and approved: status approved (or
rendered/scheduled/published, which the project treats as approved); with ``auto_approve`` also proposed
clips. Best = highest score, then rank, then oldest. An empty queue is an outcome, not an error.

Blackout windows (local time): ``{start: "22:00", end: "07:00"}`` (may cross midnight), optionally with
``days: [sat, sun]``; ``{date: "2026-12-25"}``; ``{from: "2026-12-24", to: "2026-12-26"}`` (inclusive).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import func
from sqlmodel import col, select

from core.errors import InputError
from core.logging import get_logger
from core.models import Clip, ClipStatus, Post, Schedule, SocialAccount, utcnow
from core.posts import create_post

log = get_logger("clipcast.schedules")

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
APPROVED = {ClipStatus.APPROVED, ClipStatus.RENDERED, ClipStatus.SCHEDULED, ClipStatus.PUBLISHED}
INACTIVE_POST = ["failed", "cancelled"]
#: Slots further back than this when the scheduler was down are reported as missed, not posted late.
CATCH_UP = timedelta(hours=6)


@dataclass
class SlotOutcome:
    """What happened at one slot: a post, or why not (``empty``, ``blackout``, ``daily-limit``, ``taken``...)."""

    schedule_id: int
    slot: datetime
    outcome: str
    post_id: int | None = None
    clip_id: int | None = None
    detail: str = ""


# ------------------------------------------------------------------------------------------------ validation


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"unknown time zone {name!r}", "use an IANA name such as Europe/Berlin or UTC")


def trigger(cron: str, tz: str) -> CronTrigger:
    try:
        return CronTrigger.from_crontab(cron, timezone=zone(tz))
    except ValueError as exc:
        raise InputError(
            f"invalid cron expression {cron!r}: {exc}",
            "use five fields: minute hour day-of-month month day-of-week, e.g. '0 9,18 * * *'",
        )


def _hhmm(value: Any, where: str) -> dtime:
    try:
        return dtime.fromisoformat(str(value))
    except ValueError:
        raise InputError(f"blackout {where} {value!r} is not a time", "write times as HH:MM, e.g. '22:00'")


def _day(value: Any, where: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InputError(f"blackout {where} {value!r} is not a date", "write dates as YYYY-MM-DD")


def validate_blackout(windows: list[dict[str, Any]]) -> None:
    for w in windows:
        if not isinstance(w, dict):
            raise InputError(f"blackout window {w!r} must be a mapping", "e.g. {start: '22:00', end: '07:00'}")
        if "date" in w:
            _day(w["date"], "date")
        elif "from" in w or "to" in w:
            _day(w.get("from"), "from")
            _day(w.get("to"), "to")
        elif "start" in w and "end" in w:
            _hhmm(w["start"], "start")
            _hhmm(w["end"], "end")
            bad = [d for d in w.get("days") or [] if str(d).lower()[:3] not in DAYS]
            if bad:
                raise InputError(f"blackout days {bad} are not weekdays", "use mon, tue, wed, thu, fri, sat, sun")
        else:
            raise InputError(
                f"blackout window {w!r} needs start+end times, a date, or from+to dates",
                "e.g. {start: '22:00', end: '07:00', days: [sat, sun]} or {date: '2026-12-25'}",
            )


def validate_schedule(cron: str, tz: str, blackout: list[dict[str, Any]] | None = None) -> None:
    """Raise ``InputError`` naming the first problem (bad cron, unknown zone, malformed blackout)."""
    trigger(cron, tz)
    validate_blackout(blackout or [])


# ------------------------------------------------------------------------------------------------- slots


def _aware(at: datetime) -> datetime:
    return at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)


def slot_times(cron: str, tz: str, after: datetime, until: datetime) -> list[datetime]:
    """Slots in ``(after, until]`` as aware UTC datetimes."""
    trig, out = trigger(cron, tz), []
    cursor, end = _aware(after), _aware(until)
    while True:
        nxt = trig.get_next_fire_time(None, cursor + timedelta(microseconds=1))
        if nxt is None or nxt > end:
            return out
        out.append(nxt.astimezone(UTC))
        cursor = nxt


def in_blackout(at: datetime, tz: str, windows: list[dict[str, Any]]) -> bool:
    local = _aware(at).astimezone(zone(tz))
    for w in windows:
        if "date" in w and local.date() == _day(w["date"], "date"):
            return True
        if ("from" in w or "to" in w) and _day(w.get("from"), "from") <= local.date() <= _day(w.get("to"), "to"):
            return True
        if "start" in w and "end" in w:
            start, end, now = _hhmm(w["start"], "start"), _hhmm(w["end"], "end"), local.time().replace(tzinfo=None)
            days = [str(d).lower()[:3] for d in w.get("days") or []]
            inside = start <= now < end if start <= end else (now >= start or now < end)
            # an overnight window belongs to the day it starts on
            day = local.date() if start <= end or now >= start else local.date() - timedelta(days=1)
            if inside and (not days or DAYS[day.weekday()] in days):
                return True
    return False


def _local_day_bounds(at: datetime, tz: str) -> tuple[datetime, datetime]:
    local = _aware(at).astimezone(zone(tz))
    start = datetime.combine(local.date(), dtime(0), tzinfo=zone(tz))
    end = datetime.combine(local.date() + timedelta(days=1), dtime(0), tzinfo=zone(tz))
    return _aware(start), _aware(end)


def posts_on_day(session: Any, account_id: int, at: datetime, tz: str) -> int:
    start, end = _local_day_bounds(at, tz)
    q = (
        select(func.count())
        .select_from(Post)
        .where(
            Post.account_id == account_id,
            col(Post.status).not_in(INACTIVE_POST),
            col(Post.scheduled_at) >= start,
            col(Post.scheduled_at) < end,
        )
    )
    return int(session.exec(q).one())


def eligible_clips(session: Any, schedule: Schedule, account: SocialAccount) -> list[Clip]:
    """Clips this schedule may post, best first."""
    posted = select(Post.clip_id).where(Post.account_id == account.id, col(Post.status).not_in(INACTIVE_POST))
    statuses = set(APPROVED) | ({ClipStatus.PROPOSED} if schedule.auto_approve else set())
    q = (
        select(Clip)
        .where(
            col(Clip.status).in_(statuses),
            col(Clip.video_key).is_not(None),
            Clip.score >= schedule.min_score,
            col(Clip.id).not_in(posted),
        )
        .order_by(col(Clip.score).desc(), col(Clip.rank), col(Clip.id))
    )
    q = q.where(Clip.user_id == account.user_id) if account.user_id is not None else q
    return list(session.exec(q))


def fill_slot(app: Any, schedule: Schedule, slot: datetime) -> SlotOutcome:
    """Create the post for one slot, or say why there is none. Safe to call twice for the same slot."""
    assert schedule.id is not None
    out = SlotOutcome(schedule_id=schedule.id, slot=_aware(slot), outcome="")
    if in_blackout(slot, schedule.timezone, schedule.blackout):
        out.outcome = "blackout"
        return out
    with app.session() as s:
        account = s.get(SocialAccount, schedule.account_id)
        if account is None:
            out.outcome, out.detail = "no-account", f"account {schedule.account_id} no longer exists"
            return out
        if account.status == "reconnect":
            out.outcome, out.detail = "reconnect", f"account {account.id} must be reconnected"
            return out
        taken = s.exec(
            select(Post).where(
                Post.account_id == account.id,
                Post.scheduled_at == _aware(slot),
                col(Post.status).not_in(INACTIVE_POST),
            )
        ).first()
        if taken is not None:
            out.outcome, out.post_id, out.clip_id = "taken", taken.id, taken.clip_id
            return out
        if schedule.max_per_day and posts_on_day(s, account.id, slot, schedule.timezone) >= schedule.max_per_day:
            out.outcome, out.detail = "daily-limit", f"{schedule.max_per_day} posts already on that day"
            return out
        candidates = eligible_clips(s, schedule, account)
    if not candidates:
        out.outcome, out.detail = "empty", "no approved, rendered clip left for this account"
        log.info("schedule slot has nothing to post", schedule_id=schedule.id, slot=str(slot))
        app.emit("schedule.empty", data={"schedule_id": schedule.id, "slot": out.slot.isoformat()})
        return out
    if app.settings.selection.learn:  # re-ranked by the account's own history (core.analytics.learn)
        from core.analytics.learn import pick

        first = pick(app, account, candidates, slot)
        candidates = [first, *(c for c in candidates if c is not first)]
    for clip in candidates:
        try:
            post = _create_post(app, clip, account, schedule, slot)
        except InputError as exc:  # e.g. a failed post of it may be live (core.posts.blocks_repost): next clip
            log.info("schedule skipped a clip", schedule_id=schedule.id, clip_id=clip.id, reason=str(exc))
            continue
        out.outcome, out.post_id, out.clip_id = "posted", post.id, clip.id
        return out
    out.outcome, out.detail = "empty", "every remaining clip is blocked for this account"
    return out


def _create_post(app: Any, clip: Clip, account: SocialAccount, schedule: Schedule, slot: datetime) -> Post:
    with app.session() as s:
        row = s.get(Clip, clip.id)
        if row is not None and row.status == ClipStatus.PROPOSED:  # auto-approve
            row.status, row.updated_at = ClipStatus.APPROVED, utcnow()
            s.add(row)
    return create_post(
        app,
        clip.id,  # type: ignore[arg-type]
        account.id,  # type: ignore[arg-type]
        at=_aware(slot),
        user_id=account.user_id,
        schedule_id=schedule.id,
    )


def run_schedules(app: Any, *, now: datetime | None = None) -> list[SlotOutcome]:
    """Fill every slot that came due since each schedule's last run (slots older than ``CATCH_UP`` are missed)."""
    now = _aware(now or datetime.now(UTC))
    with app.session() as s:
        rows = list(s.exec(select(Schedule).where(Schedule.enabled == True)))  # noqa: E712
    outcomes: list[SlotOutcome] = []
    for schedule in rows:
        since = _aware(schedule.last_slot_at or schedule.created_at)
        try:
            slots = slot_times(schedule.cron, schedule.timezone, since, now)
        except InputError as exc:
            log.error("schedule is invalid", schedule_id=schedule.id, error=str(exc))
            continue
        for slot in slots:
            if now - slot > CATCH_UP:
                outcomes.append(SlotOutcome(schedule.id, slot, "missed", detail="the scheduler was not running"))  # type: ignore[arg-type]
                continue
            outcomes.append(fill_slot(app, schedule, slot))
        with app.session() as s:
            row = s.get(Schedule, schedule.id)
            row.last_slot_at = _aware(now)
            s.add(row)
    return outcomes


def next_free_slot(
    app: Any, account_id: int, *, now: datetime | None = None, horizon_days: int = 60
) -> datetime | None:
    """The account's next schedule slot with no post yet, outside blackouts and daily limits (aware UTC)."""
    now = _aware(now or datetime.now(UTC))
    with app.session() as s:
        rows = list(s.exec(select(Schedule).where(Schedule.account_id == account_id, Schedule.enabled == True)))  # noqa: E712
        best: datetime | None = None
        for schedule in rows:
            for slot in slot_times(schedule.cron, schedule.timezone, now, now + timedelta(days=horizon_days)):
                if best is not None and slot >= best:
                    break
                if in_blackout(slot, schedule.timezone, schedule.blackout):
                    continue
                taken = s.exec(
                    select(Post.id).where(
                        Post.account_id == account_id,
                        Post.scheduled_at == _aware(slot),
                        col(Post.status).not_in(INACTIVE_POST),
                    )
                ).first()
                if taken is not None:
                    continue
                if (
                    schedule.max_per_day
                    and posts_on_day(s, account_id, slot, schedule.timezone) >= schedule.max_per_day
                ):
                    continue
                best = slot
                break
    return _aware(best) if best else None


# --------------------------------------------------------------------------------------------- management


def sync_yaml_schedules(app: Any) -> int:
    """Create or update the ``schedules:`` of the YAML (matched by name); returns how many."""
    from core.config import ScheduleConfig

    count = 0
    for cfg in app.settings.schedules:
        cfg: ScheduleConfig  # type: ignore[no-redef]
        validate_schedule(cfg.cron, cfg.timezone, cfg.blackout)
        with app.session() as s:
            if isinstance(cfg.account, int):
                account = s.get(SocialAccount, cfg.account)
            else:
                account = s.exec(select(SocialAccount).where(SocialAccount.name == cfg.account)).first()
            if account is None:
                raise InputError(
                    f"schedules: {cfg.name}: there is no social account {cfg.account!r}",
                    "connect it first (`clipcast accounts connect PLATFORM`), then use its id or name",
                )
            row = s.exec(select(Schedule).where(Schedule.name == cfg.name)).first() or Schedule(
                name=cfg.name,
                account_id=account.id,
                cron=cfg.cron,  # type: ignore[arg-type]
            )
            row.account_id, row.user_id = account.id, account.user_id  # type: ignore[assignment]
            row.cron, row.timezone, row.min_score = cfg.cron, cfg.timezone, cfg.min_score
            row.auto_approve, row.blackout, row.max_per_day = cfg.auto_approve, cfg.blackout, cfg.max_per_day
            row.enabled = cfg.enabled
            s.add(row)
        count += 1
    return count
