"""YouTube Shorts through the YouTube Data API v3: Google OAuth (offline access) and the resumable upload protocol.

A Short is an ordinary ``videos.insert`` of a vertical or square video of at most 3 minutes. The upload starts
a session (200 + ``Location``), then PUTs chunks; each non-final chunk is answered 308 with a ``Range`` of the
bytes stored, and the client always continues from that ``Range``. After a broken connection it asks the
session how far it got (``Content-Range: bytes */TOTAL``) and resumes. The session URI is checkpointed, so a
worker that dies mid-upload (or right after the last byte) is recovered by probing the same session: the video
only exists once the last byte arrived, and then the probe returns it instead of a second upload happening.

Plain HTTP (requests) rather than google-api-python-client keeps every base URL configurable for local tests.
Unverified API projects: YouTube locks their uploads to private; preflight says so unless
``project_verified`` is set.
"""

from __future__ import annotations

from datetime import UTC
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from clipcast import (
    MetricsStatus,
    PermanentError,
    PostMetrics,
    PostStatus,
    Publisher,
    PublishRequest,
    PublishResult,
    RetryableError,
    add_secret,
    hookimpl,
    oauth,
)
from plugins.publishers.http import (
    METRICS_RETRIES,
    TRANSIENT,
    HttpClient,
    PlatformError,
    RateLimited,
    granted_scopes,
    json_or_empty,
    retry_after,
    secret_value,
)

CHUNK_MULTIPLE = 256 * 1024
READ_SCOPE = "https://www.googleapis.com/auth/youtube.readonly"
ANALYTICS_SCOPE = "https://www.googleapis.com/auth/yt-analytics.readonly"
SCOPES = ["https://www.googleapis.com/auth/youtube.upload", READ_SCOPE, ANALYTICS_SCOPE]
#: YouTube Analytics report columns → Clipcast metric names.
ANALYTICS_METRICS = {
    "averageViewDuration": "avg_view_seconds",
    "averageViewPercentage": "avg_view_percent",
    "shares": "shares",
}
THROTTLE_REASONS = {"rateLimitExceeded", "userRateLimitExceeded"}
SCOPE_REASONS = {"insufficientPermissions", "forbidden", "ACCESS_TOKEN_SCOPE_INSUFFICIENT"}


def google_reason(res: Any) -> tuple[str, str]:
    err = json_or_empty(res).get("error") or {}
    if not isinstance(err, dict):
        return str(err), ""
    reasons = err.get("errors") or [{}]
    return str(reasons[0].get("reason") or ""), str(err.get("message") or "")


def map_error(res: Any, during: str) -> Exception:
    """A clear Clipcast error for a Google error response."""
    reason, message = google_reason(res)
    if reason == "quotaExceeded":
        return PlatformError(
            "the YouTube API quota of this Google Cloud project is used up; it resets at midnight Pacific Time",
            "post later, or ask Google for more quota (YouTube API audit form)",
            retryable=True,
        )
    if reason == "uploadLimitExceeded":
        return PlatformError(
            "this YouTube channel has reached its own 24-hour upload limit",
            "try again in 24 hours",
            retryable=True,
        )
    if reason in ("rateLimitExceeded", "userRateLimitExceeded") or res.status_code in TRANSIENT:
        return RetryableError(f"YouTube is throttling or unavailable during {during} (HTTP {res.status_code})")
    if reason == "youtubeSignupRequired":
        return PlatformError("the Google account has no YouTube channel", "create a channel, then reconnect")
    if reason == "forbiddenPrivacySetting":
        return PlatformError("YouTube refused the privacy setting for this channel", "post as private")
    if reason == "invalidPublishAt":
        return PlatformError("YouTube refused the scheduled time (publishAt)", "use a future time; it implies private")
    return PlatformError(f"YouTube refused {during}: HTTP {res.status_code} {reason} {message}".strip())


