"""Request and response bodies. Requests forbid unknown fields (a typo is an error, not a silent no-op)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator, model_validator

from core.api.job_progress import eta_seconds, overall_percent
from core.contracts import Reframe
from core.media.layout import LayoutOverrides

T = TypeVar("T")


def _nul_path(value: Any, path: str = "") -> str | None:
    """Where in ``value`` (keys included) a NUL character sits, or None."""
    if isinstance(value, str):
        return path or "(body)" if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return where
            if found := _nul_path(item, where):
                return found
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            if found := _nul_path(item, f"{path}[{i}]"):
                return found
    return None


class In(BaseModel):
    """A request body. Text may not contain NUL characters: PostgreSQL cannot store them (a 422 on every
    database, rather than a 500 on one)."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        where = _nul_path(data)
        if where:
            shown = where.replace("\x00", "?")  # the key may be the client's own text
            shown = shown if len(shown) <= 64 else shown[:61] + "..."
            raise ValueError(f"{shown} contains a NUL character, which text fields may not hold")
        return data


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def _row_columns(data: Any, fields: Any, *extra: str) -> Any:
    """An ORM row's ``fields`` and ``extra`` columns as a dict, so a before-validator handles one shape (the
    dicts of ``paged(rows=True)`` pass through); anything else unchanged."""
    if isinstance(data, dict) or not hasattr(data, extra[0]):
        return data
    return {k: getattr(data, k) for k in (*fields, *extra) if hasattr(data, k)}


class PageOut(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


# ----------------------------------------------------------------------------------------------- auth/users


class LoginIn(In):
    email: str = Field(max_length=254)
    password: str = Field(max_length=1024)


class LoginOut(BaseModel):
    token: str = Field(description="a session token (also set as an HttpOnly cookie); send as a Bearer token")
    expires_at: datetime
    user: UserOut


class UserCreate(In):
    email: str = Field(max_length=254)
    password: str = Field(min_length=8, max_length=1024)
    is_admin: bool = False
    videos_per_day: int | None = Field(None, ge=0, le=1_000_000)
    minutes_per_day: float | None = Field(None, ge=0, le=1e9)
    llm_usd_per_day: float | None = Field(None, ge=0, le=1e9)


class UserUpdate(In):
    """Fields left out keep their value; ``password``/``is_admin`` may not be null (quotas: null = the default)."""

    password: str = Field(None, min_length=8, max_length=1024)
    current_password: str = Field(
        None, max_length=1024, description="needed to change your own password (not for an admin resetting another's)"
    )
    is_admin: bool = Field(None, description="admins only; the last administrator cannot be demoted")
    videos_per_day: int | None = Field(None, ge=0, le=1_000_000)
    minutes_per_day: float | None = Field(None, ge=0, le=1e9)
    llm_usd_per_day: float | None = Field(None, ge=0, le=1e9)


class UserOut(Out):
    id: int
    email: str
    is_admin: bool
    videos_per_day: int | None
    minutes_per_day: float | None
    llm_usd_per_day: float | None
    created_at: datetime


class UsageOut(BaseModel):
    used: dict[str, float]
    limits: dict[str, float | None]
    resets_at: datetime


class DailyUsageOut(BaseModel):
    day: str = Field(description="UTC date, YYYY-MM-DD")
    cost_usd: float = Field(description="estimated AI spend recorded by the backends")
    llm_calls: int
    stt_calls: int


class TokenCreate(In):
    name: str = Field("", max_length=200)
    expires_days: float | None = Field(None, gt=0, le=3650, description="None: never expires")


class TokenOut(Out):
    id: int
    user_id: int
    name: str
    kind: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="shown once; only its hash is stored")


# --------------------------------------------------------------------------------------------------- videos


class VideoUrlIn(In):
    url: str = Field(max_length=4096, description="an http(s) URL yt-dlp can fetch")
    analyze: bool = Field(True, description="queue analysis right away")


class SelectionIn(In):
    """Analysis options; unset fields use the installation's defaults."""

    clips: int | None = Field(None, ge=1, le=100, description="how many clips at most")
    min_seconds: float | None = Field(None, gt=0, le=3600)
    max_seconds: float | None = Field(None, gt=0, le=3600)
    language: str | None = Field(None, max_length=16, pattern=r"^[A-Za-z-]+$")
    stt: str | None = Field(None, max_length=100, description="speech-to-text backend name")
    llm: str | None = Field(None, max_length=100, description="clip selector backend name")

    @model_validator(mode="after")
    def _bounds(self) -> SelectionIn:
        if self.min_seconds and self.max_seconds and self.min_seconds > self.max_seconds:
            raise ValueError("min_seconds must not exceed max_seconds")
        return self


