"""Typed contracts between the core and plugins.

Every stage of the pipeline speaks these types; plugins receive and return them. Times are seconds (float)
from the start of the source media unless a field says otherwise.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, BinaryIO, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

#: Progress callback: (fraction done 0..1, short message). Called from the working thread.
ProgressFn = Callable[[float, str], None]


def no_progress(_fraction: float, _message: str) -> None:
    """Default progress callback that drops updates."""


# --------------------------------------------------------------------------------------------- transcripts


class Word(BaseModel):
    """One spoken word. ``probability`` is the recogniser's confidence 0..1 (1.0 when unknown)."""

    text: str
    start: float
    end: float
    probability: float = 1.0


class Segment(BaseModel):
    """A run of speech as the recogniser grouped it (roughly a sentence)."""

    start: float
    end: float
    text: str
    words: list[Word] = Field(default_factory=list)


class Transcript(BaseModel):
    """What speech-to-text returns: language, segments and their words, all timed."""

    language: str
    duration: float = Field(description="seconds of audio that were transcribed")
    segments: list[Segment] = Field(default_factory=list)
    backend: str = ""
    model: str = ""

    @property
    def words(self) -> list[Word]:
        return [w for s in self.segments for w in s.words]

    @property
    def text(self) -> str:
        return " ".join(s.text.strip() for s in self.segments).strip()


# ------------------------------------------------------------------------------------------------- media


class MediaInfo(BaseModel):
    """ffprobe's view of a file, reduced to what the pipeline decides on."""

    duration: float
    size_bytes: int
    format_name: str
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    video_codec: str | None = None
    audio_codec: str | None = None
    audio_sample_rate: int | None = None
    audio_channels: int | None = None
    rotation: int = 0

    @property
    def has_video(self) -> bool:
        return self.video_codec is not None

    @property
    def has_audio(self) -> bool:
        return self.audio_codec is not None

    @property
    def display_size(self) -> tuple[int, int]:
        """(width, height) as played: phone videos rotated 90° decode with the sides swapped."""
        w, h = self.width or 0, self.height or 0
        return (h, w) if abs(self.rotation) % 180 == 90 else (w, h)


# ------------------------------------------------------------------------------------------------- clips


class Candidate(BaseModel):
    """A window of the source that could become a clip, before scoring."""

    start: float
    end: float
    text: str = ""
    source: str = Field("core", description="who proposed it: 'core' or a plugin name")

    @property
    def duration(self) -> float:
        return self.end - self.start


class ClipPlan(BaseModel):
    """A scored clip: where it is, why it is good, and the words that go with it when posted."""

    start: float
    end: float
    score: float = Field(ge=0, le=100)
    sub_scores: dict[str, float] = Field(default_factory=dict, description="named 0-100 signals")
    reason: str = ""
    title: str = ""
    caption: str = ""
    hashtags: list[str] = Field(default_factory=list)
    platform_captions: dict[str, str] = Field(
        default_factory=dict, description="optional per-platform caption, keyed by publisher name"
    )
    text: str = Field("", description="the transcript words inside the clip")

    @property
    def duration(self) -> float:
        return self.end - self.start


class SelectionRequest(BaseModel):
    """What the user asked the selector for."""

    clips: int = Field(5, ge=1, le=100, description="how many clips to return at most")
    min_seconds: float = Field(15.0, gt=0)
    max_seconds: float = Field(60.0, gt=0)
    language: str | None = None


class Chapter(BaseModel):
    start: float
    title: str


class Summary(BaseModel):
    """A per-video summary with chapters (show notes, YouTube chapters)."""

    summary: str
    chapters: list[Chapter] = Field(default_factory=list)

    def to_markdown(self) -> str:
        def stamp(t: float) -> str:
            t = int(t)
            return f"{t // 3600}:{t % 3600 // 60:02d}:{t % 60:02d}" if t >= 3600 else f"{t // 60}:{t % 60:02d}"

        lines = ["## Summary", "", self.summary.strip(), "", "## Chapters", ""]
        lines += [f"- {stamp(c.start)} {c.title}" for c in self.chapters]
        return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------------ render