class YouTubePublisher(Publisher):
    name = "youtube"
    description = "YouTube Shorts (Data API v3, resumable upload)"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        client_id: str | None = None
        client_secret: SecretStr | None = None
        auth_url: str = "https://accounts.google.com/o/oauth2/v2/auth"
        token_url: str = "https://oauth2.googleapis.com/token"
        revoke_url: str = "https://oauth2.googleapis.com/revoke"
        api_base: str = Field("https://www.googleapis.com/youtube/v3", description="Data API base URL")
        analytics_base: str = Field(
            "https://youtubeanalytics.googleapis.com/v2", description="YouTube Analytics API base URL (watch time)"
        )
        upload_base: str = Field("https://www.googleapis.com/upload/youtube/v3", description="upload base URL")
        scopes: list[str] = Field(default_factory=lambda: list(SCOPES))
        privacy: str = Field("private", description="public | unlisted | private (scheduled posts are private)")
        category_id: str = "22"
        made_for_kids: bool = False
        notify_subscribers: bool = True
        project_verified: bool = Field(
            False, description="the API project passed Google's audit; until then YouTube forces uploads private"
        )
        max_seconds: float = Field(180, gt=0, description="longest Short (3 minutes for uploads since 2024-10-15)")
        chunk_bytes: int = Field(8 * 1024 * 1024, gt=0, description="upload chunk size; a multiple of 256 KiB")
        retries: int = Field(8, ge=0, description="retries per chunk after a broken connection or 5xx")
        backoff_seconds: float = Field(1.0, ge=0)

        @field_validator("chunk_bytes")
        @classmethod
        def _multiple(cls, v: int) -> int:
            if v % CHUNK_MULTIPLE:
                raise ValueError(f"must be a multiple of {CHUNK_MULTIPLE} bytes (256 KiB)")
            return v

    def __init__(self, options: BaseModel | None = None) -> None:
        super().__init__(options)
        add_secret(secret_value(self.options.client_secret))
        self.http = HttpClient("youtube", retries=self.options.retries, backoff=self.options.backoff_seconds)
        self.metrics_http = HttpClient("youtube", retries=METRICS_RETRIES, backoff=self.options.backoff_seconds)

    # ------------------------------------------------------------------------------------------ accounts

    def bind(self, settings: Any) -> None:
        self.http.bind(settings)
        self.metrics_http.bind(settings)

    def oauth_client(self) -> oauth.OAuthClient:
        o = self.options
        return oauth.OAuthClient(
            platform=self.name,
            auth_url=o.auth_url,
            token_url=o.token_url,
            client_id=o.client_id or "",
            client_secret=secret_value(o.client_secret),
            scopes=o.scopes,
            extra_params={"access_type": "offline", "prompt": "consent", "include_granted_scopes": "true"},
            revoke_url=o.revoke_url,
        )

    def connect_account(self, token: dict[str, Any]) -> dict[str, Any]:
        if not token.get("refresh_token"):
            raise PermanentError(
                "Google returned no refresh token, so posting would stop within an hour",
                "remove Clipcast's access in your Google account's security settings and connect again",
            )
        from clipcast import AccountHandle

        h = AccountHandle(None, self.name, token=token)
        res = self.http.request(
            "GET", f"{self.options.api_base}/channels", account=h, params={"part": "snippet", "mine": "true"}
        )
        if res.status_code != 200:
            raise map_error(res, "reading the channel")
        items = json_or_empty(res).get("items") or []
        if not items:
            raise PlatformError("the Google account has no YouTube channel", "create a channel, then connect again")
        return {
            "remote_id": items[0]["id"],
            "name": items[0].get("snippet", {}).get("title") or items[0]["id"],
            "token": token,
            "meta": {"channel_id": items[0]["id"]},
        }

    def refresh_token(self, account: Any) -> dict[str, Any] | None:
        refresh = account.token.get("refresh_token")
        if not refresh:
            raise oauth.OAuthError("the YouTube account has no refresh token")
        return oauth.refresh(self.oauth_client(), refresh)

    def revoke(self, account: Any) -> bool:
        return oauth.revoke(self.oauth_client(), account.token.get("refresh_token") or account.access_token)

    # ------------------------------------------------------------------------------------------ preflight

    def _privacy(self, request: PublishRequest) -> str:
        privacy = request.privacy or self.options.privacy
        return "private" if request.publish_at and not request.privacy else privacy

    def describe(self, request: PublishRequest) -> dict[str, Any]:
        text = self._description(request)
        return {"title": request.title or request.caption[:100], "text": text, "text_length": len(text.encode()),
                "title_limit": 100, "text_limit": 5000, "privacy": self._privacy(request)}  # fmt: skip

    def preflight(self, request: PublishRequest, account: Any) -> list[str]:
        problems = []
        path = Path(request.video_path)
        if not path.is_file():
            return [f"the rendered video {path} is missing"]
        duration = request.duration
        try:
            from clipcast.media import probe

            info = probe(path)
            duration = info.duration or duration
            if info.width and info.height and info.width > info.height:
                problems.append(f"the video is landscape ({info.width}x{info.height}); Shorts are vertical or square")
        except PermanentError as exc:
            problems.append(str(exc))
        if duration and duration > self.options.max_seconds:
            problems.append(
                f"the clip is {duration:.1f} s long; YouTube Shorts allow at most {self.options.max_seconds:g} s"
            )
        title = request.title or request.caption[:100]
        if len(title) > 100:
            problems.append(f"the title is {len(title)} characters; YouTube allows 100")
        if any(c in title + request.caption for c in "<>"):
            problems.append("YouTube titles and descriptions may not contain '<' or '>'")
        if len(self._description(request).encode()) > 5000:
            problems.append("the description is longer than YouTube's 5000 bytes")
        if len(",".join(self._tags(request))) > 500:
            problems.append("the tags are longer than YouTube's 500 characters in total")
        privacy = self._privacy(request)
        if privacy not in ("public", "unlisted", "private"):
            problems.append(f"unknown YouTube privacy {privacy!r}; use public, unlisted or private")
        if request.publish_at and privacy != "private":
            problems.append("a scheduled YouTube post (publishAt) must be private until its time; drop the privacy")
        if privacy != "private" and not self.options.project_verified:
            problems.append(
                f"{privacy} upload requested, but unverified Google API projects can only post private videos "
                "(YouTube would lock it to private): post as private, or set "
                "publishers.youtube.project_verified: true once Google has audited the project"
            )
        return problems

    # ------------------------------------------------------------------------------------------ upload

    def _tags(self, request: PublishRequest) -> list[str]:
        return [t.lstrip("#") for t in request.hashtags if t.strip("#")]

    def _description(self, request: PublishRequest) -> str:
        tags = " ".join(h if h.startswith("#") else f"#{h}" for h in request.hashtags)
        return (request.caption + ("\n\n" + tags if tags else "")).strip()

    def _body(self, request: PublishRequest) -> dict[str, Any]:
        status: dict[str, Any] = {
            "privacyStatus": self._privacy(request),
            "selfDeclaredMadeForKids": bool(request.options.get("made_for_kids", self.options.made_for_kids)),
        }
        if request.publish_at:
            at = request.publish_at.astimezone(UTC) if request.publish_at.tzinfo else request.publish_at
            status["publishAt"] = at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        return {
            "snippet": {
                "title": (request.title or request.caption)[:100] or "Short",
                "description": self._description(request),
                "tags": self._tags(request),
                "categoryId": str(request.options.get("category_id", self.options.category_id)),
            },
            "status": status,
        }

    def _start_session(self, request: PublishRequest, account: Any, size: int) -> str:
        params = {
            "uploadType": "resumable",
            "part": "snippet,status",
            "notifySubscribers": str(self.options.notify_subscribers).lower(),
        }
        headers = {
            "Content-Type": "application/json; charset=UTF-8",
            "X-Upload-Content-Length": str(size),
            "X-Upload-Content-Type": "video/mp4",
        }
        res = self.http.request(
            "POST",
            f"{self.options.upload_base}/videos",
            account=account,
            params=params,
            json=self._body(request),
            headers=headers,
        )
        if res.status_code != 200 or not res.headers.get("Location"):
            raise map_error(res, "starting the upload")
        return res.headers["Location"]

    def _probe(self, session_uri: str, size: int, account: Any) -> tuple[int | None, dict[str, Any] | None]:
        """Ask the session how far it got: (next offset, None), (None, video) when complete, (None, None) when gone."""
        res = self.http.request(
            "PUT",
            session_uri,
            account=account,
            data=b"",
            headers={"Content-Range": f"bytes */{size}", "Content-Length": "0"},
        )
        if res.status_code in (200, 201):
            return None, json_or_empty(res)
        if res.status_code == 308:
            rng = res.headers.get("Range")
            return (int(rng.split("-")[1]) + 1 if rng else 0), None
        if res.status_code in (404, 410):
            return None, None
        raise map_error(res, "checking the upload session")

    def _send(
        self, session_uri: str, path: Path, size: int, offset: int, request: PublishRequest, account: Any
    ) -> dict[str, Any]:
        """PUT chunks from ``offset`` until YouTube returns the video; resume from the server's Range on trouble."""
        failures = 0
        with open(path, "rb") as f:
            while True:
                f.seek(offset)
                chunk = f.read(self.options.chunk_bytes)
                end = offset + len(chunk) - 1
                headers = {"Content-Type": "video/mp4", "Content-Range": f"bytes {offset}-{end}/{size}"}
                try:
                    res = self.http.request(
                        "PUT", session_uri, account=account, retry=False, data=chunk, headers=headers
                    )
                except RetryableError:
                    res = None
                if res is not None and res.status_code in (200, 201):
                    return json_or_empty(res)
                if res is not None and res.status_code == 308:
                    rng = res.headers.get("Range")
                    offset = int(rng.split("-")[1]) + 1 if rng else 0
                    failures = 0
                    request.save_checkpoint(offset=offset)
                    continue
                if res is not None and res.status_code in (404, 410):
                    raise RetryableError("the YouTube upload session expired; the next attempt starts a new one")
                if res is not None and res.status_code not in TRANSIENT:
                    raise map_error(res, "uploading the video")
                failures += 1
                if failures > self.options.retries:
                    raise RetryableError(
                        "the YouTube upload keeps failing; it will resume from the saved session later"
                    )
                self.http.sleep(failures - 1)
                next_offset, video = self._probe(session_uri, size, account)
                if video:
                    return video
                if next_offset is None:
                    raise RetryableError("the YouTube upload session expired; the next attempt starts a new one")
                offset = next_offset

    def publish(self, request: PublishRequest, account: Any) -> PublishResult:
        path = Path(request.video_path)
        size = path.stat().st_size
        session_uri, offset = request.resume.get("session_uri"), 0
        if session_uri and request.resume.get("size") == size:
            offset, video = self._probe(session_uri, size, account)
            if video:
                return self._uploaded(video)
            if offset is None:
                session_uri = None
        if not session_uri:
            session_uri, offset = self._start_session(request, account, size), 0
            request.save_checkpoint(session_uri=session_uri, size=size, offset=0)
        video = self._send(session_uri, path, size, offset or 0, request, account)
        return self._uploaded(video)

    def _uploaded(self, video: dict[str, Any]) -> PublishResult:
        if not video.get("id"):
            raise PlatformError("YouTube finished the upload but returned no video id")
        return PublishResult(status=PostStatus.PROCESSING, remote_id=video["id"])

    def recover(self, request: PublishRequest, account: Any) -> PublishResult | None:
        session_uri, size = request.resume.get("session_uri"), request.resume.get("size")
        if not session_uri or not size:
            return None  # the session never started: nothing exists on the channel
        _offset, video = self._probe(session_uri, int(size), account)
        return self._uploaded(video) if video else None

    def check_status(self, remote_id: str, account: Any) -> PublishResult:
        res = self.http.request(
            "GET",
            f"{self.options.api_base}/videos",
            account=account,
            params={"part": "status,processingDetails", "id": remote_id},
        )
        if res.status_code != 200:
            raise map_error(res, "checking the video")
        items = json_or_empty(res).get("items") or []
        if not items:
            return PublishResult(
                status=PostStatus.FAILED, remote_id=remote_id, error="the video no longer exists on YouTube"
            )
        status = items[0].get("status", {})
        upload = status.get("uploadStatus")
        if upload == "processed":
            return PublishResult(
                status=PostStatus.PUBLISHED,
                remote_id=remote_id,
                remote_post_id=remote_id,
                url=f"https://www.youtube.com/shorts/{remote_id}",
            )
        if upload in ("failed", "rejected", "deleted"):
            why = status.get("failureReason") or status.get("rejectionReason") or upload
            return PublishResult(
                status=PostStatus.FAILED, remote_id=remote_id, error=f"YouTube {upload} the video: {why}"
            )
        return PublishResult(status=PostStatus.PROCESSING, remote_id=remote_id)

    # ------------------------------------------------------------------------------------------ metrics

    def fetch_metrics(self, remote_id: str, account: Any) -> PostMetrics:
        """``videos.list?part=statistics`` (1 quota unit: views, likes, comments) and, with the
        ``yt-analytics.readonly`` scope, the Analytics API's per-video report (watch time, shares)."""
        res = self.metrics_http.request(
            "GET",
            f"{self.options.api_base}/videos",
            account=account,
            params={"part": "statistics,snippet", "id": remote_id},
        )
        reason, _message = google_reason(res)
        if res.status_code == 429 or reason in THROTTLE_REASONS:
            raise RateLimited("YouTube is throttling statistics reads", retry_after(res))
        if res.status_code == 403 and reason in SCOPE_REASONS:
            return PostMetrics(
                status=MetricsStatus.MISSING_SCOPE, missing_scopes=[READ_SCOPE], requests=1, quota_units=1
            )
        if res.status_code != 200:
            raise map_error(res, "reading the video's statistics")
        items = json_or_empty(res).get("items") or []
        if not items:
            return PostMetrics(
                status=MetricsStatus.NOT_FOUND,
                detail="the video no longer exists on YouTube",
                requests=1,
                quota_units=1,
            )
        stats = items[0].get("statistics") or {}
        names = {"viewCount": "views", "likeCount": "likes", "commentCount": "comments"}
        values = {name: float(stats[key]) for key, name in names.items() if str(stats.get(key, "")).isdigit()}
        out = PostMetrics(values=values, requests=1, quota_units=1)
        scopes = granted_scopes(account)
        if scopes is not None and ANALYTICS_SCOPE not in scopes:
            out.missing_scopes.append(ANALYTICS_SCOPE)
            return out
        published = str((items[0].get("snippet") or {}).get("publishedAt") or "")[:10] or "2005-04-23"
        self._analytics(remote_id, published, account, out)
        return out

    def _analytics(self, video_id: str, start: str, account: Any, out: PostMetrics) -> None:
        from datetime import datetime

        params = {
            "ids": "channel==MINE",
            "startDate": start,
            "endDate": datetime.now(UTC).strftime("%Y-%m-%d"),
            "metrics": ",".join(ANALYTICS_METRICS),
            "filters": f"video=={video_id}",
        }
        res = self.metrics_http.request("GET", f"{self.options.analytics_base}/reports", account=account, params=params)
        out.requests += 1
        reason, message = google_reason(res)
        if res.status_code == 429 or reason in THROTTLE_REASONS:
            raise RateLimited("YouTube Analytics is throttling report reads", retry_after(res))
        if res.status_code == 403 and reason in SCOPE_REASONS:
            out.missing_scopes.append(ANALYTICS_SCOPE)
            return
        if res.status_code != 200:
            out.detail = f"YouTube Analytics answered HTTP {res.status_code} {reason} {message}".strip()
            return
        body = json_or_empty(res)
        headers = [h.get("name") for h in body.get("columnHeaders") or []]
        rows = body.get("rows") or []
        if not rows:
            out.detail = "YouTube Analytics has no watch-time data for the video yet"
            return
        for name, value in zip(headers, rows[0], strict=False):
            if name in ANALYTICS_METRICS and isinstance(value, int | float):
                out.values[ANALYTICS_METRICS[name]] = float(value)


@hookimpl
def register_publishers(register):  # type: ignore[no-untyped-def]
    register(YouTubePublisher)