#: A transcript word's start time as ``word_fixes`` keys it: seconds with two decimals.
WordStart = Annotated[str, Field(pattern=r"^\d{1,7}\.\d{2}$")]
PRESET_NAME = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"
LANGUAGE = r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$"


class StyleIn(In):
    """How clips look; unset fields use the ``render`` section of the configuration."""

    aspect: Literal["9:16", "1:1", "16:9"] | None = None
    reframe: Reframe | None = None
    layout: Literal["auto", "single", "split", "wide"] | None = Field(
        None, description="framing chosen from the faces per shot (replaces reframe); unset: reframe decides"
    )
    layouts: LayoutOverrides | None = Field(
        None,
        max_length=100,
        description="per-shot overrides: {start, end, layout} with times in s on the source video's timeline, "
        "inside the clip, not overlapping",
    )
    captions: bool | None = Field(None, description="burn captions into the picture")
    # Names only: the CLI also accepts YAML file paths here, which over HTTP would read the server's files.
    caption_style: str | None = Field(None, max_length=100, pattern=PRESET_NAME, description="a preset name")
    brand: str | None = Field(None, max_length=100, pattern=PRESET_NAME, description="a brand kit name")
    remove_silence: bool | None = None
    remove_fillers: bool | None = None
    platform: Literal["tiktok", "shorts", "reels"] | None = Field(None, description="platform preset")
    music: str | None = Field(
        None, max_length=100, pattern=r"^\w[\w .-]*$", description="a track name in the music folder"
    )
    music_db: float | None = Field(None, ge=-60, le=0, description="the music track's gain before ducking, dB")
    hook_title: bool | None = Field(None, description="the clip's title as a title card at the start")
    hook_seconds: float | None = Field(None, gt=0, le=30, description="how long the title card shows, s")
    auto_emoji: bool | None = Field(None, description="colour emoji for keywords over the captions")
    caption_position: Literal["bottom", "middle", "top"] | None = Field(
        None, description="where captions sit (moved off detected faces with reframe=face)"
    )
    export_edit: bool | None = Field(None, description="also write the cut list as FCPXML and EDL")
    translate: list[Annotated[str, Field(pattern=LANGUAGE)]] | None = Field(
        None, max_length=5, description="language codes of extra translated captions (needs an LLM backend)"
    )
    translate_burn: str | None = Field(
        None, pattern=LANGUAGE, description="burn this translation into the picture (added to translate)"
    )
    broll: Literal["off", "cutaway", "pip"] | None = Field(None, description="B-roll at the clip's keywords")
    broll_max: int | None = Field(None, ge=1, le=20, description="most B-roll inserts")
    broll_seconds: float | None = Field(None, ge=0.5, le=10, description="length of each B-roll insert, s")
    broll_collection: str | None = Field(
        None, max_length=100, pattern=PRESET_NAME, description="a sub-folder name of the B-roll library"
    )


class AnalyzeIn(SelectionIn):
    render: bool = Field(False, description="render every proposed clip once analysis ends")
    style: StyleIn | None = Field(None, description="render options when `render` is true")


class RenderIn(StyleIn):
    clip_ids: list[Annotated[int, Field(ge=1, le=2**62)]] | None = Field(
        None, max_length=500, description="default: every approved clip"
    )


class VideoOut(Out):
    id: int
    user_id: int | None
    source: str
    source_kind: str
    title: str
    sha256: str
    size_bytes: int
    duration: float
    width: int | None
    height: int | None
    fps: float | None
    video_codec: str | None
    audio_codec: str | None
    transcript_id: int | None
    created_at: datetime


class VideoListItem(VideoOut):
    clips: int = 0
    status: str = Field(description="the latest job's status (queued, running, succeeded, failed, cancelled) or added")
    job_id: int | None = Field(None, description="the latest job")


class VideoDetail(VideoOut):
    transcript: dict[str, Any] | None = None
    summary_md: str | None = None
    clips: int = 0


