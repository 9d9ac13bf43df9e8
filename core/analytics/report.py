"""What the API, the CLI and Prometheus show of the collected metrics: per post, per clip/account/schedule
overviews (each post's summary plus totals of the latest values), sparklines and gauges."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func
from sqlmodel import col, select

from core.models import Post, PostMetric, PostMetricSummary

BLOCKS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float], width: int = 16) -> str:
    """The last ``width`` values as block characters scaled between their min and max."""
    values = values[-width:]
    if not values:
        return ""
    low, high = min(values), max(values)
    if high == low:
        return BLOCKS[0] * len(values)
    return "".join(BLOCKS[int((v - low) / (high - low) * (len(BLOCKS) - 1))] for v in values)


def series(app: Any, post_id: int) -> dict[str, list[dict[str, Any]]]:
    """Every sample of the post, per metric, oldest first."""
    with app.session() as s:
        rows = s.exec(
            select(PostMetric)
            .where(PostMetric.post_id == post_id)
            .order_by(col(PostMetric.bucket), col(PostMetric.metric))
        ).all()
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r.metric, []).append({"bucket": r.bucket, "taken_at": r.taken_at, "value": r.value})
    return out


def post_summary(post: Post, summary: PostMetricSummary | None) -> dict[str, Any]:
    return {
        "post_id": post.id,
        "clip_id": post.clip_id,
        "account_id": post.account_id,
        "schedule_id": post.schedule_id,
        "platform": post.platform,
        "published_at": post.published_at,
        "latest": dict(summary.latest) if summary else {},
        "latest_at": summary.latest_at if summary else None,
        "views_7d": summary.views_7d if summary else None,
        "samples": summary.samples if summary else 0,
        "status": summary.status if summary else "not collected",
        "detail": summary.detail if summary else "",
        "next_due_at": summary.next_due_at if summary else None,
    }


def overview(app: Any, *conds: Any) -> dict[str, Any]:
    """Published posts matching ``conds`` with their summaries, plus totals of the latest values."""
    with app.session() as s:
        rows = s.exec(
            select(Post, PostMetricSummary)
            .join(PostMetricSummary, PostMetricSummary.post_id == Post.id, isouter=True)
            .where(Post.status == "published", *conds)
            .order_by(col(Post.published_at).desc(), col(Post.id).desc())
        ).all()
    posts = [post_summary(p, m) for p, m in rows]
    totals: dict[str, float] = {}
    for p in posts:
        for name, value in p["latest"].items():
            if not name.startswith("avg_"):  # averages do not add up
                totals[name] = totals.get(name, 0.0) + value
    with7 = [p["views_7d"] for p in posts if p["views_7d"] is not None]
    return {
        "posts": posts,
        "totals": totals,
        "posts_with_7d": len(with7),
        "median_views_7d": sorted(with7)[len(with7) // 2] if with7 else None,
    }


def views_sparklines(app: Any, post_ids: list[int], width: int = 16) -> dict[int, str]:
    if not post_ids:
        return {}
    with app.session() as s:
        rows = s.exec(
            select(PostMetric.post_id, PostMetric.value)
            .where(col(PostMetric.post_id).in_(post_ids), PostMetric.metric == "views")
            .order_by(col(PostMetric.post_id), col(PostMetric.bucket))
        ).all()
    values: dict[int, list[float]] = {}
    for post_id, value in rows:
        values.setdefault(post_id, []).append(value)
    return {post_id: sparkline(v, width) for post_id, v in values.items()}


class AnalyticsCollector:
    """Prometheus gauges (counts and sums only, no ids or names)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        tracked = GaugeMetricFamily(
            "clipcast_posts_tracked",
            "Published posts whose metrics are collected, by last status",
            labels=["platform", "status"],
        )
        latest = GaugeMetricFamily(
            "clipcast_post_metric_latest_sum",
            "Sum over posts of each metric's latest value",
            labels=["platform", "metric"],
        )
        samples = GaugeMetricFamily("clipcast_post_metric_samples", "Stored metric samples", labels=["platform"])
        with self.app.session() as s:
            rows = s.exec(
                select(Post.platform, PostMetricSummary.status, PostMetricSummary.latest).join(
                    PostMetricSummary, PostMetricSummary.post_id == Post.id
                )
            ).all()
            counted = s.exec(
                select(Post.platform, func.count())
                .select_from(PostMetric)
                .join(Post, Post.id == PostMetric.post_id)
                .group_by(Post.platform)
            ).all()
        by_status: dict[tuple[str, str], int] = {}
        sums: dict[tuple[str, str], float] = {}
        for platform, status, values in rows:
            by_status[(platform, status)] = by_status.get((platform, status), 0) + 1
            for name, value in (values or {}).items():
                sums[(platform, name)] = sums.get((platform, name), 0.0) + float(value)
        for (platform, status), n in sorted(by_status.items()):
            tracked.add_metric([platform, status], n)
        for (platform, name), total in sorted(sums.items()):
            latest.add_metric([platform, name], total)
        for platform, n in counted:
            samples.add_metric([platform], n)
        yield from (tracked, latest, samples)