class Reframe(StrEnum):
    CROP = "crop"
    BLUR = "blur"
    FACE = "face"


class RenderSpec(BaseModel):
    """Everything that decides how one clip looks. ``adjust_render`` hooks may edit it before ffmpeg runs.

    ``video_filters`` are extra ffmpeg filter strings applied to the final frame (after reframe and captions);
    ``overlays`` are image paths with an ffmpeg overlay position expression. ``caption_style`` and ``brand``
    are already loaded when the hook runs: hooks may read them, not change them.
    """

    model_config = ConfigDict(validate_assignment=True)

    source: Path
    start: float
    end: float
    width: int = 1080
    height: int = 1920
    fps: int = 30
    reframe: Reframe = Reframe.BLUR
    caption_style: str = "karaoke"
    brand: str | None = None
    remove_silence: bool = False
    remove_fillers: bool = False
    loudness_lufs: float | None = -14.0
    denoise: bool = False
    video_filters: list[str] = Field(default_factory=list)
    overlays: list[dict[str, Any]] = Field(default_factory=list)


# ---------------------------------------------------------------------------------------------- publish


class PostStatus(StrEnum):
    SCHEDULED = "scheduled"
    UPLOADING = "uploading"
    PROCESSING = "processing"
    PUBLISHED = "published"
    FAILED = "failed"
    CANCELLED = "cancelled"


class PublishRequest(BaseModel):
    """One post of one clip to one account. ``before_publish`` hooks may edit it or veto it."""

    post_id: int | None = None
    clip_id: int | None = None
    account_id: int | None = None
    video_path: Path
    video_url: str | None = Field(None, description="public or presigned URL, for platforms that pull")
    title: str = ""
    caption: str = ""
    hashtags: list[str] = Field(default_factory=list)
    privacy: str | None = None
    publish_at: datetime | None = None
    duration: float | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    resume: dict[str, Any] = Field(
        default_factory=dict, description="the last checkpoint of an interrupted attempt (upload session, ids)"
    )
    #: Set by the core: ``checkpoint({...})`` commits progress at once; a ``remote_id`` key becomes the post's
    #: remote id (saved before anything else, so a crash after it never leads to a second post).
    checkpoint: Callable[[dict[str, Any]], None] | None = Field(None, exclude=True, repr=False)

    def save_checkpoint(self, **data: Any) -> None:
        self.resume = {**self.resume, **data}
        if self.checkpoint is not None:
            self.checkpoint(data)


class PublishResult(BaseModel):
    """Where a post stands on the platform."""

    status: PostStatus
    remote_id: str | None = None
    url: str | None = None
    remote_post_id: str | None = None
    error: str | None = None
    retryable: bool = False


class MetricsStatus(StrEnum):
    OK = "ok"
    MISSING_SCOPE = "missing_scope"
    NOT_FOUND = "not_found"
    UNAVAILABLE = "unavailable"
    UNSUPPORTED = "unsupported"


#: Metric names shared by every platform (a publisher may add its own): counts, and watch time in seconds/percent.
METRICS = ("views", "likes", "comments", "shares", "saves", "reach", "avg_view_seconds", "avg_view_percent")


class PostMetrics(BaseModel):
    """What a platform says about one published post right now (``Publisher.fetch_metrics``).

    ``status`` ``ok`` may still list ``missing_scopes``: the values the granted scopes allow are there, the rest
    is named (YouTube without ``yt-analytics.readonly`` has views but no watch time). ``missing_scope`` means
    nothing could be read; ``not_found``: the post is gone; ``unavailable``: the platform has no numbers yet (or
    never will, e.g. a TikTok inbox draft). None of these is an error. ``requests`` and ``quota_units`` say what
    the call cost (the core records them as usage)."""

    status: MetricsStatus = MetricsStatus.OK
    values: dict[str, float] = Field(default_factory=dict)
    missing_scopes: list[str] = Field(default_factory=list)
    detail: str = ""
    requests: int = 0
    quota_units: int = 0