class JobOut(Out):
    id: int
    user_id: int | None
    video_id: int | None
    clip_id: int | None
    kind: str
    status: str
    stage: str
    progress: float
    message: str
    error: str | None
    attempts: int
    cancel_requested: bool
    options: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime

    @computed_field(description="percent of the whole job (progress is the current stage's)")  # type: ignore[prop-decorator]
    @property
    def overall(self) -> float:
        return overall_percent(self.kind, self.status, self.stage, self.progress)

    @computed_field(description="seconds left at the rate so far; null while queued or too early")  # type: ignore[prop-decorator]
    @property
    def eta_seconds(self) -> float | None:
        return eta_seconds(self.status, self.overall, self.started_at)


class VideoCreated(BaseModel):
    video: VideoOut | None = Field(description="null while a URL waits for the worker to download it")
    job: JobOut | None = None


# ---------------------------------------------------------------------------------------------------- clips


class ClipOut(Out):
    id: int
    video_id: int
    user_id: int | None
    rank: int
    start: float
    end: float
    score: float
    sub_scores: dict[str, float]
    reason: str
    title: str
    title_variants: list[str] = Field(default_factory=list, description="titles to pick from (title_variant)")
    caption: str
    hashtags: list[str]
    platform_captions: dict[str, str]
    text: str
    status: str
    render_options: dict[str, Any]
    rendered_duration: float | None
    rendered_at: datetime | None
    render_version: int = Field(0, description="the newest render's version (0: never rendered)")
    has_video: bool = False
    has_thumbnail: bool = False
    created_at: datetime
    updated_at: datetime

    @model_validator(mode="before")
    @classmethod
    def _files(cls, data: Any) -> Any:
        """From a row (an ORM object or ``paged(rows=True)``'s dict of columns), whether its files exist."""
        data = _row_columns(data, cls.model_fields, "video_key", "thumbnail_key")
        if isinstance(data, dict) and "video_key" in data:
            return {**data, "has_video": bool(data["video_key"]), "has_thumbnail": bool(data["thumbnail_key"])}
        return data


class ClipPatch(StyleIn):
    title: str = Field(None, max_length=300)
    caption: str = Field(None, max_length=5000)
    hashtags: list[Annotated[str, Field(pattern=r"^#?[^\s#]\S{0,99}$")]] = Field(
        None, max_length=50, description="one word each, with or without a leading #"
    )
    platform_captions: dict[str, Annotated[str, Field(max_length=5000)]] = Field(
        None, max_length=20, description="a caption per platform name, used instead of `caption` there"
    )
    start: float = Field(None, ge=0, le=1e6)
    end: float = Field(None, ge=0, le=1e6)
    word_fixes: dict[WordStart, Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        None, max_length=500, description="corrected caption words, keyed by the word's start time (s, 2 decimals)"
    )
    title_variant: int = Field(
        None, ge=1, le=10, description="make title variant N (1-based, of title_variants) the clip's title"
    )

    @field_validator("hashtags")
    @classmethod
    def _tags(cls, tags: list[str] | None) -> list[str] | None:
        if tags is None:
            return None
        out = []
        for t in tags:
            t = t.strip().lstrip("#")
            if not t or len(t) > 100 or any(c.isspace() for c in t):
                raise ValueError(f"hashtag {t!r} must be one word of 1-100 characters")
            out.append(t)
        return out


class StylesOut(BaseModel):
    caption_styles: list[str]
    brands: list[str]
    reframes: list[str]
    layouts: list[str] = Field(description="values of the layout option (framing chosen from the faces)")
    aspects: list[str]
    platforms: list[str] = Field(description="platform presets (`platform`)")
    music: list[str] = Field(description="track names in the administrator's music folder (`music`)")
    caption_positions: list[str]
    defaults: dict[str, Any] = Field(description="the configured render defaults (render section)")


class ClipWord(BaseModel):
    start: float
    end: float
    text: str = Field(description="the word as captions show it (after the clip's word_fixes)")
    heard: str = Field(description="the word as speech-to-text wrote it")


# ------------------------------------------------------------------------------------- accounts, schedules


class AccountOut(Out):
    id: int
    user_id: int | None
    platform: str
    remote_id: str
    name: str
    status: str
    scopes: str
    token_expires_at: datetime | None
    created_at: datetime


