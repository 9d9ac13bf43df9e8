"""TikTok through the Content Posting API v2: Login Kit OAuth (client_key, comma scopes, PKCE, rotating refresh
tokens), creator_info before every Direct Post, FILE_UPLOAD in documented chunks, optional upload-to-inbox
(draft) mode, and status polling.

Chunk rules (media transfer guide): ``total_chunk_count = floor(size / chunk_size)`` and the last chunk takes the
remainder (so it may be larger, up to 128 MB); every non-final chunk is 5-64 MB; files under 5 MB go as one
chunk; files over 64 MB must be chunked; at most 1000 chunks, sent in order. "MB" is ambiguous in the docs, so
``megabyte`` is an option (default 10^6, the docs' worked example); 10 MB chunks satisfy both readings.

Once ``video/init`` returns a ``publish_id`` it is checkpointed as the post's remote id before a byte is sent,
with the upload URL (a bearer credential for an hour: encrypted with the installation's secret key, like tokens,
and never logged) and, after each chunk, the next chunk's index. Taking over an interrupted post: ``recover``
asks the status endpoint (a finished upload goes on to status checks); otherwise ``publish`` resumes the same
upload from the checkpointed chunk, re-aligning to the progress TikTok reports in a 416 answer. A complete
upload (progress == size, e.g. the answer to the final chunk was lost) is complete, never a failure. When the
upload URL has expired (403/404) and the upload was not complete, the post is initialised again: TikTok never
publishes an upload it did not receive in full. The per-token rate limits (init 6/min, creator_info 20/min,
status 30/min) are kept client-side with a sliding window.

Preflight knows TikTok's audit rule: an app that TikTok has not audited (``audited: false``, the default) may
only post ``SELF_ONLY``; set ``audited: true`` once TikTok has approved the app.
"""

from __future__ import annotations

import collections
import re
import threading
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

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
    decrypt_json,
    encrypt_json,
    hookimpl,
    oauth,
)
from plugins.publishers.http import (
    METRICS_RETRIES,
    HttpClient,
    PlatformError,
    RateLimited,
    granted_scopes,
    json_or_empty,
    retry_after,
    secret_value,
)

PRIVACY_LEVELS = ("PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR", "SELF_ONLY")

#: error.code → (message, hint, retryable later)
ERRORS: dict[str, tuple[str, str, bool]] = {
    "spam_risk_too_many_posts": ("the account reached TikTok's daily API post limit", "try again tomorrow", True),
    "spam_risk_user_banned_from_posting": ("TikTok has banned this account from posting", "check the account", False),
    "reached_active_user_cap": (
        "the app reached TikTok's daily quota of active posting users",
        "try again tomorrow or ask TikTok for more quota",
        True,
    ),
    "unaudited_client_can_only_post_to_private_accounts": (
        "this TikTok app is not audited yet, so it can only post to private accounts (and only as SELF_ONLY)",
        "make the TikTok account private, or get the app audited by TikTok",
        False,
    ),
    "privacy_level_option_mismatch": (
        "the privacy level is not one this TikTok account offers",
        "pick one of the account's privacy_level_options",
        False,
    ),
    "spam_risk_too_many_pending_share": (
        "the account has 5 unposted inbox drafts from the last 24 hours (TikTok's limit)",
        "post or delete drafts in the TikTok app",
        True,
    ),
    "url_ownership_unverified": ("the video URL's domain is not verified for this app", "use FILE_UPLOAD", False),
    "scope_not_authorized": (
        "the TikTok account did not grant the needed scope",
        "reconnect and approve video.publish / video.upload",
        False,
    ),
}
RETRYABLE_FAIL_REASONS = {"internal"}
#: video/query fields → Clipcast metric names.
VIDEO_FIELDS = {"view_count": "views", "like_count": "likes", "comment_count": "comments", "share_count": "shares"}


class UploadExpired(RetryableError):
    """The checkpointed upload URL no longer works (TikTok's one hour passed): initialise the post again."""


