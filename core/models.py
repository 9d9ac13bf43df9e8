"""SQLModel tables. Times are timezone-aware UTC (``utcnow()``); SQLModel refuses naive ones.

Any change here needs an Alembic migration (``alembic revision --autogenerate``); a test fails when the
models and the migrations disagree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


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
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(index=True, unique=True)
    password_hash: str
    is_admin: bool = False
    videos_per_day: int | None = Field(None, description="processing quota; None = unlimited")
    minutes_per_day: float | None = None
    llm_usd_per_day: float | None = None
    created_at: datetime = Field(default_factory=utcnow)


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    name: str = ""
    kind: str = Field("personal", description="personal (scripts) or session (dashboard login)")
    token_hash: str = Field(index=True, unique=True)
    prefix: str = Field("", description="first characters, to tell tokens apart in lists")
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None
    expires_at: datetime | None = None
    revoked_at: datetime | None = None


class Video(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    user_id: int | None = Field(None, foreign_key="user.id", index=True)
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
    transcript_id: int | None = Field(None, foreign_key="transcript.id")
    summary_md: str | None = Field(None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow)


class Transcript(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    cache_key: str = Field(index=True, unique=True, description="sha256(audio sha256 + backend + options)")
    audio_sha256: str = Field(index=True)
    backend: str
    model: str = ""
    language: str = ""
    duration: float = 0.0
    data: dict[str, Any] = _json()
    created_at: datetime = Field(default_factory=utcnow)


class Job(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    user_id: int | None = Field(None, foreign_key="user.id", index=True)
    video_id: int | None = Field(None, foreign_key="video.id", index=True)
    clip_id: int | None = Field(None, foreign_key="clip.id")
    kind: str = Field(description="analyze | render | process | publish")
    status: str = Field(JobStatus.QUEUED, index=True)
    stage: str = ""
    progress: float = Field(0.0, description="percent 0-100 of the current stage")
    message: str = ""
    error: str | None = Field(None, sa_column=Column(Text))
    attempts: int = 0
    cancel_requested: bool = False
    options: dict[str, Any] = _json()
    created_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class Clip(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    video_id: int = Field(foreign_key="video.id", index=True)
    user_id: int | None = Field(None, foreign_key="user.id", index=True)
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
    id: int | None = Field(default=None, primary_key=True)
    user_id: int | None = Field(None, foreign_key="user.id", index=True)
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
    id: int | None = Field(default=None, primary_key=True)
    user_id: int | None = Field(None, foreign_key="user.id", index=True)
    account_id: int = Field(foreign_key="social_account.id", index=True)
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
    id: int | None = Field(default=None, primary_key=True)
    user_id: int | None = Field(None, foreign_key="user.id", index=True)
    clip_id: int = Field(foreign_key="clip.id", index=True)
    account_id: int = Field(foreign_key="social_account.id", index=True)
    schedule_id: int | None = Field(None, foreign_key="schedule.id")
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
    error: str | None = Field(None, sa_column=Column(Text))
    retryable: bool = False
    attempts: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    published_at: datetime | None = None


class WatchedSource(SQLModel, table=True):
    __tablename__ = "watched_source"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int | None = Field(None, foreign_key="user.id", index=True)
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
    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="watched_source.id", index=True)
    item_id: str
    video_id: int | None = Field(None, foreign_key="video.id")
    job_id: int | None = Field(None, foreign_key="job.id")
    created_at: datetime = Field(default_factory=utcnow)


class AiUsage(SQLModel, table=True):
    __tablename__ = "ai_usage"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int | None = Field(None, foreign_key="user.id", index=True)
    video_id: int | None = Field(None, foreign_key="video.id", index=True)
    job_id: int | None = Field(None, foreign_key="job.id")
    provider: str
    model: str = ""
    kind: str = Field("llm", description="llm | stt")
    input_tokens: int = 0
    output_tokens: int = 0
    audio_seconds: float = 0.0
    cost_usd: float = 0.0
    created_at: datetime = Field(default_factory=utcnow, index=True)
