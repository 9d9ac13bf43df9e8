"""Posting schedules over a simulated clock: slots, score order, blackouts, daily limits, no duplicates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from core import schedules
from core.app import Clipcast
from core.errors import InputError
from core.models import Clip, Post, Schedule, SocialAccount, Video

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 6, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


@pytest.fixture
def library(app: Clipcast) -> dict[str, Any]:
    """One account and clips of every kind; returns their ids by label."""
    with app.session() as s:
        account = SocialAccount(platform="youtube", name="Main channel", remote_id="UC1")
        other = SocialAccount(platform="tiktok", name="Other", remote_id="T1")
        video = Video(source="talk.mp4", sha256="abc", duration=600)
        s.add_all([account, other, video])
        s.flush()
        specs = {
            "c95": (95, "rendered", True),
            "c80": (80, "rendered", True),
            "c60": (60, "approved", True),
            "c40": (40, "rendered", True),  # below min_score
            "c99": (99, "rejected", True),  # rejected
            "c97": (97, "proposed", True),  # not approved (unless auto_approve)
            "c90": (90, "approved", False),  # approved but not rendered
        }
        ids = {"account": account.id, "other": other.id}
        for rank, (label, (score, status, rendered)) in enumerate(specs.items()):
            clip = Clip(
                video_id=video.id, rank=rank, start=rank * 30, end=rank * 30 + 20, score=score, status=status,
                video_key=f"renders/{label}.mp4" if rendered else None, title=label,
            )  # fmt: skip
            s.add(clip)
            s.flush()
            ids[label] = clip.id
    return ids


def add_schedule(app: Clipcast, account_id: int, **fields: Any) -> Schedule:
    values = {"cron": "0 9,13,18 * * *", "timezone": "Europe/Berlin", "min_score": 50,
              "created_at": berlin(1, 0), **fields}  # fmt: skip
    with app.session() as s:
        row = Schedule(account_id=account_id, name=f"s{account_id}", **values)
        s.add(row)
        s.flush()
        s.refresh(row)
        return row


def simulate(app: Clipcast, start: datetime, end: datetime, step: timedelta = timedelta(minutes=30)) -> list[Any]:
    outcomes, now = [], start
    while now <= end:
        outcomes += schedules.run_schedules(app, now=now)
        outcomes += schedules.run_schedules(app, now=now)  # a second run at the same instant adds nothing
        now += step
    return outcomes


def posts(app: Clipcast, account_id: int) -> list[Post]:
    with app.session() as s:
        return list(s.exec(select(Post).where(Post.account_id == account_id).order_by(col(Post.scheduled_at))))


def test_a_simulated_day_posts_best_clips_in_score_order(app: Clipcast, library: dict[str, Any]) -> None:
    add_schedule(app, library["account"], blackout=[{"start": "12:30", "end": "14:00"}])
    outcomes = simulate(app, berlin(1, 0), berlin(2, 23))
    made = posts(app, library["account"])
    assert [p.clip_id for p in made] == [library["c95"], library["c80"], library["c60"]]
    assert [p.scheduled_at for p in made] == [berlin(d, h) for d, h in ((1, 9), (1, 18), (2, 9))]
    assert all(p.status == "scheduled" and p.platform == "youtube" for p in made)
    by_kind = [(o.slot.astimezone(BERLIN).strftime("%d %H:%M"), o.outcome) for o in outcomes]
    assert by_kind == [
        ("01 09:00", "posted"), ("01 13:00", "blackout"), ("01 18:00", "posted"),
        ("02 09:00", "posted"), ("02 13:00", "blackout"), ("02 18:00", "empty"),
    ]  # fmt: skip
    with app.session() as s:
        assert s.get(Clip, library["c95"]).status == "scheduled"


def test_daily_limit_auto_approve_and_other_accounts(app: Clipcast, library: dict[str, Any]) -> None:
    add_schedule(app, library["account"], max_per_day=2, auto_approve=True)
    add_schedule(app, library["other"], cron="30 9 * * *", min_score=90)
    outcomes = simulate(app, berlin(1, 0), berlin(1, 23))
    assert [p.clip_id for p in posts(app, library["account"])] == [library["c97"], library["c95"]]
    assert [o.outcome for o in outcomes if o.schedule_id == 1] == ["posted", "posted", "daily-limit"]
    # The same clip may go to another account (c97 is approved now), but each account gets it once.
    assert [p.clip_id for p in posts(app, library["other"])] == [library["c97"]]
    with app.session() as s:
        assert s.get(Clip, library["c97"]).status == "scheduled"  # auto-approved, then scheduled


def test_slots_follow_local_time_across_daylight_saving() -> None:
    start = datetime(2026, 3, 27, 12, tzinfo=UTC)
    slots = schedules.slot_times("0 9 * * *", "Europe/Berlin", start, start + timedelta(days=3))
    assert [s.hour for s in slots] == [8, 7, 7]  # 9:00 CET, then 9:00 CEST


def test_overnight_and_dated_blackouts() -> None:
    windows = [{"start": "22:00", "end": "07:00", "days": ["fri"]}, {"from": "2026-12-24", "to": "2026-12-26"}]
    fri_late = datetime(2026, 6, 5, 23, tzinfo=BERLIN)
    sat_early = datetime(2026, 6, 6, 6, tzinfo=BERLIN)  # still Friday night's window
    sat_late = datetime(2026, 6, 6, 23, tzinfo=BERLIN)
    assert schedules.in_blackout(fri_late, "Europe/Berlin", windows)
    assert schedules.in_blackout(sat_early, "Europe/Berlin", windows)
    assert not schedules.in_blackout(sat_late, "Europe/Berlin", windows)
    assert schedules.in_blackout(datetime(2026, 12, 25, 12, tzinfo=BERLIN), "Europe/Berlin", windows)


def test_next_free_slot_skips_taken_slots(app: Clipcast, library: dict[str, Any]) -> None:
    add_schedule(app, library["account"], cron="0 9,18 * * *")
    now = berlin(1, 10)
    assert schedules.next_free_slot(app, library["account"], now=now) == berlin(1, 18)
    with app.session() as s:
        s.add(Post(clip_id=library["c95"], account_id=library["account"], scheduled_at=berlin(1, 18)))
    assert schedules.next_free_slot(app, library["account"], now=now) == berlin(2, 9)
    assert schedules.next_free_slot(app, library["other"], now=now) is None


@pytest.mark.parametrize(
    ("cron", "tz", "blackout", "message"),
    [
        ("0 25 * * *", "UTC", [], "invalid cron expression '0 25 \\* \\* \\*'"),
        ("0 9 * * *", "Mars/Olympus", [], "unknown time zone 'Mars/Olympus'"),
        ("0 9 * * *", "UTC", [{"start": "25:99", "end": "07:00"}], "blackout start '25:99' is not a time"),
        ("0 9 * * *", "UTC", [{"start": "22:00", "end": "07:00", "days": ["caturday"]}], "not weekdays"),
        ("0 9 * * *", "UTC", [{"when": "never"}], "needs start\\+end times"),
    ],
)
def test_invalid_schedules_are_explained(cron: str, tz: str, blackout: list[Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        schedules.validate_schedule(cron, tz, blackout)
