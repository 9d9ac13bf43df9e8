"""One YAML file → validated settings.

Lookup order: ``--config PATH``, then ``CLIPCAST_CONFIG``, then ``./clipcast.yaml``; with none, the embedded
defaults (local STT, heuristic selection, SQLite, local storage). String values may use ``${VAR}`` (an error
when unset) and ``${VAR:-default}``. ``DATABASE_URL``, ``REDIS_URL``, ``CLIPCAST_DATA_DIR`` and
``CLIPCAST_SECRET_KEY`` override the file when set. Errors name the file, the key path and the line.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from core.errors import ConfigError

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LogSettings(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["auto", "console", "json"] = Field(
        "auto", description="auto: readable on a terminal, JSON lines otherwise"
    )


class BackendSection(BaseModel):
    """``backend`` picks one; the other keys are per-backend option sections, named after the backend."""

    model_config = ConfigDict(extra="allow")
    backend: str

    def sections(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class IngestSettings(Section):
    max_file_mb: float = Field(4096, gt=0, description="largest accepted input, MB")
    max_duration_minutes: float = Field(240, gt=0, description="longest accepted input, minutes")
    allow_urls: bool = True
    url_extractors: list[str] = Field(
        default_factory=lambda: ["default", "-generic"],
        description="yt-dlp allowed_extractors; the generic extractor is off unless added",
    )
    allow_private_addresses: bool = Field(
        False,
        description="let every outbound connection (downloads, feeds, publishers, webhooks) reach private and "
        "loopback addresses (only for trusted test setups; cloud metadata addresses stay refused)",
    )
    allowed_networks: list[str] = Field(
        default_factory=list,
        description="private networks outbound connections may reach anyway, as CIDRs (e.g. 10.0.5.0/24 for an "
        "internal webhook receiver)",
    )

    @field_validator("allowed_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        import ipaddress

        for net in value:
            try:
                ipaddress.ip_network(net, strict=False)
            except ValueError:
                raise ValueError(f"{net!r} is not a network in CIDR form (e.g. 10.0.5.0/24)")
        return value


class SelectionSettings(Section):
    clips: int = Field(5, ge=1, le=100, description="clips proposed per video (at least; see clips_per_hour)")
    clips_per_hour: float = Field(
        12, ge=0, le=60, description="long videos get this many per hour of speech when more than clips (max 20)"
    )
    min_seconds: float = Field(15, gt=0)
    max_seconds: float = Field(60, gt=0)
    learn: bool = Field(
        False, description="re-rank a schedule's clips by what its account's own posts taught (see analytics)"
    )

    @model_validator(mode="after")
    def _bounds(self) -> SelectionSettings:
        if self.min_seconds > self.max_seconds:
            raise ValueError("min_seconds must not exceed max_seconds")
        return self


class ServerSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    public_base_url: str | None = Field(
        None, description="how platforms reach this server (needed for Instagram with local storage)"
    )


class RenderSettings(Section):
    """How clips are rendered (``clipcast process``/``render``); each field can be overridden per render."""

    aspect: Literal["9:16", "1:1", "16:9"] = Field("9:16", description="output shape: 1080x1920, 1080x1080, 1920x1080")
    reframe: Literal["crop", "blur", "face"] = Field("blur", description="how a source of another shape is fitted")
    layout: Literal["auto", "single", "split", "wide"] | None = Field(
        None,
        description="faces decide the picture per shot (replaces reframe): auto | single (crop on the speaker) | "
        "split (two speakers stacked) | wide (blurred fill); null = off, reframe decides",
    )
    caption_style: str = Field(
        "karaoke", description="a preset name in styles_dir or a built-in one (karaoke, pop, clean)"
    )
    brand: str | None = Field(None, description="a brand kit name, looked up in brands_dir, then the built-ins")
    remove_silence: bool = Field(True, description="cut pauses (word gaps that are also quiet)")
    min_silence: float = Field(0.6, gt=0, description="shortest pause that is cut, s")
    silence_pad: float = Field(0.12, ge=0, description="kept on each side of a cut pause, s")
    silence_db: float = Field(-35.0, description="audio below this level (dBFS) counts as quiet")
    remove_fillers: bool = False
    fillers: list[str] = Field(default_factory=lambda: ["um", "uh", "uhm", "erm", "er", "hmm", "mm", "ah"])
    loudness_lufs: float | None = Field(-14.0, description="EBU R128 integrated loudness target; null = off")
    denoise: bool = False
    parallel: int = Field(
        3,
        ge=1,
        le=32,
        description="clips rendered at once (one ffmpeg each; 3 keeps 2 cores busy through ffmpeg's serial parts)",
    )
    preset: str = Field("veryfast", description="libx264 preset")
    x264_params: str = Field(
        "me=dia:subme=1:partitions=i8x8,i4x4",
        pattern=r"^$|^[\w-]+=[^:=]+(:[\w-]+=[^:=]+)*$",
        description="extra libx264 options (key=value:...); the default cuts encoding CPU ~25% for 2-4% larger files",
    )
    crf: int = Field(21, ge=0, le=51, description="libx264 quality (lower = better, bigger); NVENC's -cq")
    translate: list[str] = Field(
        default_factory=list, description="language codes of extra, LLM-translated SRT/VTT captions (needs llm)"
    )
    translate_burn: str | None = Field(None, description="burn this translated language instead of the original")
    export_edit: bool = Field(False, description="also write each clip's cut list as FCPXML and an EDL beside it")
    music: str | None = Field(None, description="default music bed: a track name in music_dir; null = none")
    music_db: float = Field(-20.0, ge=-60, le=0, description="music track gain before ducking under speech, dB")
    music_dir: Path | None = Field(None, description="folder of music tracks that renders may name (admin-set)")
    hook_title: bool = Field(False, description="show the clip's title as a title card (brand colours) at the start")
    hook_seconds: float = Field(3.0, gt=0, description="how long the title card shows, s")
    platform: Literal["tiktok", "shorts", "reels"] | None = Field(
        None, description="platform preset: aspect, longest clip, UI safe zones, bitrate cap; null = none"
    )
    encoder: Literal["libx264", "h264_nvenc"] = Field(
        "libx264", description="H.264 encoder: libx264 (CPU) or h264_nvenc (NVIDIA GPU; same output contract)"
    )
    ffmpeg_timeout: float = Field(1800, gt=0, description="longest ffmpeg run for one clip, s")
    styles_dir: Path | None = Field(None, description="user caption presets (*.yaml), searched before the built-ins")
    brands_dir: Path | None = Field(None, description="user brand kits (*.yaml), searched before the built-ins")


class BrollSettings(BaseModel):
    """B-roll: pictures cut in at the clip's keywords (``mode``), found by the providers listed, in order.

    Each provider's options are a section named after it (``broll.library.roots``, ``broll.pexels.api_key``);
    ``mode`` and the numbers are defaults a render may override. Off by default: off, nothing is searched.
    """

    model_config = ConfigDict(extra="allow")
    mode: Literal["off", "cutaway", "pip"] = Field(
        "off", description="off | cutaway (full frame, original audio kept) | pip (an inset over the speaker)"
    )
    providers: list[str] = Field(
        default_factory=lambda: ["library"], description="B-roll providers asked in this order (library, pexels)"
    )
    max_inserts: int = Field(3, ge=1, le=20, description="most B-roll inserts in one clip")
    seconds: float = Field(2.0, ge=0.5, le=10, description="how long each insert shows, s")
    gap: float = Field(1.0, ge=0, description="least time between two inserts, s")
    max_queries: int = Field(8, ge=1, le=50, description="most keywords looked up per clip (each may be a request)")
    pip_scale: float = Field(0.42, gt=0.1, le=0.9, description="picture-in-picture inset width, share of the frame")
    cache_hours: float = Field(24, ge=0, description="how long a stock provider's search answers are reused, h")

    def sections(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class ApiSettings(Section):
    """HTTP API limits. Per-user quotas on the user row override the defaults here (None = unlimited)."""

    max_upload_mb: float = Field(4096, gt=0, description="largest accepted upload, MB (413 above it)")
    page_size_max: int = Field(200, ge=1, le=10000, description="largest ?limit= a list accepts")
    session_hours: float = Field(24 * 7, gt=0, description="how long a dashboard login lasts")
    cookie_secure: bool = Field(False, description="mark the session cookie Secure (set behind HTTPS)")
    auth_rate_per_minute: int = Field(10, ge=1, description="login/token attempts per client address per minute")
    videos_per_day: int | None = Field(None, ge=0, description="default processing quota per user")
    minutes_per_day: float | None = Field(None, ge=0, description="default minutes of video per user per day")
    llm_usd_per_day: float | None = Field(None, ge=0, description="default LLM spend per user per day, USD")


class WorkerSettings(Section):
    """Dramatiq workers. Times are seconds unless named otherwise."""

    namespace: str = Field("clipcast", description="Redis key prefix (several installations can share one Redis)")
    concurrency: dict[str, int] = Field(
        default_factory=lambda: {"analyze": 1, "render": 3, "publish": 4},
        description="most messages of a queue running at once on one machine (all worker processes together)",
    )
    max_retries: int = Field(3, ge=0, description="retries of a failed stage before the job is marked failed")
    min_backoff: float = Field(15, gt=0, description="first retry delay, s (doubles each retry)")
    max_backoff: float = Field(600, gt=0, description="longest retry delay, s")
    analyze_time_limit: float = Field(4 * 3600, gt=0, description="longest analyze (ingest+transcribe+select), s")
    render_time_limit: float = Field(3600, gt=0, description="longest render of one clip, s")
    publish_time_limit: float = Field(1800, gt=0, description="longest upload of one post, s")
    isolate_analyze: bool = Field(
        True, description="run analysis in a child process so cancel and time limits can kill transcription"
    )
    heartbeat_timeout: float = Field(
        30,
        gt=0,
        description="s without a heartbeat before a worker counts as dead: its fetched messages are sent again "
        "by the sweeper (so a killed worker's unstarted messages move on within this plus scheduler.sweep_interval)",
    )
    maintenance_chance: int = Field(
        10_000,
        ge=0,
        le=1_000_000,
        description="per million broker calls that look for dead workers' messages (10000: a dead worker's "
        "messages move on within about a minute or two after heartbeat_timeout; Dramatiq's own default is 1000)",
    )
    check_delay: float = Field(
        5, gt=0, description="s from an upload to the first status check of its post (then backoff up to 300 s)"
    )
    lease_seconds: float = Field(
        30,
        ge=2,
        description="how long a job or post stays with its process after the last renewal (renewed every third of "
        "it); a killed process's work is taken over this long after its death, plus one sweep",
    )
    clean_interval: float = Field(
        600,
        gt=0,
        description="s between two removals of dead processes' scratch, upload leftovers and partial files (workers "
        "and `clipcast serve` also clean at start)",
    )
    stages: dict[str, str] = Field(
        default_factory=dict,
        description="override a stage function: {analyze|render|publish|check: 'module:function'}",
    )


class SchedulerSettings(Section):
    """The single ``clipcast scheduler`` process. Times are seconds."""

    dispatch_interval: float = Field(5, gt=0, description="how often due posts are sent to the publish queue")
    schedules_interval: float = Field(60, gt=0, description="how often posting schedules fill their slots")
    sources_interval: float = Field(60, gt=0, description="how often watched sources are checked for polls due")
    token_refresh_interval: float = Field(900, gt=0, description="how often expiring tokens are refreshed")
    misfire_grace_time: int = Field(300, ge=1, description="a run late by up to this many seconds still happens")
    lock_ttl: float = Field(30, gt=0, description="the single-scheduler lease; a dead scheduler's lease expires")
    sweep_interval: float = Field(
        10, gt=0, description="how often jobs and posts whose owner died are re-driven and lost messages re-sent"
    )
    metrics_interval: float = Field(300, gt=0, description="how often posts due a metrics sample are collected")


class AnalyticsSettings(Section):
    """Post metrics collection and learning from them. Sample slots count from a post's publication: every
    ``early_every_minutes`` for ``early_hours``, then daily until ``daily_until_days``, then weekly until
    ``stop_after_days``."""

    enabled: bool = Field(True, description="collect metrics of published posts on the scheduler")
    early_hours: float = Field(48, gt=0, description="the first hours after publication, sampled often")
    early_every_minutes: float = Field(120, gt=0, description="sample interval during early_hours")
    daily_until_days: float = Field(28, gt=0, description="daily samples until this age, then weekly")
    stop_after_days: float = Field(90, gt=0, description="no samples after this age")
    max_per_run: int = Field(50, ge=1, description="most posts per platform fetched in one collection run")
    spacing_seconds: float = Field(0.2, ge=0, description="pause between two requests to the same platform")
    daily_units: dict[str, int] = Field(
        default_factory=lambda: {"youtube": 2000, "tiktok": 5000, "instagram": 2000},
        description="platform quota units (about one per request) metrics may use per UTC day; the rest of "
        "YouTube's 10,000 stays for publishing",
    )
    min_posts: int = Field(20, ge=5, description="an account needs this many posts with 7-day views to learn")
    learn_points: float = Field(
        10, ge=0, description="score points per unit of predicted log-performance when selection.learn re-ranks"
    )
    topic_words: int = Field(20, ge=0, description="most frequent caption/transcript words used as features")
    bootstrap: int = Field(200, ge=20, le=5000, description="bootstrap resamples for the weights' uncertainty")

    @model_validator(mode="after")
    def _ages(self) -> AnalyticsSettings:
        if not self.early_hours / 24 < self.daily_until_days <= self.stop_after_days:
            raise ValueError("need early_hours/24 < daily_until_days <= stop_after_days")
        return self


class PluginSettings(Section):
    """Which plugins load. Names are entry-point names (``clipcast plugins`` lists them) or module names."""

    enabled: list[str] | None = Field(
        None,
        description=(
            "installed (entry-point) plugins to load; null loads every installed one; "
            "CLIPCAST_LOAD_PLUGINS (comma list, empty for none) overrides it"
        ),
    )
    disabled: list[str] = Field(
        default_factory=list, description="plugins never loaded, installed or built-in (e.g. plugins.publishers.tiktok)"
    )


class ScheduleConfig(Section):
    """A posting schedule defined in YAML (synced into the database when the scheduler starts)."""

    name: str
    account: str | int = Field(description="social account id, or its name")
    cron: str = Field(description="crontab slots, e.g. '0 9,18 * * *'")
    timezone: str = "UTC"
    min_score: float = Field(0, ge=0, le=100)
    auto_approve: bool = False
    blackout: list[dict[str, Any]] = Field(
        default_factory=list, description="[{start: '22:00', end: '07:00', days: [sat, sun]}, {date: 2026-12-25}]"
    )
    max_per_day: int | None = Field(None, ge=1)
    enabled: bool = True


class SourceConfig(Section):
    """A watched source defined in YAML (synced into the database when the scheduler starts)."""

    kind: str = Field(description="folder | youtube | rss, or a plugin's source")
    target: str = Field(description="folder path, channel/playlist URL or feed URL")
    interval_minutes: float | None = Field(15, gt=0)
    cron: str | None = Field(None, description="poll on crontab times instead of an interval")
    preset: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "per-item job options: clips, min_seconds, max_seconds, language, render (default true), "
            "render_options, backfill, options (the source backend's own); accounts is recorded on the job "
            "but not used for posting yet (schedules pick clips per account)"
        ),
    )
    enabled: bool = True


class SourcesSettings(Section):
    """Watched sources. A plain list under ``sources:`` (the older form) is read as ``watch``."""

    folder_roots: list[Path] = Field(
        default_factory=list,
        description="directories under which watched folders may live (none: folder sources are refused); only "
        "administrators add folder sources, and a watched folder may not overlap data_dir",
    )
    watch: list[SourceConfig] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _list_form(cls, data: Any) -> Any:
        return {"watch": data} if isinstance(data, list) else data


class Settings(Section):
    """The whole installation's configuration."""

    data_dir: Path = Field(Path("./clipcast-data"), description="database, local storage and caches")
    output_dir: Path = Field(Path("./clips"), description="where `clipcast process` writes finished clips")
    database_url: str | None = Field(None, description="default: SQLite in data_dir")
    redis_url: str | None = Field(None, description="set to run distributed workers")
    secret_key: SecretStr | None = Field(None, description="encrypts platform tokens at rest")
    log: LogSettings = Field(default_factory=LogSettings)
    stt: BackendSection = Field(default_factory=lambda: BackendSection(backend="faster-whisper"))
    llm: BackendSection = Field(default_factory=lambda: BackendSection(backend="heuristic"))
    storage: BackendSection = Field(default_factory=lambda: BackendSection(backend="local"))
    publishers: dict[str, dict[str, Any]] = Field(default_factory=dict)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    selection: SelectionSettings = Field(default_factory=SelectionSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    render: RenderSettings = Field(default_factory=RenderSettings)
    broll: BrollSettings = Field(default_factory=BrollSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    analytics: AnalyticsSettings = Field(default_factory=AnalyticsSettings)
    plugins: PluginSettings = Field(default_factory=PluginSettings)
    schedules: list[ScheduleConfig] = Field(default_factory=list)
    sources: SourcesSettings = Field(default_factory=SourcesSettings)

    # Filled by ``load_settings``: where the values came from (for messages).
    source_file: Path | None = Field(None, exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _empty_sections(cls, data: Any) -> Any:
        """A section written with every entry commented out (``publishers:``) parses as null: treat it as empty."""
        if isinstance(data, dict):
            for key in ("publishers", "schedules", "sources"):
                if key in data and data[key] is None:
                    data[key] = [] if key != "publishers" else {}
        return data

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'clipcast.db').resolve()}"


# ------------------------------------------------------------------------------------------------ checks

#: Shortest accepted ``secret_key`` (each comma-separated key): it signs file URLs and derives the token key.
MIN_SECRET_KEY = 32
DATABASE_SCHEMES = ("sqlite", "postgresql", "postgres", "postgresql+psycopg")


def deployment_problems(settings: Settings) -> list[str]:
    """What ``clipcast config check`` refuses beyond the schema: values that load but are unsafe or unusable."""
    problems = []
    if settings.secret_key is not None:
        keys = [k.strip() for k in settings.secret_key.get_secret_value().split(",")]
        if any(len(k) < MIN_SECRET_KEY for k in keys):
            problems.append(
                f"secret_key: every key must be at least {MIN_SECRET_KEY} characters (generate one with "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
            )
    if settings.database_url is not None:
        scheme = settings.database_url.split("://", 1)[0].lower() if "://" in settings.database_url else ""
        if scheme not in DATABASE_SCHEMES:
            problems.append(
                f"database_url: unknown scheme {scheme or '(none)'!r}; use sqlite:///PATH or postgresql://..."
            )
    return problems


# ------------------------------------------------------------------------------------------------ loading


def _interpolate(value: str, where: str) -> str:
    def sub(m: re.Match[str]) -> str:
        name, default = m.group(1), m.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        raise ConfigError(
            f"{where}: environment variable {name} is not set",
            f"set {name}, or give a default with ${{{name}:-value}}",
        )

    return _ENV.sub(sub, value)


def _node_lines(node: yaml.Node, path: tuple[str, ...], out: dict[tuple[str, ...], int]) -> None:
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, child in node.value:
            _node_lines(child, (*path, str(key.value)), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, child in enumerate(node.value):
            _node_lines(child, (*path, str(i)), out)


def _walk_interpolate(data: Any, path: tuple[str, ...], lines: dict[tuple[str, ...], int], file: str) -> Any:
    if isinstance(data, dict):
        return {k: _walk_interpolate(v, (*path, str(k)), lines, file) for k, v in data.items()}
    if isinstance(data, list):
        return [_walk_interpolate(v, (*path, str(i)), lines, file) for i, v in enumerate(data)]
    if isinstance(data, str) and "${" in data:
        where = f"{file}, line {lines.get(path, '?')}: {'.'.join(path)}"
        return _interpolate(data, where)  # stays a string: pydantic coerces it to the field's type
    return data


def find_config_file(explicit: str | Path | None = None) -> Path | None:
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist", "check the path given to --config")
        return path
    env = os.environ.get("CLIPCAST_CONFIG")
    if env:
        path = Path(env)
        if not path.is_file():
            raise ConfigError(f"config file {path} (from CLIPCAST_CONFIG) does not exist")
        return path
    local = Path("clipcast.yaml")
    return local if local.is_file() else None


def read_yaml(path: Path) -> tuple[dict[str, Any], dict[tuple[str, ...], int]]:
    """Parse a YAML file into data plus a key-path → line map; syntax errors name the file and line."""
    loader = yaml.SafeLoader(path.read_text(encoding="utf-8"))
    try:  # compose once: the node tree gives the lines, the same tree gives the data
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown line"
        raise ConfigError(f"{path}, {line}: invalid YAML: {exc.problem}", "fix the syntax at that line")
    finally:
        loader.dispose()
    lines: dict[tuple[str, ...], int] = {}
    if node is not None:
        _node_lines(node, (), lines)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of settings, got {type(data).__name__}")
    return _walk_interpolate(data, (), lines, str(path)), lines


def format_validation_error(
    exc: ValidationError,
    prefix: tuple[str, ...] = (),
    lines: dict[tuple[str, ...], int] | None = None,
    file: Path | None = None,
) -> str:
    """``stt.openai.api_key: field required (clipcast.yaml, line 12)`` — one line per problem."""
    out = []
    for err in exc.errors():
        loc = (*prefix, *(str(p) for p in err["loc"]))
        msg = err["msg"]
        msg = msg[0].lower() + msg[1:] if msg else msg
        if err["type"] == "extra_forbidden":
            msg = "unknown option (check the spelling against config/clipcast.example.yaml)"
        where = ""
        if lines and file:
            probe = loc
            while probe and probe not in lines:
                probe = probe[:-1]
            if probe in lines:
                where = f" ({file}, line {lines[probe]})"
        out.append(f"{'.'.join(loc)}: {msg}{where}")
    return "\n".join(out)


_ENV_OVERRIDES = {
    "DATABASE_URL": "database_url",
    "REDIS_URL": "redis_url",
    "CLIPCAST_DATA_DIR": "data_dir",
    "CLIPCAST_SECRET_KEY": "secret_key",
}


def load_settings(path: str | Path | None = None, *, validate_backends: bool = True) -> Settings:
    """Read, interpolate and validate the configuration; raise ``ConfigError`` naming every problem."""
    file = find_config_file(path)
    data, lines = read_yaml(file) if file else ({}, {})
    for env, key in _ENV_OVERRIDES.items():
        if os.environ.get(env):
            data[key] = os.environ[env]
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(
            f"invalid configuration in {file or 'defaults'}:\n" + format_validation_error(exc, (), lines, file)
        )
    settings.source_file = file
    from core.plugins import set_policy

    set_policy(settings.plugins.enabled, settings.plugins.disabled)
    if validate_backends:
        backend_options(settings, lines=lines)
    return settings


# ------------------------------------------------------------------------------------------- backend options

_SECTION_KIND = {"stt": "stt", "llm": "llm", "storage": "storage"}


def backend_options(
    settings: Settings, lines: dict[tuple[str, ...], int] | None = None
) -> dict[str, dict[str, BaseModel]]:
    """Validate every backend section against its plugin's ``Options``.

    Returns ``{section: {backend name: options}}``. The selected backend of stt/llm/storage must exist; a section
    for a backend nobody provides is an error that lists the available names.
    """
    from core.plugins import get_manager

    manager = get_manager()
    problems: list[str] = []
    result: dict[str, dict[str, BaseModel]] = {}
    for section, kind in _SECTION_KIND.items():
        choice: BackendSection = getattr(settings, section)
        available = manager.backends(kind)
        listed = ", ".join(sorted(available))
        result[section] = {}
        if choice.backend not in available:
            problems.append(f"{section}.backend: unknown {kind} backend {choice.backend!r}; available: {listed}")
        names = set(choice.sections()) | ({choice.backend} & set(available))
        for name in sorted(names):
            raw = choice.sections().get(name) or {}
            if name not in available:
                problems.append(f"{section}.{name}: no {kind} backend called {name!r}; available: {listed}")
                continue
            if not isinstance(raw, dict):
                problems.append(f"{section}.{name}: expected a mapping of options, got {type(raw).__name__}")
                continue
            try:
                result[section][name] = available[name].Options.model_validate(raw)
            except ValidationError as exc:
                problems.append(format_validation_error(exc, (section, name), lines, settings.source_file))
    publishers = manager.backends("publisher")
    result["publishers"] = {}
    for name, raw in settings.publishers.items():
        if name not in publishers:
            problems.append(f"publishers.{name}: unknown publisher; available: {', '.join(sorted(publishers))}")
            continue
        try:
            result["publishers"][name] = publishers[name].Options.model_validate(raw or {})
        except ValidationError as exc:
            problems.append(format_validation_error(exc, ("publishers", name), lines, settings.source_file))
    providers = manager.backends("broll")
    result["broll"] = {}
    listed = ", ".join(sorted(providers))
    for name in settings.broll.providers:
        if name not in providers:
            problems.append(f"broll.providers: no B-roll provider called {name!r}; available: {listed}")
    for name in sorted(set(settings.broll.sections()) | (set(settings.broll.providers) & set(providers))):
        raw = settings.broll.sections().get(name) or {}
        if name not in providers:
            problems.append(f"broll.{name}: no B-roll provider called {name!r}; available: {listed}")
        elif not isinstance(raw, dict):
            problems.append(f"broll.{name}: expected a mapping of options, got {type(raw).__name__}")
        else:
            try:
                result["broll"][name] = providers[name].Options.model_validate(raw)
            except ValidationError as exc:
                problems.append(format_validation_error(exc, ("broll", name), lines, settings.source_file))
    sources = manager.backends("source")
    for i, src in enumerate(settings.sources.watch):
        if src.kind not in sources:
            problems.append(
                f"sources.watch.{i}.kind: unknown source kind {src.kind!r}; available: {', '.join(sorted(sources))}"
            )
            continue
        try:
            sources[src.kind].Options.model_validate(src.preset.get("options") or {})
        except ValidationError as exc:
            problems.append(
                format_validation_error(
                    exc, ("sources", "watch", str(i), "preset", "options"), lines, settings.source_file
                )
            )
    if problems:
        raise ConfigError(f"invalid configuration in {settings.source_file or 'defaults'}:\n" + "\n".join(problems))
    return result


def make_backend(settings: Settings, section: str, name: str | None = None) -> Any:
    """Instantiate the configured (or named) backend of a section: 'stt', 'llm', 'storage', 'publishers' or
    'broll' (a B-roll provider, always named)."""
    from core.plugins import get_manager

    if section == "publishers":
        kind, name, raw = "publisher", name, settings.publishers.get(name or "") or {}
    elif section == "broll":
        kind, raw = "broll", settings.broll.sections().get(name or "") or {}
    else:
        choice: BackendSection = getattr(settings, section)
        kind, name = _SECTION_KIND[section], name or choice.backend
        raw = choice.sections().get(name) or {}
    cls = get_manager().backend(kind, name or "")
    try:
        return cls(cls.Options.model_validate(raw))
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, (section, name or ""), None, settings.source_file))