class RateLimiter:
    """Sliding one-minute windows per (token, endpoint). Waits up to ``max_wait`` seconds, else RetryableError."""

    def __init__(self, max_wait: float) -> None:
        self.max_wait = max_wait
        self.calls: dict[tuple[str, str], collections.deque[float]] = collections.defaultdict(collections.deque)
        self.lock = threading.Lock()

    def acquire(self, key: tuple[str, str], per_minute: int) -> None:
        while True:
            with self.lock:
                window = self.calls[key]
                now = time.monotonic()
                while window and now - window[0] >= 60:
                    window.popleft()
                if len(window) < per_minute:
                    window.append(now)
                    return
                wait = 60 - (now - window[0])
            if wait > self.max_wait:
                raise RetryableError(
                    f"TikTok allows {per_minute} {key[1]} calls per minute; waiting {wait:.0f} s", retry_after=wait
                )
            time.sleep(wait)


def plan_chunks(size: int, chunk_size: int, megabyte: int = 1_000_000) -> tuple[int, int]:
    """(chunk_size, total_chunk_count) for a file of ``size`` bytes, following TikTok's rules."""
    if size <= 0:
        raise PermanentError("the video file is empty")
    if size > 4 * 1024**3:
        raise PermanentError(f"the video is {size / 1e9:.2f} GB; TikTok accepts at most 4 GB")
    if size < 5 * megabyte:
        return size, 1
    if not 5 * megabyte <= chunk_size <= 64 * megabyte:
        raise PermanentError(f"chunk size {chunk_size} is outside TikTok's 5-64 MB range")
    if size <= 64 * megabyte and size <= chunk_size:
        return size, 1
    count = size // chunk_size
    if count < 2 and size > 64 * megabyte:
        raise PermanentError("files over 64 MB must go in several chunks; lower publishers.tiktok.chunk_bytes")
    if count > 1000:
        raise PermanentError("the video would need more than 1000 chunks; raise publishers.tiktok.chunk_bytes")
    if size - (count - 1) * chunk_size > 128 * megabyte:
        raise PermanentError("the last chunk would exceed 128 MB; raise publishers.tiktok.chunk_bytes")
    return chunk_size, count


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class TikTokPublisher(Publisher):
    name = "tiktok"
    description = "TikTok (Content Posting API: Direct Post or inbox drafts)"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        client_key: str | None = None
        client_secret: SecretStr | None = None
        auth_url: str = "https://www.tiktok.com/v2/auth/authorize/"
        token_url: str = "https://open.tiktokapis.com/v2/oauth/token/"
        revoke_url: str = "https://open.tiktokapis.com/v2/oauth/revoke/"
        api_base: str = Field("https://open.tiktokapis.com", description="Content Posting API host")
        api_version: str = "v2"
        scopes: list[str] = Field(
            default_factory=lambda: ["user.info.basic", "video.publish", "video.upload", "video.list"],
            description="video.list lets Clipcast read the posts' view, like, comment and share counts",
        )
        pkce_encoding: str = Field("base64url", description="base64url (RFC 7636) or hex; TikTok reports differ")
        mode: str = Field("direct", description="direct (Direct Post) or inbox (draft the creator finishes in the app)")
        privacy_level: str = Field("SELF_ONLY", description="must be one of the account's privacy_level_options")
        audited: bool = Field(
            False, description="TikTok has audited this app; until then it may only post SELF_ONLY (private)"
        )
        disable_comment: bool = False
        disable_duet: bool = False
        disable_stitch: bool = False
        brand_content_toggle: bool = False
        brand_organic_toggle: bool = False
        is_aigc: bool = False
        chunk_bytes: int = Field(10_000_000, gt=0, description="non-final chunk size, 5-64 MB")
        megabyte: int = Field(1_000_000, description="bytes per MB in TikTok's chunk rules (10^6 or 2^20)")
        max_caption_chars: int = Field(2200, description="UTF-16 code units")
        retries: int = Field(5, ge=0)
        backoff_seconds: float = Field(1.0, ge=0)
        rate_limit_wait_seconds: float = Field(20, ge=0, description="longest client-side wait for a rate limit")

        @model_validator(mode="after")
        def _check(self) -> TikTokPublisher.Options:
            if not 5 * self.megabyte <= self.chunk_bytes <= 64 * self.megabyte:
                raise ValueError(f"chunk_bytes must be 5-64 MB ({5 * self.megabyte}-{64 * self.megabyte} bytes)")
            if self.mode not in ("direct", "inbox"):
                raise ValueError("mode must be direct or inbox")
            if self.privacy_level not in PRIVACY_LEVELS:
                raise ValueError(f"privacy_level must be one of {', '.join(PRIVACY_LEVELS)}")
            if self.pkce_encoding not in ("base64url", "hex"):
                raise ValueError("pkce_encoding must be base64url or hex")
            return self

    def __init__(self, options: BaseModel | None = None) -> None:
        super().__init__(options)
        add_secret(secret_value(self.options.client_secret))
        self.http = HttpClient("tiktok", retries=self.options.retries, backoff=self.options.backoff_seconds)
        self.limits = RateLimiter(self.options.rate_limit_wait_seconds)
        self.metrics_http = HttpClient("tiktok", retries=METRICS_RETRIES, backoff=self.options.backoff_seconds)
        self.secret_key: Any = None

    def bind(self, settings: Any) -> None:
        self.secret_key = settings.secret_key
        self.http.bind(settings)
        self.metrics_http.bind(settings)

    def _url(self, path: str) -> str:
        return f"{self.options.api_base.rstrip('/')}/{self.options.api_version}/{path.lstrip('/')}"

    # ------------------------------------------------------------------------------------------ accounts

    def oauth_client(self) -> oauth.OAuthClient:
        o = self.options
        return oauth.OAuthClient(
            platform=self.name,
            auth_url=o.auth_url,
            token_url=o.token_url,
            client_id=o.client_key or "",
            client_secret=secret_value(o.client_secret),
            scopes=o.scopes,
            scope_separator=",",
            client_id_param="client_key",
            client_auth="body",
            pkce_encoding=o.pkce_encoding,
            revoke_url=o.revoke_url,
        )

    def connect_account(self, token: dict[str, Any]) -> dict[str, Any]:
        scope = token.get("scope") or ""
        items = scope if isinstance(scope, list) else str(scope).replace(" ", ",").split(",")
        granted = {part.strip() for item in items for part in str(item).split(",") if part.strip()}
        needed = {"video.upload"} if self.options.mode == "inbox" else {"video.publish"}
        if not needed <= granted:
            raise PlatformError(
                f"the TikTok account granted {', '.join(sorted(granted)) or 'no scopes'}, not {', '.join(needed)}",
                "connect again and approve posting",
            )
        from clipcast import AccountHandle

        h = AccountHandle(None, self.name, token=token)
        res = self.http.request(
            "GET", self._url("user/info/"), account=h, params={"fields": "open_id,display_name,username"}
        )
        user = (self._data(res, "reading the user") or {}).get("user", {})
        open_id = user.get("open_id") or token.get("open_id")
        return {
            "remote_id": open_id,
            "name": user.get("display_name") or user.get("username") or open_id,
            "token": token,
            "meta": {"open_id": open_id, "username": user.get("username")},
        }

    def refresh_token(self, account: Any) -> dict[str, Any] | None:
        refresh = account.token.get("refresh_token")
        if not refresh:
            raise oauth.OAuthError("the TikTok account has no refresh token")
        return oauth.refresh(self.oauth_client(), refresh)  # rotated: the caller stores the new one at once

    def revoke(self, account: Any) -> bool:
        return oauth.revoke(self.oauth_client(), account.access_token)

    # ------------------------------------------------------------------------------------------ API calls

    def _data(self, res: Any, during: str) -> dict[str, Any]:
        body = json_or_empty(res)
        error = body.get("error") or {}
        code = error.get("code", "ok") if isinstance(error, dict) else str(error)
        if res.status_code == 200 and code == "ok":
            return body.get("data") or {}
        if code in ERRORS:
            message, hint, retryable = ERRORS[code]
            raise PlatformError(f"TikTok: {message}", hint, retryable=retryable)
        if res.status_code == 429 or code == "rate_limit_exceeded" or res.status_code >= 500:
            raise RetryableError(f"TikTok is throttling or unavailable during {during} (HTTP {res.status_code})")
        if res.status_code == 401 or code == "access_token_invalid":
            raise PlatformError("TikTok rejected the access token", "reconnect the account")
        raise PlatformError(f"TikTok refused {during}: HTTP {res.status_code} {code} {error.get('message', '')}")

    def _post(self, path: str, account: Any, body: dict[str, Any] | None, *, limit: int, retry: bool = True) -> Any:
        self.limits.acquire((account.access_token[-12:], path), limit)
        headers = {"Content-Type": "application/json; charset=UTF-8"}
        return self.http.request("POST", self._url(path), account=account, json=body, headers=headers, retry=retry)

    def creator_info(self, account: Any) -> dict[str, Any]:
        res = self._post("post/publish/creator_info/query/", account, None, limit=20)
        return self._data(res, "reading creator info")

    # ------------------------------------------------------------------------------------------ preflight

    def _problems(self, request: PublishRequest, info: dict[str, Any] | None) -> list[str]:
        problems = []
        path = Path(request.video_path)
        if not path.is_file():
            return [f"the rendered video {path} is missing"]
        try:
            plan_chunks(path.stat().st_size, self.options.chunk_bytes, self.options.megabyte)
        except PermanentError as exc:
            problems.append(str(exc))
        caption = self._caption(request)
        if utf16_len(caption) > self.options.max_caption_chars:
            problems.append(
                f"the caption is {utf16_len(caption)} UTF-16 units; TikTok allows {self.options.max_caption_chars}"
            )
        privacy = request.privacy or self.options.privacy_level
        if self.options.mode == "direct" and not self.options.audited and privacy != "SELF_ONLY":
            problems.append(
                f"privacy {privacy}: an unaudited TikTok app may only post SELF_ONLY "
                "(set publishers.tiktok.audited: true once TikTok has audited the app)"
            )
        if info is not None:
            offered = info.get("privacy_level_options") or []
            if privacy not in offered:
                problems.append(
                    f"privacy {privacy} is not offered by this TikTok account (it offers {', '.join(offered)})"
                )
            limit = info.get("max_video_post_duration_sec")
            if limit and request.duration and request.duration > float(limit):
                problems.append(
                    f"the clip is {request.duration:.1f} s long; this TikTok account may post at most {limit} s"
                )
        return problems

    def describe(self, request: PublishRequest) -> dict[str, Any]:
        text = self._caption(request)  # TikTok has no title: the caption is the post's text
        inbox = self.options.mode == "inbox"
        privacy = "a draft in the creator's TikTok inbox" if inbox else request.privacy or self.options.privacy_level
        return {"title": None, "text": text, "text_length": utf16_len(text), "title_limit": None,
                "text_limit": self.options.max_caption_chars, "privacy": privacy}  # fmt: skip

    def preflight(self, request: PublishRequest, account: Any) -> list[str]:
        problems = []
        try:
            from clipcast.media import probe

            media = probe(Path(request.video_path))
            request.duration = media.duration or request.duration
            for side in (media.width, media.height):
                if side is not None and not 360 <= side <= 4096:
                    problems.append(f"TikTok needs 360-4096 pixels per side; the video is {media.width}x{media.height}")
                    break
            if media.fps and not 23 <= media.fps <= 60:
                problems.append(f"TikTok needs 23-60 fps; the video has {media.fps:.1f}")
        except PermanentError as exc:
            problems.append(str(exc))
        info = self.creator_info(account) if self.options.mode == "direct" else None
        return problems + self._problems(request, info)

    # ------------------------------------------------------------------------------------------ publish

    def _caption(self, request: PublishRequest) -> str:
        tags = " ".join(h if h.startswith("#") else f"#{h}" for h in request.hashtags if h not in request.caption)
        return (request.caption + (" " + tags if tags else "")).strip()

    def init_body(self, request: PublishRequest, size: int) -> dict[str, Any]:
        chunk_size, count = plan_chunks(size, self.options.chunk_bytes, self.options.megabyte)
        source = {"source": "FILE_UPLOAD", "video_size": size, "chunk_size": chunk_size, "total_chunk_count": count}
        if self.options.mode == "inbox":
            return {"source_info": source}
        o = self.options
        post_info = {
            "title": self._caption(request),
            "privacy_level": request.privacy or o.privacy_level,
            "disable_comment": o.disable_comment,
            "disable_duet": o.disable_duet,
            "disable_stitch": o.disable_stitch,
            "brand_content_toggle": o.brand_content_toggle,
            "brand_organic_toggle": o.brand_organic_toggle,
            "is_aigc": o.is_aigc,
        }
        return {"post_info": post_info, "source_info": source}

    def publish(self, request: PublishRequest, account: Any) -> PublishResult:
        path = Path(request.video_path)
        size = path.stat().st_size
        resumed = self._resume(request, path, size)
        if resumed is not None:
            return resumed
        if self.options.mode == "direct":
            problems = self._problems(request, self.creator_info(account))  # required before every post
            if problems:
                raise PlatformError("TikTok would refuse the post: " + "; ".join(problems))
        body = self.init_body(request, size)
        path_init = "post/publish/inbox/video/init/" if self.options.mode == "inbox" else "post/publish/video/init/"
        data = self._data(self._post(path_init, account, body, limit=6, retry=False), "starting the post")
        publish_id, upload_url = data.get("publish_id"), data.get("upload_url")
        if not publish_id or not upload_url:
            raise PlatformError("TikTok accepted the post but returned no publish_id / upload_url")
        add_secret(upload_url)
        request.save_checkpoint(
            remote_id=publish_id,
            upload_url_encrypted=encrypt_json(self.secret_key, {"upload_url": upload_url}),
            source_info=body["source_info"],
            next_chunk=0,
        )
        self.upload(upload_url, path, body["source_info"], progress=lambda i: request.save_checkpoint(next_chunk=i))
        return PublishResult(status=PostStatus.PROCESSING, remote_id=publish_id)

    def _resume(self, request: PublishRequest, path: Path, size: int) -> PublishResult | None:
        """Continue the checkpointed upload of this file; None when there is none (or its URL expired)."""
        cp = request.resume
        source = cp.get("source_info") or {}
        if not (cp.get("remote_id") and cp.get("upload_url_encrypted")) or source.get("video_size") != size:
            return None
        upload_url = decrypt_json(self.secret_key, cp["upload_url_encrypted"])["upload_url"]
        add_secret(upload_url)
        try:
            self.upload(
                upload_url,
                path,
                source,
                start=int(cp.get("next_chunk") or 0),
                progress=lambda i: request.save_checkpoint(next_chunk=i),
            )
        except UploadExpired:
            request.save_checkpoint(upload_url_encrypted=None, next_chunk=0)
            return None  # the old upload never completed: a new init is safe
        return PublishResult(status=PostStatus.PROCESSING, remote_id=cp["remote_id"])

    def recover(self, request: PublishRequest, account: Any) -> PublishResult | None:
        """An upload that completed goes on to status checks; an unfinished one is resumed by ``publish``."""
        publish_id = request.resume.get("remote_id")
        if not publish_id:
            return None
        res = self._post("post/publish/status/fetch/", account, {"publish_id": publish_id}, limit=30)
        data = self._data(res, "checking the interrupted post")
        size = (request.resume.get("source_info") or {}).get("video_size")
        if data.get("status") != "PROCESSING_UPLOAD":
            return self.check_status(publish_id, account)
        if size and data.get("uploaded_bytes") == size:
            return PublishResult(status=PostStatus.PROCESSING, remote_id=publish_id)
        return None

    def upload(
        self,
        upload_url: str,
        path: Path,
        source: dict[str, Any],
        *,
        start: int = 0,
        progress: Any = None,
    ) -> None:
        """PUT the chunks in order from chunk ``start``; 5xx or a broken connection retries the same chunk; 416
        re-aligns to TikTok's reported progress (all bytes received: done). ``progress(i)``: chunk i is next."""
        size, chunk_size, count = source["video_size"], source["chunk_size"], source["total_chunk_count"]
        bounds = [(i * chunk_size, (i + 1) * chunk_size - 1 if i < count - 1 else size - 1) for i in range(count)]
        index, failures = start, 0
        with open(path, "rb") as f:
            while index < count:
                first, last = bounds[index]
                f.seek(first)
                chunk = f.read(last - first + 1)
                headers = {
                    "Content-Type": "video/mp4",
                    "Content-Length": str(len(chunk)),
                    "Content-Range": f"bytes {first}-{last}/{size}",
                }
                try:
                    res = self.http.request("PUT", upload_url, auth=None, retry=False, data=chunk, headers=headers)
                except RetryableError:
                    res = None
                if res is not None and res.status_code in (201, 206):
                    index, failures = index + 1, 0
                    if progress is not None and index < count:
                        progress(index)
                    continue
                if res is not None and res.status_code == 416:
                    got = re.search(r"bytes 0-(\d+)/", res.headers.get("Content-Range", ""))
                    done = int(got[1]) + 1 if got else 0
                    if done >= size:
                        return  # everything arrived (the answer to the last chunk was lost)
                    matching = [i for i, (begin, _end) in enumerate(bounds) if begin == done]
                    if not matching:
                        raise PlatformError(f"TikTok's upload progress ({done} bytes) is not at a chunk boundary")
                    index = matching[0]
                    continue
                if res is not None and res.status_code in (403, 404):
                    raise UploadExpired("the TikTok upload URL expired (uploads must finish within an hour)")
                if res is not None and res.status_code < 500:
                    raise PlatformError(
                        f"TikTok refused chunk {index + 1}/{count}: HTTP {res.status_code} {res.text[:200]}"
                    )
                failures += 1
                if failures > self.options.retries:
                    raise RetryableError(f"TikTok upload of chunk {index + 1}/{count} keeps failing")
                self.http.sleep(failures - 1)

    def check_status(self, remote_id: str, account: Any) -> PublishResult:
        res = self._post("post/publish/status/fetch/", account, {"publish_id": remote_id}, limit=30)
        data = self._data(res, "checking the post")
        status = data.get("status")
        if status == "PUBLISH_COMPLETE":
            ids = data.get("publicaly_available_post_id") or []  # (sic) TikTok's spelling
            username = account.meta.get("username")
            url = f"https://www.tiktok.com/@{username}/video/{ids[0]}" if ids and username else None
            return PublishResult(
                status=PostStatus.PUBLISHED, remote_id=remote_id, remote_post_id=str(ids[0]) if ids else None, url=url
            )
        if status == "SEND_TO_USER_INBOX":
            # Inbox mode ends here for Clipcast: the creator finishes the post in the TikTok app.
            return PublishResult(status=PostStatus.PUBLISHED, remote_id=remote_id)
        if status == "FAILED":
            reason = data.get("fail_reason") or "unknown"
            return PublishResult(
                status=PostStatus.FAILED,
                remote_id=remote_id,
                error=f"TikTok failed the post: {reason}",
                retryable=reason in RETRYABLE_FAIL_REASONS,
            )
        return PublishResult(status=PostStatus.PROCESSING, remote_id=remote_id)

    # ------------------------------------------------------------------------------------------ metrics

    def fetch_metrics(self, remote_id: str, account: Any) -> PostMetrics:
        """``POST /v2/video/query/`` for the published video id (the ``video.list`` scope). A post finished in
        the TikTok app (inbox mode) has no video id Clipcast knows, so it has no metrics."""
        if not remote_id or "~" in remote_id:  # a publish_id, not a video id
            return PostMetrics(
                status=MetricsStatus.UNAVAILABLE, detail="TikTok gave no public video id for this post (inbox draft?)"
            )
        scopes = granted_scopes(account)
        if scopes is not None and "video.list" not in scopes:
            return PostMetrics(status=MetricsStatus.MISSING_SCOPE, missing_scopes=["video.list"])
        res = self.metrics_http.request(
            "POST",
            self._url("video/query/"),
            account=account,
            params={"fields": ",".join(["id", *VIDEO_FIELDS])},
            json={"filters": {"video_ids": [remote_id]}},
            headers={"Content-Type": "application/json; charset=UTF-8"},
        )
        body = json_or_empty(res)
        error = body.get("error") if isinstance(body.get("error"), dict) else {}
        code = error.get("code", "ok")
        if res.status_code == 429 or code == "rate_limit_exceeded":
            raise RateLimited("TikTok is throttling video queries", retry_after(res))
        if code == "scope_not_authorized":
            return PostMetrics(status=MetricsStatus.MISSING_SCOPE, missing_scopes=["video.list"], requests=1)
        if res.status_code != 200 or code != "ok":
            self._data(res, "reading the video's counts")  # raises the mapped error
        videos = (body.get("data") or {}).get("videos") or []
        video = next((v for v in videos if str(v.get("id")) == remote_id), None)
        if video is None:
            return PostMetrics(status=MetricsStatus.NOT_FOUND, detail="TikTok no longer lists the video", requests=1)
        values = {
            name: float(video[key]) for key, name in VIDEO_FIELDS.items() if isinstance(video.get(key), int | float)
        }
        return PostMetrics(values=values, requests=1)


@hookimpl
def register_publishers(register):  # type: ignore[no-untyped-def]
    register(TikTokPublisher)