class Event(BaseModel):
    """A lifecycle event for ``on_event`` (job.started, job.succeeded, job.failed, post.published, ...)."""

    name: str
    job_id: int | None = None
    video_id: int | None = None
    clip_id: int | None = None
    post_id: int | None = None
    data: dict[str, Any] = Field(default_factory=dict)


# ------------------------------------------------------------------------------------- backend base classes


class UsageRecord(BaseModel):
    """One paid AI call, reported by a backend through ``Backend.report_usage`` (the core stores it)."""

    provider: str
    model: str = ""
    kind: str = Field("llm", description="llm | stt | quota (platform API calls)")
    units: int = Field(0, description="platform quota units (kind quota)")
    input_tokens: int = 0
    output_tokens: int = 0
    audio_seconds: float = 0.0
    cost_usd: float = 0.0


class Backend(abc.ABC):
    """A pluggable implementation. Subclasses set ``name`` and an ``Options`` model.

    The YAML section named after the backend is validated against ``Options`` and passed to ``__init__``.
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")

    def __init__(self, options: BaseModel | None = None) -> None:
        self.options = options if options is not None else self.Options()

    #: Set by the core: where ``report_usage`` sends records (an AI usage row in the database).
    usage_sink: Callable[[UsageRecord], None] | None = None

    def bind(self, settings: Any) -> None:  # noqa: B027 (optional: most backends need nothing)
        """Called once after construction with the installation's ``Settings`` (data_dir, public URL...)."""

    def report_usage(self, record: UsageRecord) -> None:
        """Report a paid call (tokens, audio seconds, estimated cost). Never raises."""
        if self.usage_sink is not None:
            try:
                self.usage_sink(record)
            except Exception:  # bookkeeping must not break the work it describes
                pass


class SpeechToText(Backend):
    """Turns a 16 kHz mono WAV into a timed Transcript."""

    @abc.abstractmethod
    def transcribe(
        self, audio: Path, *, language: str | None = None, progress: ProgressFn = no_progress
    ) -> Transcript: ...

    def cache_key(self) -> str:
        """Identifies the settings that change the output; part of the transcript cache key."""
        return f"{self.name}:{self.options.model_dump_json()}"

    def warm(self) -> None:
        """Load what ``transcribe`` needs (a model) ahead of it. The core calls this in a thread while it extracts
        a new video's audio, so a worker's first video waits for the longer of the two, not for both in turn.
        Default: nothing. It may run at the same time as ``transcribe`` and more than once; its errors are
        ignored (``transcribe`` meets them again and reports them)."""


class ClipSelector(Backend):
    """Scores candidate windows and writes titles, captions and hashtags."""

    @abc.abstractmethod
    def select(
        self, transcript: Transcript, candidates: list[Candidate], request: SelectionRequest
    ) -> list[ClipPlan]: ...

    @abc.abstractmethod
    def summarize(self, transcript: Transcript) -> Summary: ...


class Storage(Backend):
    """A place for originals, audio, renders. Keys are relative POSIX paths (validated by the core)."""

    @abc.abstractmethod
    def put_file(self, key: str, path: Path, content_type: str | None = None) -> None: ...

    @abc.abstractmethod
    def put_stream(self, key: str, stream: BinaryIO, content_type: str | None = None) -> int:
        """Store a stream without holding it in memory; returns bytes written."""

    @abc.abstractmethod
    def open(self, key: str) -> BinaryIO: ...

    @abc.abstractmethod
    def download(self, key: str, dest: Path) -> Path: ...

    @abc.abstractmethod
    def exists(self, key: str) -> bool: ...

    @abc.abstractmethod
    def delete(self, key: str) -> None: ...

    @abc.abstractmethod
    def list(self, prefix: str = "") -> Iterator[str]: ...

    @abc.abstractmethod
    def url(self, key: str, expires: int = 3600) -> str | None:
        """A URL a platform can fetch (public or presigned, valid ``expires`` seconds), or None if impossible."""

    def local_path(self, key: str) -> Path | None:
        """The file's path when it lives on this machine (lets ffmpeg read it without a copy)."""
        return None

    #: True when ``adopt_file`` takes the file without copying it (a rename): the core then copies a user's file
    #: into its own temporary directory while hashing it, and hands that copy over.
    adopts_files: ClassVar[bool] = False

    def adopt_file(self, key: str, path: Path, content_type: str | None = None) -> None:
        """Store ``path``, a temporary file of the core's that it no longer needs (an upload, a download, the
        extracted audio): a backend may take the file itself instead of copying it. Afterwards ``path`` may be
        gone; the core deletes it if it is not. Default: ``put_file``."""
        self.put_file(key, path, content_type)

    def size(self, key: str) -> int:
        with self.open(key) as f:
            f.seek(0, 2)
            return f.tell()