def effective_config(settings: Settings) -> dict[str, Any]:
    """The configuration as it will be used, with every secret masked (for ``clipcast config check``)."""
    data = settings.model_dump(mode="json")
    data["database_url"] = _mask_url(settings.effective_database_url)
    if settings.redis_url:
        data["redis_url"] = _mask_url(settings.redis_url)
    opts = backend_options(settings)
    for section in _SECTION_KIND:
        for name, model in opts[section].items():
            data[section][name] = model.model_dump(mode="json")
    for name, model in opts["publishers"].items():
        data["publishers"][name] = model.model_dump(mode="json")
    for name, model in opts["broll"].items():
        data["broll"][name] = model.model_dump(mode="json")
    return data


def _mask_url(url: str) -> str:
    return re.sub(r"(://[^:/@]+:)[^@]+@", r"\1****@", url)


def secret_values(settings: Settings) -> list[str]:
    """Every secret string in the configuration, for the log redactor."""
    found: list[str] = []

    def walk(obj: Any) -> None:
        if isinstance(obj, SecretStr):
            value = obj.get_secret_value()
            if value:
                found.append(value)
        elif isinstance(obj, BaseModel):
            for name in type(obj).model_fields:
                walk(getattr(obj, name))
        elif isinstance(obj, dict):
            for v in obj.values():
                walk(v)

    walk(settings)
    try:
        walk(backend_options(settings))
    except ConfigError:
        pass
    for key in ("database_url", "redis_url"):
        url = getattr(settings, key) or ""
        m = re.search(r"://[^:/@]+:([^@]+)@", url)
        if m:
            found.append(m.group(1))
    return found
