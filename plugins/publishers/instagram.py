"""Instagram Reels through the Instagram API with Instagram Login (graph.instagram.com).

Connect: authorization code → short-lived token (the response may be wrapped in ``data[0]``) → long-lived token
(60 days, ``ig_exchange_token``) → ``/me`` for the IG user id. There is no refresh token: the long-lived token
refreshes itself (``ig_refresh_token``) once it is at least 24 hours old and before it expires.

Posting: Instagram *pulls* the video: the container is created with a ``video_url`` that Meta's servers fetch.
With S3/R2 storage that is a presigned URL; with local storage it needs ``server.public_base_url`` (or
``storage.local.public_base_url``) pointing at an address Meta can reach, otherwise preflight refuses.

Protocol: ``publish`` creates the container and checkpoints its id as the post's remote id. ``check_status``
polls the container; when it is FINISHED it reads ``content_publishing_limit`` and calls ``media_publish``, inside
``irreversible_step``: of two concurrent checks exactly one makes the call (a compare-and-set on the post's
checkpoint), the other reads the result back later. The platform publishes a container at most once, and a
container that reads back PUBLISHED (a worker died after ``media_publish``) counts as published, so redelivery
never posts twice.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from clipcast import (
    Deferred,
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
    irreversible_step,
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

DAY = 86400.0
INSIGHTS_SCOPE = "instagram_business_manage_insights"
#: Reels insights → Clipcast metric names (``ig_reels_avg_watch_time`` is in milliseconds).
INSIGHTS = {
    "views": "views",
    "reach": "reach",
    "saved": "saves",
    "shares": "shares",
    "ig_reels_avg_watch_time": "avg_view_seconds",
}
RETRY_SUBCODES = {2207003, 2207001, 2207032, 2207053, 2207082}
RATE_CODES = {4, 17, 32, 613}


def graph_error(res: Any) -> dict[str, Any]:
    err = json_or_empty(res).get("error")
    return err if isinstance(err, dict) else {}


def is_token_error(res: Any) -> bool:
    return res.status_code == 401 or graph_error(res).get("code") == 190


def map_error(res: Any, during: str) -> Exception:
    err = graph_error(res)
    code, sub, msg = err.get("code"), err.get("error_subcode"), err.get("message", "")
    if code == 9 or sub == 2207042:
        return PlatformError(
            "the Instagram account reached its 24-hour API publishing limit",
            "it frees up on a moving window",
            retryable=True,
        )
    if code in RATE_CODES or res.status_code == 429:
        return RetryableError(f"Instagram rate limit during {during} (code {code})")
    if sub in RETRY_SUBCODES or err.get("is_transient") or res.status_code >= 500:
        return RetryableError(f"Instagram had a transient problem during {during}: {msg}")
    if code == 190:
        return PlatformError("Instagram rejected the access token", "reconnect the account")
    if sub == 2207010 or code == 36004:
        return PlatformError("the caption is too long or has too many hashtags/mentions for Instagram")
    if sub == 2207026 or code == 352:
        return PlatformError("Instagram does not accept this video format", "render MP4 (H.264/AAC)")
    if sub == 2207052 or code == 9004:
        return PlatformError(
            "Instagram could not download the video from its URL",
            "the storage URL must be public: check server.public_base_url or use S3/R2",
            retryable=True,
        )
    if sub == 2207050:
        return PlatformError("the Instagram account is restricted or inactive", "check it in the Instagram app")
    return PlatformError(f"Instagram refused {during}: HTTP {res.status_code} code {code}/{sub} {msg}".strip())


class InstagramPublisher(Publisher):
    name = "instagram"
    description = "Instagram Reels (Instagram API with Instagram Login)"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        client_id: str | None = Field(None, description="Instagram app id")
        client_secret: SecretStr | None = None
        auth_url: str = "https://www.instagram.com/oauth/authorize"
        token_url: str = "https://api.instagram.com/oauth/access_token"
        graph_base: str = Field("https://graph.instagram.com", description="Graph API host")
        api_version: str = "v21.0"
        scopes: list[str] = Field(
            default_factory=lambda: ["instagram_business_basic", "instagram_business_content_publish", INSIGHTS_SCOPE],
            description=f"{INSIGHTS_SCOPE} lets Clipcast read the Reels' views, reach, saves, shares and watch time",
        )
        share_to_feed: bool = True
        max_file_mb: float = Field(300, gt=0)
        min_seconds: float = 3
        max_seconds: float = 900
        refresh_when_days_left: float = Field(30, description="refresh the long-lived token when fewer days remain")
        retries: int = Field(3, ge=0)
        backoff_seconds: float = Field(1.0, ge=0)

    def __init__(self, options: BaseModel | None = None) -> None:
        super().__init__(options)
        add_secret(secret_value(self.options.client_secret))  # the token exchange carries it in a URL
        self.http = HttpClient("instagram", retries=self.options.retries, backoff=self.options.backoff_seconds)
        self.metrics_http = HttpClient("instagram", retries=METRICS_RETRIES, backoff=self.options.backoff_seconds)

    def bind(self, settings: Any) -> None:
        self.http.bind(settings)
        self.metrics_http.bind(settings)

    def _url(self, path: str) -> str:
        return f"{self.options.graph_base.rstrip('/')}/{self.options.api_version}/{path.lstrip('/')}"

    def _call(self, method: str, path: str, account: Any, during: str, **kw: Any) -> dict[str, Any]:
        res = self.http.request(
            method, self._url(path), account=account, auth="query", unauthorized=is_token_error, **kw
        )
        if res.status_code != 200:
            raise map_error(res, during)
        return json_or_empty(res)

    # ------------------------------------------------------------------------------------------ accounts

    def oauth_client(self) -> oauth.OAuthClient:
        o = self.options
        return oauth.OAuthClient(
            platform=self.name,
            auth_url=o.auth_url,
            token_url=o.token_url,
            client_id=o.client_id or "",
            client_secret=secret_value(o.client_secret),
            scopes=o.scopes,
            scope_separator=",",
            client_auth="body",
            pkce=False,  # not part of Instagram Login's documented flow
            unwrap_data=True,
        )

    def connect_account(self, token: dict[str, Any]) -> dict[str, Any]:
        res = self.http.request(
            "GET",
            f"{self.options.graph_base.rstrip('/')}/access_token",
            auth=None,
            params={
                "grant_type": "ig_exchange_token",
                "client_secret": secret_value(self.options.client_secret),
                "access_token": token["access_token"],
            },
        )
        if res.status_code != 200:
            raise map_error(res, "getting a long-lived token")
        long = json_or_empty(res)
        add_secret(long.get("access_token"))  # before the first URL that carries it can be logged
        from clipcast import AccountHandle

        final = {"access_token": long["access_token"], "expires_in": long.get("expires_in", 60 * DAY), "kind": "long"}
        h = AccountHandle(None, self.name, token=final)
        me = self._call("GET", "me", h, "reading the account", params={"fields": "user_id,username"})
        user_id = str(me.get("user_id") or me.get("id") or token.get("user_id"))
        scopes = token.get("permissions") or token.get("scope") or ""
        return {
            "remote_id": user_id,
            "name": me.get("username") or user_id,
            "token": {**final, "user_id": user_id, "scope": scopes},
            "meta": {"ig_user_id": user_id, "username": me.get("username")},
        }

    def refresh_due(self, token: dict[str, Any], now: float) -> bool:
        issued, expires = token.get("issued_at"), token.get("expires_at")
        if not issued or not expires:
            return False
        return now - float(issued) >= DAY and float(expires) - now < self.options.refresh_when_days_left * DAY

    def refresh_token(self, account: Any) -> dict[str, Any] | None:
        issued = account.token.get("issued_at")
        if issued and time.time() - float(issued) < DAY:
            raise oauth.OAuthError(
                "Instagram rejected a token less than 24 hours old, which cannot be refreshed yet",
                "reconnect the account",
            )
        res = self.http.request(
            "GET",
            f"{self.options.graph_base.rstrip('/')}/refresh_access_token",
            auth=None,
            params={"grant_type": "ig_refresh_token", "access_token": account.access_token},
        )
        if res.status_code != 200:
            err = map_error(res, "refreshing the token")
            if isinstance(err, RetryableError):
                raise err
            raise oauth.OAuthError(f"Instagram refused to refresh the token: {err}")
        body = json_or_empty(res)
        return {"access_token": body["access_token"], "expires_in": body.get("expires_in", 60 * DAY)}

    # ------------------------------------------------------------------------------------------ preflight

    def _ig_user(self, account: Any) -> str:
        return str(account.meta.get("ig_user_id") or account.remote_id)

    def quota(self, account: Any) -> tuple[int, float]:
        """(posts left, window seconds) from ``content_publishing_limit``: never a constant (Meta changes it)."""
        body = self._call(
            "GET",
            f"{self._ig_user(account)}/content_publishing_limit",
            account,
            "reading the publishing limit",
            params={"fields": "quota_usage,config"},
        )
        row = (body.get("data") or [{}])[0]
        config = row.get("config") or {}
        total = int(config.get("quota_total", 0))
        return total - int(row.get("quota_usage", 0)), float(config.get("quota_duration") or 86400)

    def quota_left(self, account: Any) -> int:
        return self.quota(account)[0]

    def _caption(self, request: PublishRequest) -> str:
        tags = " ".join(h if h.startswith("#") else f"#{h}" for h in request.hashtags if h not in request.caption)
        return (request.caption + ("\n\n" + tags if tags else "")).strip()

    def describe(self, request: PublishRequest) -> dict[str, Any]:
        text = self._caption(request)  # Reels have no title and no privacy setting: they are public
        return {"title": None, "text": text, "text_length": len(text), "title_limit": None, "text_limit": 2200,
                "privacy": "public (Reels have no privacy setting)"}  # fmt: skip

    def preflight(self, request: PublishRequest, account: Any) -> list[str]:
        problems = []
        o = self.options
        if not request.video_url:
            problems.append(
                "Instagram downloads the video from a public URL, and the storage has none: with local storage set "
                "server.public_base_url to an address Instagram can reach (or use S3/R2 storage)"
            )
        elif re.match(r"https?://(127\.|localhost|10\.|192\.168\.)", request.video_url):
            problems.append(f"the video URL {request.video_url.split('?')[0]} is not reachable from Instagram")
        path = Path(request.video_path)
        if path.is_file() and path.stat().st_size > o.max_file_mb * 1e6:
            problems.append(f"the video is {path.stat().st_size / 1e6:.0f} MB; Reels allow {o.max_file_mb:.0f} MB")
        if request.duration is not None and not o.min_seconds <= request.duration <= o.max_seconds:
            problems.append(
                f"Reels must be {o.min_seconds:g}-{o.max_seconds:g} s long; the clip is {request.duration:.1f} s"
            )
        caption = self._caption(request)
        if len(caption) > 2200:
            problems.append(f"the caption is {len(caption)} characters; Instagram allows 2200")
        if len(re.findall(r"#\w+", caption)) > 30:
            problems.append("Instagram allows at most 30 hashtags")
        if len(re.findall(r"@\w+", caption)) > 20:
            problems.append("Instagram allows at most 20 @mentions")
        left, window = self.quota(account)
        if left <= 0:  # not a problem with the post: it goes out when the moving window frees a place
            raise Deferred(
                f"the account has used its API publishing limit for the last {window / 3600:g} h "
                "(content_publishing_limit)",
                window_seconds=window,
            )
        return problems

    # ------------------------------------------------------------------------------------------ publish

    def publish(self, request: PublishRequest, account: Any) -> PublishResult:
        if not request.video_url:
            raise PermanentError("Instagram needs a public video URL", "set server.public_base_url or use S3/R2")
        params = {
            "media_type": "REELS",
            "video_url": request.video_url,
            "caption": self._caption(request),
            "share_to_feed": str(self.options.share_to_feed).lower(),
        }
        body = self._call(
            "POST", f"{self._ig_user(account)}/media", account, "creating the Reels container", data=params
        )
        container = body.get("id")
        if not container:
            raise PlatformError("Instagram created no container id")
        request.save_checkpoint(remote_id=str(container))
        return PublishResult(status=PostStatus.PROCESSING, remote_id=str(container))

    def check_status(self, remote_id: str, account: Any) -> PublishResult:
        body = self._call("GET", remote_id, account, "checking the container", params={"fields": "status_code,status"})
        code = body.get("status_code")
        if code == "PUBLISHED":  # published already (e.g. by a worker that died before recording it)
            return PublishResult(status=PostStatus.PUBLISHED, remote_id=remote_id)
        if code == "ERROR":
            return PublishResult(
                status=PostStatus.FAILED,
                remote_id=remote_id,
                error=f"Instagram could not process the video: {body.get('status')}",
            )
        if code == "EXPIRED":
            return PublishResult(
                status=PostStatus.FAILED, remote_id=remote_id, error="the container expired (24 h)", retryable=True
            )
        if code != "FINISHED":
            return PublishResult(status=PostStatus.PROCESSING, remote_id=remote_id)
        if self.quota_left(account) <= 0:
            raise RetryableError("Instagram's 24-hour publishing limit is reached; publishing when it frees up")
        with irreversible_step("media_publish") as go:  # two concurrent checks: only one publishes
            if not go:
                return PublishResult(status=PostStatus.PROCESSING, remote_id=remote_id)
            res = self._media_publish(remote_id, account)
        if res.status_code != 200:
            err = graph_error(res)
            if err.get("code") == 9007 or err.get("error_subcode") == 2207027:
                return PublishResult(status=PostStatus.PROCESSING, remote_id=remote_id)
            raise map_error(res, "publishing the Reel")
        media_id = str(json_or_empty(res).get("id"))
        url = None
        try:
            url = self._call("GET", media_id, account, "reading the permalink", params={"fields": "permalink"}).get(
                "permalink"
            )
        except (PermanentError, RetryableError):
            pass  # the Reel is live; a missing link is not a failure
        return PublishResult(status=PostStatus.PUBLISHED, remote_id=remote_id, remote_post_id=media_id, url=url)

    def _media_publish(self, container: str, account: Any) -> Any:
        """The irreversible call; never repeated here (a lost answer is resolved by the container's status)."""
        return self.http.request(
            "POST",
            self._url(f"{self._ig_user(account)}/media_publish"),
            account=account,
            auth="query",
            unauthorized=is_token_error,
            retry=False,
            data={"creation_id": container},
        )

    # ------------------------------------------------------------------------------------------ metrics

    def _metrics_get(self, path: str, account: Any, params: dict[str, str]) -> tuple[Any, dict[str, Any]]:
        res = self.metrics_http.request(
            "GET", self._url(path), account=account, auth="query", unauthorized=is_token_error, params=params
        )
        err = graph_error(res)
        if res.status_code == 429 or err.get("code") in RATE_CODES:
            raise RateLimited(f"Instagram rate limit while reading metrics (code {err.get('code')})", retry_after(res))
        return res, err

    def fetch_metrics(self, remote_id: str, account: Any) -> PostMetrics:
        """Likes and comments from the media object (basic scope), then the Reels insights (views, reach,
        saves, shares, average watch time) with ``instagram_business_manage_insights``. Insights come up to 48 h
        late and are empty (not 0) until Meta has them."""
        res, err = self._metrics_get(remote_id, account, {"fields": "like_count,comments_count,media_product_type"})
        if res.status_code != 200:
            if err.get("code") == 100:
                return PostMetrics(
                    status=MetricsStatus.NOT_FOUND, detail="Instagram no longer has the media", requests=1
                )
            raise map_error(res, "reading the Reel")
        media = json_or_empty(res)
        values = {
            name: float(media[key])
            for key, name in (("like_count", "likes"), ("comments_count", "comments"))
            if isinstance(media.get(key), int | float)
        }
        out = PostMetrics(values=values, requests=1)
        scopes = granted_scopes(account)
        if scopes is not None and INSIGHTS_SCOPE not in scopes:
            out.missing_scopes.append(INSIGHTS_SCOPE)
            return out
        res, err = self._metrics_get(f"{remote_id}/insights", account, {"metric": ",".join(INSIGHTS)})
        out.requests += 1
        if res.status_code != 200:
            message = str(err.get("message") or "")
            if err.get("code") in (10, 200) and "viewers" not in message:
                out.missing_scopes.append(INSIGHTS_SCOPE)
            else:
                out.detail = f"Instagram insights: {message or f'HTTP {res.status_code}'}"
            return out
        for row in json_or_empty(res).get("data") or []:
            name, found = row.get("name"), (row.get("values") or [{}])[0].get("value")
            if name in INSIGHTS and isinstance(found, int | float):
                out.values[INSIGHTS[name]] = float(found) / (1000 if name == "ig_reels_avg_watch_time" else 1)
        return out


@hookimpl
def register_publishers(register):  # type: ignore[no-untyped-def]
    register(InstagramPublisher)
