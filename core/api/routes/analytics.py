"""Post analytics: metrics per post, clip, account and schedule; what an account's history taught (weights,
reset) and its posting-time suggestions. (The signed endpoint a webhook receiver posts numbers back to belongs to
the webhook publisher: ``plugins/publishers/webhook.py``.)

Every by-id route checks ownership first (another user's id answers 404, as everywhere)."""

from __future__ import annotations

import re
from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from core.analytics import learn, report, times
from core.api.deps import AppDep, Id, UserDep, owned
from core.models import Clip, Post, PostMetricSummary, Schedule, SocialAccount

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
