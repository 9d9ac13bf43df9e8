"""SQLModel tables. Times are timezone-aware UTC (``utcnow()``); SQLModel refuses naive ones.

Any change here needs an incremental, hand-checked Alembic migration in ``core/migrations/versions``; a test
fails when the models and the migrations disagree (on SQLite and PostgreSQL). Ids and the columns that
reference them are 64-bit (``ID``): the API accepts ids up to 2^62 and PostgreSQL's ``integer`` stops at 2^31.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

#: Row ids and references to them: BIGINT on PostgreSQL; on SQLite an INTEGER PRIMARY KEY is already 64-bit and
#: must stay "INTEGER" to remain the rowid alias that numbers new rows.
ID = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


def _json(default: Any = dict) -> Any:
    return Field(default_factory=default, sa_column=Column(JSON, nullable=False))


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class ClipStatus(StrEnum):
    PROPOSED = "proposed"
    APPROVED = "approved"
    REJECTED = "rejected"
    RENDERED = "rendered"
    SCHEDULED = "scheduled"
    PUBLISHED = "published"


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    email: str = Field(index=True, unique=True)
    password_hash: str
    is_admin: bool = False
    videos_per_day: int | None = Field(None, description="processing quota; None = unlimited")
    minutes_per_day: float | None = None
    llm_usd_per_day: float | None = None
    created_at: datetime = Field(default_factory=utcnow)


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"
    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    user_id: int = Field(foreign_key="user.id", index=True, sa_type=ID)
    name: str = ""
    kind: str = Field("personal", description="personal (scripts) or session (dashboard login)")
    token_hash: str = Field(index=True, unique=True)
    prefix: str = Field("", description="first characters, to tell tokens apart in lists")
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None
    expires_at: datetime | None = None
    revoked_at: datetime | None = None


class Video(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    user_id: int | None = Field(None, foreign_key="user.id", index=True, sa_type=ID)
    source: str = Field("", description="the path or URL it came from")
    source_kind: str = Field("file", description="file | upload | url | watched")
    title: str = ""
    storage_key: str = ""
    sha256: str = Field("", index=True)
    size_bytes: int = 0
    duration: float = 0.0
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    video_codec: str | None = None
    audio_codec: str | None = None
    audio_key: str | None = Field(None, description="16 kHz mono WAV in storage")
    transcript_id: int | None = Field(None, foreign_key="transcript.id", sa_type=ID)
    summary_md: str | None = Field(None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow)


class Transcript(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    cache_key: str = Field(index=True, unique=True, description="sha256(audio sha256 + backend + options)")
    audio_sha256: str = Field(index=True)
    backend: str
    model: str = ""
    language: str = ""
    duration: float = 0.0
    data: dict[str, Any] = _json()
    created_at: datetime = Field(default_factory=utcnow)


class Job(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    user_id: int | None = Field(None, foreign_key="user.id", index=True, sa_type=ID)
    video_id: int | None = Field(None, foreign_key="video.id", index=True, sa_type=ID)
    clip_id: int | None = Field(None, foreign_key="clip.id", sa_type=ID)
    kind: str = Field(description="analyze | render | process | publish")
    status: str = Field(JobStatus.QUEUED, index=True)
    stage: str = ""
    progress: float = Field(0.0, description="percent 0-100 of the current stage")
    message: str = ""
    error: str | None = Field(None, sa_column=Column(Text))
    attempts: int = 0
    cancel_requested: bool = False
    options: dict[str, Any] = _json()
    owner: str | None = Field(None, description="the process running it now (core.leases); None when waiting")
    lease_until: datetime | None = Field(None, index=True, description="the owner's deadline; renewed while alive")
    created_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class Clip(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    video_id: int = Field(foreign_key="video.id", index=True, sa_type=ID)
    user_id: int | None = Field(None, foreign_key="user.id", index=True, sa_type=ID)
    rank: int = 0
    start: float
    end: float
    score: float = 0.0
    sub_scores: dict[str, float] = _json()
    reason: str = ""
    title: str = ""
    title_variants: list[str] = Field(
        default_factory=list,
        sa_column=Column(JSON, nullable=False, server_default="[]"),
        description="up to 3 titles to pick from (core.media.hook.pick_title sets `title` to one)",
    )
    caption: str = Field("", sa_column=Column(Text))
    hashtags: list[str] = _json(list)
    platform_captions: dict[str, str] = _json()
    text: str = Field("", sa_column=Column(Text))
    status: str = Field(ClipStatus.PROPOSED, index=True)
    render_options: dict[str, Any] = _json()
    render_hash: str | None = Field(None, description="hash of what the last render used; skip when equal")
    render_version: int = Field(0, description="count of renders; each one writes new keys, never over old ones")
    video_key: str | None = None
    thumbnail_key: str | None = None
    srt_key: str | None = None
    vtt_key: str | None = None
    ass_key: str | None = None
    fcpxml_key: str | None = Field(None, description="the cut list as FCPXML (render option export_edit)")
    edl_key: str | None = Field(None, description="the cut list as a CMX 3600 EDL (render option export_edit)")
    caption_tracks: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        sa_column=Column(JSON, nullable=False, server_default="{}"),
        description="translated captions: language → {srt, vtt} storage keys (render option translate)",
    )
    rendered_duration: float | None = None
    rendered_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class SocialAccount(SQLModel, table=True):
    __tablename__ = "social_account"
    __table_args__ = (UniqueConstraint("user_id", "platform", "remote_id"),)
    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    user_id: int | None = Field(None, foreign_key="user.id", index=True, sa_type=ID)
    platform: str = Field(index=True)
    remote_id: str = ""
    name: str = ""
    token_encrypted: str | None = Field(None, sa_column=Column(Text), description="Fernet-encrypted JSON")
    token_expires_at: datetime | None = None
    scopes: str = ""
    status: str = Field("ok", description="ok | expiring | reconnect")
    meta: dict[str, Any] = _json()
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Schedule(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    user_id: int | None = Field(None, foreign_key="user.id", index=True, sa_type=ID)
    account_id: int = Field(foreign_key="social_account.id", index=True, sa_type=ID)
    name: str = ""
    cron: str = Field(description="crontab slots, e.g. '0 9,18 * * *'")
    timezone: str = "UTC"
    min_score: float = 0.0
    auto_approve: bool = False
    blackout: list[dict[str, Any]] = _json(list)
    max_per_day: int | None = None
    enabled: bool = True
    last_slot_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class Post(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    user_id: int | None = Field(None, foreign_key="user.id", index=True, sa_type=ID)
    clip_id: int = Field(foreign_key="clip.id", index=True, sa_type=ID)
    account_id: int = Field(foreign_key="social_account.id", index=True, sa_type=ID)
    schedule_id: int | None = Field(None, foreign_key="schedule.id", sa_type=ID)
    platform: str = ""
    status: str = Field("scheduled", index=True)
    scheduled_at: datetime = Field(default_factory=utcnow, index=True)
    dispatched_at: datetime | None = None
    remote_id: str | None = Field(None, description="upload/publish id; saved before anything else")
    remote_post_id: str | None = None
    url: str | None = None
    title: str = ""
    caption: str = Field("", sa_column=Column(Text))
    options: dict[str, Any] = _json()
    video_key: str | None = Field(None, description="the render this post publishes, fixed when it is scheduled")
    owner: str | None = Field(None, description="the process driving it now (core.leases); None when idle")
    lease_until: datetime | None = Field(None, index=True, description="the owner's deadline; renewed while alive")
    error: str | None = Field(None, sa_column=Column(Text))
    retryable: bool = False
    attempts: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    published_at: datetime | None = None


class WatchedSource(SQLModel, table=True):
    __tablename__ = "watched_source"
    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    user_id: int | None = Field(None, foreign_key="user.id", index=True, sa_type=ID)
    kind: str = Field(description="a registered source backend: folder | youtube | rss")
    target: str = Field(description="folder path, channel/playlist URL or feed URL")
    interval_minutes: float | None = 15
    cron: str | None = None
    preset: dict[str, Any] = _json()
    enabled: bool = True
    last_polled_at: datetime | None = None
    last_error: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class SourceItemSeen(SQLModel, table=True):
    __tablename__ = "source_item_seen"
    __table_args__ = (UniqueConstraint("source_id", "item_id"),)
    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    source_id: int = Field(foreign_key="watched_source.id", index=True, sa_type=ID)
    item_id: str
    video_id: int | None = Field(None, foreign_key="video.id", sa_type=ID)
    job_id: int | None = Field(None, foreign_key="job.id", sa_type=ID)
    created_at: datetime = Field(default_factory=utcnow)


class AiUsage(SQLModel, table=True):
    __tablename__ = "ai_usage"
    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    user_id: int | None = Field(None, foreign_key="user.id", index=True, sa_type=ID)
    video_id: int | None = Field(None, foreign_key="video.id", index=True, sa_type=ID)
    job_id: int | None = Field(None, foreign_key="job.id", sa_type=ID)
    provider: str
    model: str = ""
    kind: str = Field("llm", description="llm | stt | quota (platform API calls)")
    units: int = Field(0, description="platform quota units (kind quota)")
    input_tokens: int = 0
    output_tokens: int = 0
    audio_seconds: float = 0.0
    cost_usd: float = 0.0
    created_at: datetime = Field(default_factory=utcnow, index=True)


class PostMetric(SQLModel, table=True):
    """One sample of one metric of one post. ``bucket`` is the collection slot the sample fills (see
    ``core.analytics.collect``): unique per post and metric, so a re-run after a crash never adds a second one."""

    __tablename__ = "post_metric"
    __table_args__ = (UniqueConstraint("post_id", "bucket", "metric"),)
    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    post_id: int = Field(foreign_key="post.id", index=True, sa_type=ID)
    bucket: datetime = Field(description="the slot: published_at + the schedule's offset")
    taken_at: datetime = Field(default_factory=utcnow)
    metric: str
    value: float


class PostMetricSummary(SQLModel, table=True):
    """Per post: the latest values, views at 7 days and when the next sample is due (None: collection ended)."""

    __tablename__ = "post_metric_summary"
    post_id: int = Field(foreign_key="post.id", primary_key=True, sa_type=ID)
    account_id: int = Field(foreign_key="social_account.id", index=True, sa_type=ID)
    latest: dict[str, float] = _json()
    latest_at: datetime | None = None
    last_bucket: datetime | None = None
    samples: int = 0
    views_7d: float | None = None
    status: str = Field("ok", description="the last fetch: ok | missing_scope | not_found | unavailable | ...")
    detail: str = Field("", sa_column=Column(Text, nullable=False))
    next_due_at: datetime | None = Field(None, index=True)
    updated_at: datetime = Field(default_factory=utcnow)


class AccountModel(SQLModel, table=True):
    """What Clipcast learned from one account's posts (``core.analytics.learn``); reset deletes it and moves
    ``learn_since`` so only later posts count."""

    __tablename__ = "account_model"
    account_id: int = Field(foreign_key="social_account.id", primary_key=True, sa_type=ID)
    posts: int = 0
    fitted_at: datetime | None = None
    learn_since: datetime | None = None
    model: dict[str, Any] = _json()