def describe_post(request: PublishRequest, *, between: str = "\n\n", skip_present: bool = False) -> dict[str, Any]:
    """``Publisher.describe``'s default: the caption, then ``between``, then the hashtags as ``#tag`` words
    (``skip_present``: leave out tags the caption already contains)."""
    tags = " ".join(
        t if t.startswith("#") else f"#{t}" for t in request.hashtags if not (skip_present and t in request.caption)
    )
    text = (request.caption + (between + tags if tags else "")).strip()
    return {"title": request.title, "text": text, "text_length": len(text), "title_limit": None, "text_limit": None,
            "privacy": None}  # fmt: skip


class Publisher(Backend):
    """Posts a rendered clip to one platform account. See docs/plugin_hooks.md for the publish protocol."""

    @abc.abstractmethod
    def preflight(self, request: PublishRequest, account: Any) -> list[str]:
        """Problems that would make the platform refuse this post; empty when it can go."""

    @abc.abstractmethod
    def publish(self, request: PublishRequest, account: Any) -> PublishResult:
        """The irreversible step: called at most once per post. Must return the remote id as soon as known."""

    @abc.abstractmethod
    def check_status(self, remote_id: str, account: Any) -> PublishResult: ...

    def describe(self, request: PublishRequest) -> dict[str, Any]:
        """What the platform will show for ``request``, for a preview before posting (no network, no file):
        ``title`` (None: the platform has no title), ``text`` (the caption as sent, hashtags included),
        ``text_length`` (in the unit the platform counts), ``title_limit``/``text_limit`` (None: none known) and
        ``privacy`` (None: no such setting). Default: the caption followed by its hashtags, no limits."""
        return describe_post(request)

    def refresh_token(self, account: Any) -> dict[str, Any] | None:
        """Return new token data for the account, or None when the platform needs no refresh."""
        return None

    # Accounts and crash recovery (defaults suit publishers without OAuth, such as folder and webhook).

    def oauth_client(self) -> Any:
        """The platform's ``core.oauth.OAuthClient``, or None when accounts need no authorization."""
        return None

    def connect_account(self, token: dict[str, Any]) -> dict[str, Any]:
        """After the code exchange: ``{"remote_id", "name", "token", "meta"}`` (may swap the token, e.g. Instagram)."""
        return {"remote_id": self.name, "name": self.name, "token": token, "meta": {}}

    def refresh_due(self, token: dict[str, Any], now: float) -> bool:
        """Whether to refresh now (``now`` is epoch seconds); default: less than 5 minutes left."""
        expires_at = token.get("expires_at")
        return bool(token.get("refresh_token")) and expires_at is not None and float(expires_at) - now < 300

    def revoke(self, account: Any) -> bool:
        """Revoke the account's grant at the platform where possible; True when it confirmed."""
        return False

    def recover(self, request: PublishRequest, account: Any) -> PublishResult | None:
        """A post was left 'uploading' (its owner died or stopped): what the platform holds for it.

        A result when the upload is complete there (published, processing, or the platform's failure); None
        when it is not, and ``publish`` is called next with the same ``request.resume`` (the last checkpoint:
        a YouTube session URI, a TikTok upload URL and chunk, an Instagram container id...), which resumes
        rather than starts over where the platform allows."""
        return None

    def fetch_metrics(self, remote_id: str, account: Any) -> PostMetrics:
        """Optional: the post's current numbers (``remote_id`` is the post's remote post id, else its remote id).

        Never raises for a missing scope or a deleted post (those are statuses); raises ``RetryableError`` for
        throttling (with a ``retry_after`` attribute in seconds when the platform said). Default: unsupported."""
        return PostMetrics(status=MetricsStatus.UNSUPPORTED, detail=f"{self.name} reports no metrics")


