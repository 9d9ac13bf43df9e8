"""Metrics collection: which posts are due a sample, fetching it, and storing it crash-safely.

Sample slots are offsets from a post's ``published_at`` (``analytics`` settings): every ``early_every_minutes``
during the first ``early_hours``, then daily, then weekly until ``stop_after_days``. A sample fills the latest
slot at or before the time it is taken (its ``bucket``); the next one is due at the following slot. Because
the due time is computed from the last stored bucket, not from the clock, a scheduler that was killed takes
the overdue sample on its first run after the restart (one sample for the slot it is in: the past cannot be
measured again), so a gap is never longer than the downtime plus one interval.

Crash safety: the samples of one fetch and the summary that moves ``next_due_at`` are written in one
transaction, and ``(post_id, bucket, metric)`` is unique (inserts that collide are skipped), so a run killed at
any point and repeated never stores a sample twice. A fetch whose transaction was lost is simply repeated.

Quotas: each run fetches at most ``max_per_run`` posts per platform, pauses ``spacing_seconds`` between two
requests to one platform, stops a platform for the run at the first throttling answer (the post waits for the
platform's Retry-After), and stops when the platform's ``daily_units`` for today (UTC) are used. Every fetch is
recorded as an ``AiUsage`` row of kind ``quota`` (``units``), which is also what the daily budget reads.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select

from core.contracts import MetricsStatus, PostMetrics, PostStatus
from core.errors import ClipcastError, RetryableError
from core.logging import get_logger
from core.models import AiUsage, Post, PostMetric, PostMetricSummary, SocialAccount, utcnow

log = get_logger("clipcast.analytics")

SEVEN_DAYS = timedelta(days=7)
#: Statuses after which no further sample is taken.
FINAL = {MetricsStatus.NOT_FOUND, MetricsStatus.UNSUPPORTED}


def aware(at: datetime) -> datetime:
    return at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)


# ------------------------------------------------------------------------------------------------- schedule


def slot_offsets(cfg: Any) -> list[timedelta]:
    """Every sample slot as an offset from publication, ascending (``cfg``: ``AnalyticsSettings``)."""
    out: list[timedelta] = []
    step, early = timedelta(minutes=cfg.early_every_minutes), timedelta(hours=cfg.early_hours)
    at = step
    while at <= early:
        out.append(at)
        at += step
    day = int(cfg.early_hours // 24) + 1
    while day <= cfg.daily_until_days:
        out.append(timedelta(days=day))
        day += 1
    week = timedelta(days=cfg.daily_until_days) + timedelta(days=7)
    while week <= timedelta(days=cfg.stop_after_days):
        out.append(week)
        week += timedelta(days=7)
    return sorted(set(out))


def current_slot(offsets: list[timedelta], age: timedelta) -> timedelta | None:
    """The latest slot at or before ``age``; None before the first one."""
    best = None
    for off in offsets:
        if off > age:
            break
        best = off
    return best


def next_slot(offsets: list[timedelta], after: timedelta | None) -> timedelta | None:
    """The first slot after ``after`` (None: the first slot); None when the schedule has ended."""
    for off in offsets:
        if after is None or off > after:
            return off
    return None


# ---------------------------------------------------------------------------------------------------- store


def _insert_ignoring_duplicates(s: Any, app: Any, rows: list[dict[str, Any]]) -> int:
    if not rows:
        return 0
    dialect = postgresql if app.db_url.startswith(("postgres", "postgresql")) else sqlite
    stmt = (
        dialect.insert(PostMetric)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["post_id", "bucket", "metric"])
        .returning(PostMetric.id)  # rowcount is not reliable for multi-row inserts on every driver
    )
    return len(s.connection().execute(stmt).all())


def _views_at_7d(s: Any, post_id: int, published: datetime, taken_at: datetime, views: float) -> float | None:
    """Views at exactly 7 days, by the samples' ``taken_at``: interpolated between the last sample before day 7
    and this one, or this one alone when it is within a day of day 7. None when nothing says (a post first seen
    weeks after it was published)."""
    target = published + SEVEN_DAYS
    before = s.exec(
        select(PostMetric.taken_at, PostMetric.value)
        .where(PostMetric.post_id == post_id, PostMetric.metric == "views", col(PostMetric.taken_at) < target)
        .order_by(col(PostMetric.taken_at).desc())
        .limit(1)
    ).first()
    if before is not None:
        b_at, b_val = aware(before[0]), float(before[1])
        span = (taken_at - b_at).total_seconds()
        if span > 0 and taken_at - b_at <= timedelta(days=3):
            return b_val + (views - b_val) * (target - b_at).total_seconds() / span
    return views if taken_at - target <= timedelta(days=1) else None


def record(
    app: Any,
    post: Post,
    metrics: PostMetrics,
    *,
    taken_at: datetime,
    bucket: datetime,
    next_due: datetime | None,
    units: int = 0,
) -> int:
    """Store one fetch: its samples (duplicates skipped), the post's summary and the quota ``units`` it cost, in
    one transaction. Returns the number of new sample rows."""
    published = aware(post.published_at or post.scheduled_at)
    bucket = aware(bucket)
    with app.session() as s:
        if units > 0:
            s.add(AiUsage(provider=post.platform, model="metrics", kind="quota", units=units, created_at=taken_at))
        rows = [
            {"post_id": post.id, "bucket": bucket, "taken_at": taken_at, "metric": name, "value": float(value)}
            for name, value in sorted(metrics.values.items())
        ]
        added = _insert_ignoring_duplicates(s, app, rows)
        summary = s.get(PostMetricSummary, post.id) or PostMetricSummary(
            post_id=post.id,  # type: ignore[arg-type]
            account_id=post.account_id,
        )
        if metrics.values:
            summary.latest = {**(summary.latest or {}), **{k: float(v) for k, v in metrics.values.items()}}
            summary.latest_at = taken_at
            summary.last_bucket = bucket
            summary.samples = int(
                s.exec(select(func.count(func.distinct(PostMetric.bucket))).where(PostMetric.post_id == post.id)).one()
            )
            if summary.views_7d is None and "views" in metrics.values and taken_at >= published + SEVEN_DAYS:
                views = float(metrics.values["views"])
                summary.views_7d = _views_at_7d(s, post.id, published, aware(taken_at), views)  # type: ignore[arg-type]
        elif summary.last_bucket is None or aware(summary.last_bucket) < bucket:
            summary.last_bucket = bucket  # nothing to store, but this slot is done
        summary.status = metrics.status.value
        missing = f"missing scopes: {', '.join(metrics.missing_scopes)}" if metrics.missing_scopes else ""
        summary.detail = "; ".join(p for p in (metrics.detail, missing) if p)
        summary.next_due_at = next_due
        summary.updated_at = utcnow()
        s.add(summary)
    return added


# ------------------------------------------------------------------------------------------------------ run


@dataclass
class RunReport:
    """What one collection run did."""

    fetched: int = 0
    samples: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    throttled: list[str] = field(default_factory=list)
    over_budget: list[str] = field(default_factory=list)
    learned: list[int] = field(default_factory=list)


def units_today(app: Any, platform: str, now: datetime) -> int:
    start = datetime(now.year, now.month, now.day, tzinfo=UTC)
    with app.session() as s:
        total = s.exec(
            select(func.coalesce(func.sum(AiUsage.units), 0)).where(
                AiUsage.kind == "quota", AiUsage.provider == platform, col(AiUsage.created_at) >= start
            )
        ).one()
    return int(total or 0)


def enroll(app: Any) -> int:
    """Give every published post with a remote id a summary row (its first sample due at the first slot)."""
    first = slot_offsets(app.settings.analytics)[0]
    with app.session() as s:
        tracked = select(PostMetricSummary.post_id)
        rows = s.exec(
            select(Post).where(
                Post.status == PostStatus.PUBLISHED,
                col(Post.remote_id).is_not(None),
                col(Post.id).not_in(tracked),
            )
        ).all()
        for post in rows:
            published = aware(post.published_at or post.scheduled_at)
            s.add(PostMetricSummary(post_id=post.id, account_id=post.account_id, next_due_at=published + first))  # type: ignore[arg-type]
    return len(rows)


def _due(app: Any, now: datetime) -> dict[str, list[Post]]:
    limit = app.settings.analytics.max_per_run
    by_platform: dict[str, list[Post]] = {}
    with app.session() as s:
        rows = s.exec(
            select(Post)
            .join(PostMetricSummary, PostMetricSummary.post_id == Post.id)
            .join(SocialAccount, SocialAccount.id == Post.account_id)
            .where(col(PostMetricSummary.next_due_at) <= now, SocialAccount.status != "reconnect")
            .order_by(col(PostMetricSummary.next_due_at))
        ).all()
    for post in rows:
        group = by_platform.setdefault(post.platform, [])
        if len(group) < limit:
            group.append(post)
    return by_platform


def fetch_one(app: Any, post: Post) -> PostMetrics:
    from core import accounts

    publisher = app.publisher(post.platform)
    account = accounts.handle(app, post.account_id)
    return publisher.fetch_metrics(post.remote_post_id or post.remote_id or "", account)


def _record_usage(app: Any, platform: str, units: int, now: datetime) -> None:
    """One usage row of kind ``quota`` (dated ``now``: the daily budget reads these rows back)."""
    if units > 0:
        with app.session() as s:
            s.add(AiUsage(provider=platform, model="metrics", kind="quota", units=units, created_at=now))


def collect_due(app: Any, *, now: datetime | None = None, sleep: Any = time.sleep) -> RunReport:
    """One collection run: enroll new posts, fetch each due one (per platform, within budget), store the samples,
    then refit the models of accounts that gained 7-day numbers."""
    from core.analytics import learn

    cfg = app.settings.analytics
    now = aware(now or utcnow())
    report = RunReport()
    enroll(app)
    offsets = slot_offsets(cfg)
    touched: set[int] = set()
    for platform, posts in _due(app, now).items():
        budget = cfg.daily_units.get(platform)
        used = units_today(app, platform, now) if budget is not None else 0
        for i, post in enumerate(posts):
            if budget is not None and used >= budget:
                report.over_budget.append(platform)
                log.warning("metrics quota for today is used up", platform=platform, units=used, budget=budget)
                break
            if i and cfg.spacing_seconds:
                sleep(cfg.spacing_seconds)
            published = aware(post.published_at or post.scheduled_at)
            slot = current_slot(offsets, now - published)
            after = next_slot(offsets, slot)
            if slot is None:  # enrolled early (clock skew): wait for the first slot
                continue
            if now - published > timedelta(days=cfg.stop_after_days):  # e.g. an old post first seen now
                _defer(app, post.id, None, "done", "older than analytics.stop_after_days")  # type: ignore[arg-type]
                continue
            try:
                metrics = fetch_one(app, post)
            except RetryableError as exc:
                _record_usage(app, platform, 1, now)
                used += 1
                wait = float(getattr(exc, "retry_after", None) or app.settings.scheduler.metrics_interval)
                _defer(app, post.id, now + timedelta(seconds=wait), "throttled", str(exc))  # type: ignore[arg-type]
                report.throttled.append(platform)
                log.warning("metrics throttled; the platform waits until its next run", platform=platform)
                break
            except Exception as exc:  # one post's trouble (a revoked token, an odd answer) waits a day
                detail = str(exc) if isinstance(exc, ClipcastError) else f"{type(exc).__name__}: {exc}"
                log.warning("could not read a post's metrics", post_id=post.id, platform=platform, error=detail)
                _defer(app, post.id, now + timedelta(days=1), "error", detail)  # type: ignore[arg-type]
                report.statuses["error"] = report.statuses.get("error", 0) + 1
                continue
            units = metrics.quota_units or metrics.requests
            used += units
            due = None if metrics.status in FINAL or after is None else published + after
            report.samples += record(
                app, post, metrics, taken_at=now, bucket=published + slot, next_due=due, units=units
            )
            report.fetched += 1
            report.statuses[metrics.status.value] = report.statuses.get(metrics.status.value, 0) + 1
            if "views" in metrics.values and slot >= SEVEN_DAYS:
                touched.add(post.account_id)
    for account_id in sorted(touched):
        try:
            if learn.refit(app, account_id) is not None:
                report.learned.append(account_id)
        except Exception as exc:  # learning is a bonus: the samples are stored either way
            log.error("could not learn from the account's posts", account_id=account_id, error=repr(exc))
    if report.fetched or report.throttled:
        log.info("collected post metrics", fetched=report.fetched, samples=report.samples, statuses=report.statuses)
    return report


def _defer(app: Any, post_id: int, until: datetime | None, status: str, detail: str) -> None:
    with app.session() as s:
        summary = s.get(PostMetricSummary, post_id)
        if summary is not None:
            summary.next_due_at, summary.status, summary.detail = until, status, detail[:500]
            summary.updated_at = utcnow()
            s.add(summary)


def scheduler_tick(app: Any) -> None:
    """The scheduler's ``post-metrics`` job."""
    if app.settings.analytics.enabled:
        collect_due(app)
