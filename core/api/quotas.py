"""Per-user daily quotas: videos ingested, minutes of video processed and LLM spend, per UTC day.

Limits come from the user row, else from ``settings.api``; None means unlimited. Checks happen before work is
accepted (upload, analyze), so an exceeded quota loses nothing: the request is refused with 429 naming the
quota and its reset time (next midnight UTC).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import func
from sqlmodel import Session, select

from core.api.errors import QuotaExceeded
from core.config import Settings
from core.models import AiUsage, Job, User, Video

PROCESSING_KINDS = ("analyze", "process")


def day_window(now: datetime | None = None) -> tuple[datetime, datetime]:
    """(start of today, start of tomorrow), timezone-aware UTC like the database times."""
    now = now or datetime.now(UTC)
    start = datetime.combine(now.astimezone(UTC).date(), time(), tzinfo=UTC)
    return start, start + timedelta(days=1)


def _limit(user: User, settings: Settings, name: str) -> float | None:
    own = getattr(user, name)
    return own if own is not None else getattr(settings.api, name)


def usage(session: Session, user_id: int) -> dict[str, float]:
    """Today's use: videos ingested, minutes of video sent to processing, LLM USD spent."""
    start, _ = day_window()
    videos = session.exec(
        select(func.count()).select_from(Video).where(Video.user_id == user_id, Video.created_at >= start)
    ).one()
    processed = (
        select(Job.video_id)
        .where(Job.user_id == user_id, Job.created_at >= start, Job.kind.in_(PROCESSING_KINDS))  # type: ignore[attr-defined]
        .distinct()
    )
    seconds = session.exec(
        select(func.coalesce(func.sum(Video.duration), 0.0)).where(Video.id.in_(processed))  # type: ignore[union-attr]
    ).one()
    cost = session.exec(
        select(func.coalesce(func.sum(AiUsage.cost_usd), 0.0)).where(
            AiUsage.user_id == user_id, AiUsage.created_at >= start
        )
    ).one()
    return {"videos": int(videos), "minutes": round(float(seconds) / 60.0, 3), "llm_usd": round(float(cost), 6)}


def limits(user: User, settings: Settings) -> dict[str, float | None]:
    return {
        "videos_per_day": _limit(user, settings, "videos_per_day"),
        "minutes_per_day": _limit(user, settings, "minutes_per_day"),
        "llm_usd_per_day": _limit(user, settings, "llm_usd_per_day"),
    }


def _resets_at() -> datetime:
    return day_window()[1]


def check_ingest(session: Session, settings: Settings, user_id: int) -> None:
    """Before accepting a new video: is the videos/day quota used up?"""
    user = session.get(User, user_id)
    if user is None:
        return
    limit = _limit(user, settings, "videos_per_day")
    if limit is None:
        return
    used = usage(session, user_id)["videos"]
    if used >= limit:
        raise QuotaExceeded("videos_per_day", limit, used, _resets_at())


def check_processing(session: Session, settings: Settings, user_id: int, video: Video | None) -> None:
    """Before queuing analysis of ``video``: would it pass the minutes/day quota, is the LLM budget spent?

    ``video`` None (a URL not downloaded yet): only minutes already used count; its own length is unknown.
    """
    user = session.get(User, user_id)
    if user is None:
        return
    today = usage(session, user_id)
    minutes_limit = _limit(user, settings, "minutes_per_day")
    if minutes_limit is not None:
        start, _ = day_window()
        already = session.exec(
            select(func.count())
            .select_from(Job)
            .where(
                Job.user_id == user_id,
                Job.video_id == (video.id if video else -1),
                Job.created_at >= start,
                Job.kind.in_(PROCESSING_KINDS),  # type: ignore[attr-defined]
            )
        ).one()
        adding = 0.0 if already or video is None else video.duration / 60.0
        if today["minutes"] + adding > minutes_limit or (video is None and today["minutes"] >= minutes_limit):
            raise QuotaExceeded("minutes_per_day", minutes_limit, round(today["minutes"] + adding, 2), _resets_at())
    cost_limit = _limit(user, settings, "llm_usd_per_day")
    if cost_limit is not None and today["llm_usd"] >= cost_limit:
        raise QuotaExceeded("llm_usd_per_day", cost_limit, today["llm_usd"], _resets_at())