class ScheduleIn(In):
    account_id: int = Field(ge=1, le=2**62)
    name: str = Field("", max_length=200)
    cron: str = Field(max_length=200, description="crontab slots, e.g. '0 9,18 * * *'")
    timezone: str = Field("UTC", max_length=64)
    min_score: float = Field(0.0, ge=0, le=100)
    auto_approve: bool = False
    max_per_day: int | None = Field(None, ge=1, le=1000)
    blackout: list[dict[str, Any]] = Field(
        default_factory=list, max_length=100, description="windows without posts, e.g. {start: '22:00', end: '07:00'}"
    )
    enabled: bool = True


class SchedulePatch(In):
    name: str = Field(None, max_length=200)
    cron: str = Field(None, max_length=200)
    timezone: str = Field(None, max_length=64)
    min_score: float = Field(None, ge=0, le=100)
    auto_approve: bool = Field(None)
    max_per_day: int | None = Field(None, ge=1, le=1000)
    blackout: list[dict[str, Any]] = Field(None, max_length=100)
    enabled: bool = Field(None)


class ScheduleOut(Out):
    id: int
    user_id: int | None
    account_id: int
    name: str
    cron: str
    timezone: str
    min_score: float
    auto_approve: bool
    max_per_day: int | None
    blackout: list[dict[str, Any]]
    enabled: bool
    last_slot_at: datetime | None
    created_at: datetime


class PostIn(In):
    clip_id: int = Field(ge=1, le=2**62)
    account_id: int = Field(ge=1, le=2**62)
    at: datetime | None = Field(None, description="when to publish (ISO 8601); default: the next free slot")


class PostPatch(In):
    at: datetime = Field(None)
    title: str = Field(None, max_length=300)
    caption: str = Field(None, max_length=5000)


class PostOut(Out):
    id: int
    user_id: int | None
    clip_id: int
    account_id: int
    schedule_id: int | None
    platform: str
    status: str
    scheduled_at: datetime
    remote_id: str | None
    remote_post_id: str | None
    url: str | None
    title: str
    caption: str
    error: str | None
    retryable: bool
    attempts: int
    created_at: datetime
    published_at: datetime | None
    render_version: int | None = Field(None, description="the clip's render version this post publishes")

    @model_validator(mode="before")
    @classmethod
    def _version(cls, data: Any) -> Any:
        """From a row (an ORM object or ``paged(rows=True)``'s dict of columns), the render it publishes."""
        from core.post_preview import render_version

        data = _row_columns(data, cls.model_fields, "video_key")
        if isinstance(data, dict) and "video_key" in data:
            return {**data, "render_version": render_version(data["video_key"])}
        return data


class PostPreviewOut(BaseModel):
    """A post as its platform will get it (``core.post_preview``); lengths in the unit the platform counts."""

    platform: str
    account_id: int
    account_name: str
    title: str | None = Field(description="None: the platform has no title")
    title_limit: int | None
    text: str = Field(description="the caption as sent, hashtags included")
    text_length: int
    text_limit: int | None
    privacy: str | None = Field(description="None: the platform has no privacy setting")
    hashtags: list[str]
    duration: float | None
    thumbnail: str | None = Field(description="the clip's thumbnail (its render's first frame), if rendered")
    render_version: int | None = Field(description="the render version the post publishes")
    current_version: int | None = Field(description="the clip's newest render version")
    problems: list[str] = Field(description="limits the text breaks")
    note: str = ""


class SourceIn(In):
    kind: str = Field(max_length=100, description="a registered source kind (see GET /api/plugins)")
    target: str = Field(max_length=4096, description="folder path, channel/playlist URL or feed URL")
    interval_minutes: float | None = Field(15, ge=1, le=60 * 24 * 31)
    cron: str | None = Field(None, max_length=200)
    preset: dict[str, Any] = Field(default_factory=dict, description="analysis options for what it finds")
    enabled: bool = True


class SourcePatch(In):
    target: str = Field(None, max_length=4096)
    interval_minutes: float | None = Field(None, ge=1, le=60 * 24 * 31)
    cron: str | None = Field(None, max_length=200)
    preset: dict[str, Any] = Field(None)
    enabled: bool = Field(None)


class SourceOut(Out):
    id: int
    user_id: int | None
    kind: str
    target: str
    interval_minutes: float | None
    cron: str | None
    preset: dict[str, Any]
    enabled: bool
    last_polled_at: datetime | None
    last_error: str | None
    created_at: datetime


LoginOut.model_rebuild()