class SourceItem(BaseModel):
    """One new thing a watched source found."""

    id: str = Field(description="stable identity: never processed twice")
    location: str = Field(description="a local path or an http(s) URL to ingest")
    title: str = ""
    published_at: datetime | None = None


class Source(Backend):
    """A watched source (folder, channel, playlist, feed) that yields items to analyze.

    ``target_type`` says what a target is: ``"url"`` (the default: checked like URL ingest, and every item's
    location must be an http(s) URL) or ``"path"`` (a server directory: only administrators add one, under
    ``sources.folder_roots``). ``check_target`` refuses a target of the wrong shape when the source is added.
    """

    target_type: ClassVar[Literal["url", "path"]] = "url"

    @classmethod
    def check_target(cls, target: str) -> None:
        """Raise ``InputError`` when ``target`` cannot be this kind's target (shape only; no network)."""

    @abc.abstractmethod
    def poll(self, target: str) -> list[SourceItem]: ...


# ----------------------------------------------------------------------------------------------- b-roll


class BrollQuery(BaseModel):
    """What one B-roll insert needs: a keyword said at that moment, the clip's topic words, the output shape."""

    keyword: str = Field(description="one lower-case word of the transcript (or a topic term), e.g. 'volcano'")
    topic: list[str] = Field(default_factory=list, description="the clip's topic words (hashtags, title nouns)")
    orientation: Literal["portrait", "landscape", "square"] = "portrait"
    min_seconds: float = Field(2.0, description="how long the insert shows, s (a shorter video is looped)")
    limit: int = Field(5, ge=1, description="most assets to return")
    collection: str | None = Field(
        None, description="a collection the user chose (the library: a sub-folder name, never a path)"
    )


class BrollAsset(BaseModel):
    """One picture or video clip a provider offers for a query. ``score`` ranks (higher first), ties by ``id``.

    A provider whose files are already on this machine sets ``path``; one that downloads sets ``url`` and
    fetches it in ``BrollProvider.fetch``. ``size_bytes``/``width``/``height``/``duration`` are what the
    provider says, when it says.
    """

    provider: str
    id: str = Field(description="stable within the provider (a file name, a stock video id)")
    kind: Literal["video", "image"] = "video"
    score: float = 0.0
    matched: str = Field("", description="the query word or tag that matched")
    path: Path | None = None
    url: str | None = None
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    size_bytes: int | None = None
    credit: str = Field("", description="who made it (stock licences ask for attribution)")


class BrollProvider(Backend):
    """Finds B-roll (cutaway pictures) for a clip's keywords: a folder of the user's files, a stock library.

    ``search`` returns ranked assets (empty when nothing matches: never an error for "no results");
    ``fetch`` returns a local file of the asset in ``dest_dir``. Providers that download set ``cacheable``:
    the core then keeps search answers and files in storage (``broll-cache/<provider>/``) and asks again only
    on a miss (their answer may depend only on the query's keyword, orientation, limit and collection, the
    cache key). Errors that should reach the user (bad key, rate limit) are ``InputError``/``RetryableError``
    with a clear message; the render goes on without B-roll and says why.
    """

    cacheable: ClassVar[bool] = False

    @abc.abstractmethod
    def search(self, query: BrollQuery) -> list[BrollAsset]: ...

    def fetch(self, asset: BrollAsset, dest_dir: Path) -> Path:
        """A local file of ``asset``. The default serves assets that carry a ``path``."""
        if asset.path is None:
            raise NotImplementedError(f"{self.name} cannot fetch {asset.id!r}: it has no local path")
        return asset.path

    def cache_key(self) -> str:
        """Identifies the options that change search results (part of the cache key); secrets left out."""
        return self.name
