"""Post analytics: metrics per post, clip, account and schedule; what an account's history taught (weights,
reset) and its posting-time suggestions; and the signed endpoint a webhook receiver posts numbers back to.

Every by-id route checks ownership first (another user's id answers 404, as everywhere)."""

from __future__ import annotations

import json
import math
import re
from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from core.analytics import learn, report, times
from core.analytics.collect import aware, current_slot, record, slot_offsets
from core.api.deps import AppDep, Id, UserDep, owned
from core.api.errors import Unauthorized
from core.contracts import PostMetrics
from core.errors import InputError
from core.models import Clip, Post, PostMetricSummary, Schedule, SocialAccount, utcnow

router = APIRouter(tags=["analytics"])
METRIC_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class PostSummaryOut(BaseModel):
    post_id: int
    clip_id: int
    account_id: int
    schedule_id: int | None
    platform: str
    published_at: datetime | None
    latest: dict[str, float]
    latest_at: datetime | None
    views_7d: float | None = Field(description="views at 7 days (interpolated between samples); None until then")
    samples: int
    status: str = Field(description="the last fetch: ok | missing_scope | not_found | unavailable | throttled | ...")
    detail: str
    next_due_at: datetime | None = Field(description="when the next sample is due; None: collection ended")


class SampleOut(BaseModel):
    bucket: datetime = Field(description="the collection slot the sample fills")
    taken_at: datetime
    value: float


class PostMetricsOut(PostSummaryOut):
    series: dict[str, list[SampleOut]]


class OverviewOut(BaseModel):
    posts: list[PostSummaryOut]
    totals: dict[str, float] = Field(description="sums of the latest counts (averages are not summed)")
    posts_with_7d: int
    median_views_7d: float | None


class WeightOut(BaseModel):
    feature: str = Field(description="sub:<name> (selector sub-score), length, hour_sin/hour_cos, word:<word>")
    weight: float = Field(description="log-performance per standard deviation of the feature")
    std: float = Field(description="bootstrap standard deviation")
    ci_low: float
    ci_high: float
    sign_agreement: float = Field(description="share of bootstrap fits with the same sign")


class WeightsOut(BaseModel):
    account_id: int
    posts: int = Field(description="posts with 7-day numbers the model learned from")
    needed: int
    fitted_at: datetime | None
    learn_since: datetime | None
    median_views_7d: float | None
    alpha: float | None
    weights: list[WeightOut]
    message: str = ""


class HourOut(BaseModel):
    at: str
    posts: int
    mean: float = Field(description="mean log-performance against the account's median")
    shrunk: float = Field(description="the mean shrunk towards typical (the ranking)")


class TimesOut(BaseModel):
    account_id: int
    posts: int
    needed: int
    timezone: str | None = None
    hours: list[HourOut] = []
    weekdays: list[HourOut] = []
    suggested_cron: str | None = None
    message: str = ""


class WebhookMetricsIn(BaseModel):
    post_id: int = Field(ge=1, le=2**62)
    metrics: dict[str, float] = Field(description="metric name → value, e.g. {views: 120, likes: 9}")
    taken_at: datetime | None = None


@router.get("/api/posts/{post_id}/metrics", response_model=PostMetricsOut, summary="A post's metrics: latest, series")
def post_metrics(post_id: Id, user: UserDep, app: AppDep) -> dict:
    with app.session() as s:
        post = owned(s, Post, post_id, user)
        summary = s.get(PostMetricSummary, post_id)
    return {**report.post_summary(post, summary), "series": report.series(app, post_id)}


@router.get("/api/clips/{clip_id}/metrics", response_model=OverviewOut, summary="Metrics of every post of a clip")
def clip_metrics(clip_id: Id, user: UserDep, app: AppDep) -> dict:
    with app.session() as s:
        owned(s, Clip, clip_id, user)
    return report.overview(app, Post.clip_id == clip_id)


