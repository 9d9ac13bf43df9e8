"""AI usage bookkeeping: every paid call becomes an ``AiUsage`` row tagged with the user, video and job it served.

Backends only call ``self.report_usage(UsageRecord(...))``; the app sets ``backend.usage_sink`` to
``make_sink(app)``, which reads the ids from a context variable that the pipeline (and workers) set with
``usage_context(...)``. Context variables do not follow work into new threads: set the context inside the thread.
Costs are estimates from ``PRICES`` (USD per million tokens, list prices late 2026), never billing truth.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import structlog
from sqlalchemy import func
from sqlmodel import select

from core.contracts import UsageRecord
from core.models import AiUsage, utcnow

# a lazy proxy: resolves the logging set-up at each call, not at import (core.logging.get_logger binds early)
log = structlog.get_logger("clipcast.usage")


@dataclass(frozen=True)
class UsageContext:
    user_id: int | None = None
    video_id: int | None = None
    job_id: int | None = None


_EMPTY = UsageContext()
_current: ContextVar[UsageContext | None] = ContextVar("clipcast_usage_context", default=None)


def current_context() -> UsageContext:
    return _current.get() or _EMPTY


@contextmanager
def usage_context(
    *, user_id: int | None = None, video_id: int | None = None, job_id: int | None = None
) -> Iterator[UsageContext]:
    """Tag usage reported inside the block. Ids left as None keep the enclosing block's value (a worker sets the
    job, the pipeline adds the video)."""
    outer = current_context()
    ctx = replace(
        outer,
        **{k: v for k, v in {"user_id": user_id, "video_id": video_id, "job_id": job_id}.items() if v is not None},
    )
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)


#: USD per 1M tokens: (input, output). Matched by longest model-name prefix; unknown models cost 0 (logged).
PRICES: dict[str, dict[str, tuple[float, float]]] = {
    "openai": {
        "gpt-5-nano": (0.05, 0.40),
        "gpt-5-mini": (0.25, 2.00),
        "gpt-5": (1.25, 10.00),
        "gpt-4.1-nano": (0.10, 0.40),
        "gpt-4.1-mini": (0.40, 1.60),
        "gpt-4.1": (2.00, 8.00),
        "gpt-4o-mini": (0.15, 0.60),
        "gpt-4o": (2.50, 10.00),
    },
    "gemini": {
        "gemini-2.5-flash-lite": (0.10, 0.40),
        "gemini-2.5-flash": (0.30, 2.50),
        "gemini-2.5-pro": (1.25, 10.00),
        "gemini-2.0-flash": (0.10, 0.40),
    },
}
#: USD per audio minute for speech-to-text models.
AUDIO_PRICES: dict[str, float] = {"whisper-1": 0.006, "gpt-4o-transcribe": 0.006, "gpt-4o-mini-transcribe": 0.003}


def estimate_cost(
    provider: str, model: str, input_tokens: int = 0, output_tokens: int = 0, audio_seconds: float = 0.0
) -> float:
    """Estimated USD for one call; 0.0 for models missing from the price tables (e.g. a local server)."""
    cost = 0.0
    table = PRICES.get(provider, {})
    prefix = max((p for p in table if model.startswith(p)), key=len, default=None)
    if prefix:
        pin, pout = table[prefix]
        cost += input_tokens / 1e6 * pin + output_tokens / 1e6 * pout
    if audio_seconds:
        per_minute = AUDIO_PRICES.get(model)
        if per_minute:
            cost += audio_seconds / 60 * per_minute
    return round(cost, 8)


def make_sink(app: Any) -> Callable[[UsageRecord], None]:
    """The ``usage_sink`` for backends of ``app``: one ``AiUsage`` row per record, ids from the context."""

    def sink(record: UsageRecord) -> None:
        ctx = current_context()
        cost = record.cost_usd or estimate_cost(
            record.provider, record.model, record.input_tokens, record.output_tokens, record.audio_seconds
        )
        try:
            with app.session() as s:
                s.add(
                    AiUsage(
                        user_id=ctx.user_id,
                        video_id=ctx.video_id,
                        job_id=ctx.job_id,
                        provider=record.provider,
                        model=record.model,
                        kind=record.kind,
                        units=record.units,
                        input_tokens=record.input_tokens,
                        output_tokens=record.output_tokens,
                        audio_seconds=record.audio_seconds,
                        cost_usd=cost,
                    )
                )
        except Exception as exc:  # bookkeeping never breaks the work; the warning keeps it visible
            log.warning("could not record AI usage", provider=record.provider, error=repr(exc))

    return sink


def _day_bounds(day: date | None) -> tuple[datetime, datetime]:
    day = day or utcnow().date()
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start, start + timedelta(days=1)


def daily_cost(app: Any, user_id: int | None, day: date | None = None) -> float:
    """Estimated USD a user spent on AI calls on ``day`` (UTC; default today). For quotas."""
    start, end = _day_bounds(day)
    with app.session() as s:
        query = select(func.coalesce(func.sum(AiUsage.cost_usd), 0.0)).where(
            AiUsage.created_at >= start, AiUsage.created_at < end
        )
        query = (
            query.where(AiUsage.user_id == user_id) if user_id is not None else query.where(AiUsage.user_id.is_(None))
        )
        return float(s.exec(query).one())


def daily_totals(app: Any, day: date | None = None) -> dict[int | None, float]:
    """Estimated USD per user on ``day`` (UTC; default today); ``None`` collects work done without a user."""
    start, end = _day_bounds(day)
    with app.session() as s:
        rows = s.exec(
            select(AiUsage.user_id, func.sum(AiUsage.cost_usd))
            .where(AiUsage.created_at >= start, AiUsage.created_at < end)
            .group_by(AiUsage.user_id)
        ).all()
    return {user_id: float(total or 0.0) for user_id, total in rows}