@router.get("/api/accounts/{account_id}/metrics", response_model=OverviewOut, summary="Metrics of an account's posts")
def account_metrics(account_id: Id, user: UserDep, app: AppDep) -> dict:
    with app.session() as s:
        owned(s, SocialAccount, account_id, user, "account")
    return report.overview(app, Post.account_id == account_id)


@router.get("/api/schedules/{schedule_id}/metrics", response_model=OverviewOut, summary="Metrics of a schedule's posts")
def schedule_metrics(schedule_id: Id, user: UserDep, app: AppDep) -> dict:
    with app.session() as s:
        owned(s, Schedule, schedule_id, user)
    return report.overview(app, Post.schedule_id == schedule_id)


@router.get("/api/accounts/{account_id}/weights", response_model=WeightsOut, summary="What the account's posts taught")
def account_weights(account_id: Id, user: UserDep, app: AppDep) -> dict:
    with app.session() as s:
        owned(s, SocialAccount, account_id, user, "account")
    return learn.describe(app, account_id)


@router.delete("/api/accounts/{account_id}/weights", status_code=204, summary="Forget what was learned (reset)")
def reset_weights(account_id: Id, user: UserDep, app: AppDep) -> None:
    with app.session() as s:
        owned(s, SocialAccount, account_id, user, "account")
    learn.reset(app, account_id)


@router.get(
    "/api/accounts/{account_id}/posting-times",
    response_model=TimesOut,
    summary="Hours and weekdays with the best normalised performance, as a suggestion for schedules",
)
def account_times(account_id: Id, user: UserDep, app: AppDep) -> dict:
    with app.session() as s:
        owned(s, SocialAccount, account_id, user, "account")
    return times.suggest(app, account_id)


@router.get(
    "/api/schedules/{schedule_id}/posting-times", response_model=TimesOut, summary="Posting times for a schedule"
)
def schedule_times(schedule_id: Id, user: UserDep, app: AppDep) -> dict:
    with app.session() as s:
        schedule = owned(s, Schedule, schedule_id, user)
    return times.suggest(app, schedule.account_id)


@router.post(
    "/api/analytics/webhook",
    status_code=204,
    summary="A webhook receiver posts a post's numbers back (signed like Clipcast's webhook deliveries)",
    responses={401: {"description": "missing or wrong X-Clipcast-Signature / X-Clipcast-Timestamp"}},
)
async def webhook_metrics(request: Request, app: AppDep) -> None:
    from plugins.publishers.http import secret_value
    from plugins.publishers.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature

    raw = await request.body()
    secret = secret_value(app.publisher("webhook").options.secret)
    stamp, signature = request.headers.get(TIMESTAMP_HEADER, ""), request.headers.get(SIGNATURE_HEADER, "")
    if not secret or not verify_signature(secret, stamp, raw, signature):
        raise Unauthorized(
            "the metrics are not signed with publishers.webhook.secret",
            f"send {TIMESTAMP_HEADER} and {SIGNATURE_HEADER}: sha256=HMAC(secret, '<timestamp>.<body>')",
        )
    try:
        body = WebhookMetricsIn.model_validate(json.loads(raw or b"{}"))
    except ValueError as exc:
        raise InputError(f"the metrics body is not valid: {str(exc).splitlines()[0]}", "send {post_id, metrics}")
    bad = [k for k, v in body.metrics.items() if not METRIC_NAME.match(k) or not math.isfinite(v) or v < 0]
    if bad or not body.metrics or len(body.metrics) > 30:
        raise InputError(
            f"metrics must be 1-30 names (lowercase, digits, _) with finite values >= 0; refused: {bad[:5]}"
        )
    with app.session() as s:
        post = s.get(Post, body.post_id)
    if post is None or post.platform != "webhook" or post.status != "published":
        raise InputError(f"there is no published webhook post {body.post_id}")
    taken = aware(body.taken_at or utcnow())
    published = aware(post.published_at or post.scheduled_at)
    offsets = slot_offsets(app.settings.analytics)
    slot = current_slot(offsets, taken - published) or offsets[0]
    record(app, post, PostMetrics(values=body.metrics), taken_at=taken, bucket=published + slot, next_due=None)
