"""A Clipcast publisher for Mastodon, built in docs/plugin_tutorial.md from ``clipcast plugins new publisher``.

The API (docs.joinmastodon.org/methods/media, /methods/statuses):

1. ``POST /api/v2/media`` (multipart ``file``, ``description``) → 202 and a MediaAttachment whose ``url`` is null
   while the instance transcodes it (200 when it was done at once);
2. ``GET /api/v1/media/:id`` → 206 while processing, 200 when ready;
3. ``POST /api/v1/statuses`` (``status``, ``media_ids``, ``visibility``) with an ``Idempotency-Key`` header: the
   instance returns the first status for a repeated key instead of posting again (for about an hour);
4. ``GET /api/v1/statuses/:id`` for the status; ``GET /api/v1/accounts/:id/statuses`` lists the account's own.

At most once: the idempotency key is checkpointed before anything is sent and the media id as soon as it is
known, so a retried publish reuses both; ``recover`` finds a status carrying our media id among the account's
recent statuses. Access tokens from Mastodon do not expire, so there is no refresh.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

import clipcast
from clipcast import (
    AccountHandle,
    HttpClient,
    PlatformError,
    PostStatus,
    Publisher,
    PublishRequest,
    PublishResult,
    RetryableError,
    json_or_empty,
    oauth,
    secret_value,
)

__version__ = "0.1.0"


class Mastodon(Publisher):
    name = "mastodon"
    description = "video statuses on a Mastodon account"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")

        instance: str = Field("https://mastodon.social", description="the instance's base URL")
        client_id: str = Field("", description="the app's client key (Preferences → Development on the instance)")
        client_secret: SecretStr | None = Field(None, description="the app's client secret")
        visibility: Literal["public", "unlisted", "private", "direct"] = "public"
        max_characters: int = Field(500, gt=0, description="the instance's status length limit")
        max_video_mb: float = Field(99, gt=0, description="the instance's video size limit (MB)")
        processing_timeout: float = Field(600, gt=0, description="seconds to wait for the instance's transcoding")
        poll_seconds: float = Field(2.0, gt=0, description="between checks of the media's processing")
        backoff_seconds: float = Field(1.0, ge=0, description="base delay between retries of safe calls")

    def __init__(self, options: BaseModel | None = None) -> None:
        super().__init__(options)
        self.api = self.options.instance.rstrip("/")
        self.http = HttpClient(self.name, backoff=self.options.backoff_seconds)

    def bind(self, settings: Any) -> None:
        self.http.bind(settings)  # the installation's egress rules apply to every call

    # ------------------------------------------------------------------------------------------ accounts

    def oauth_client(self) -> oauth.OAuthClient:
        return oauth.OAuthClient(
            platform=self.name,
            auth_url=f"{self.api}/oauth/authorize",
            token_url=f"{self.api}/oauth/token",
            revoke_url=f"{self.api}/oauth/revoke",
            client_id=self.options.client_id,
            client_secret=secret_value(self.options.client_secret),
            scopes=["read:accounts", "read:statuses", "write:media", "write:statuses"],
            client_auth="body",
        )

    def connect_account(self, token: dict[str, Any]) -> dict[str, Any]:
        handle = AccountHandle(None, self.name, token=token)
        res = self.http.request("GET", f"{self.api}/api/v1/accounts/verify_credentials", account=handle)
        if res.status_code != 200:
            raise _error(res, "reading the connected account")
        me = json_or_empty(res)
        return {"remote_id": str(me["id"]), "name": "@" + me.get("acct", ""), "token": token, "meta": {}}

    def revoke(self, account: Any) -> bool:
        return oauth.revoke(self.oauth_client(), account.access_token)

    # ----------------------------------------------------------------------------------------- publishing

    def _text(self, request: PublishRequest) -> str:
        tags = " ".join(f"#{t.lstrip('#')}" for t in request.hashtags)
        return "\n\n".join(part for part in (request.caption or request.title, tags) if part)

    def preflight(self, request: PublishRequest, account: Any) -> list[str]:
        path = Path(request.video_path)
        if not path.is_file():
            return [f"the rendered video {path} is missing"]
        problems = []
        if path.stat().st_size > self.options.max_video_mb * 1024 * 1024:
            problems.append(f"the video is larger than the instance's {self.options.max_video_mb:g} MB limit")
        if len(self._text(request)) > self.options.max_characters:
            problems.append(f"caption and hashtags are longer than {self.options.max_characters} characters")
        return problems

    def publish(self, request: PublishRequest, account: Any) -> PublishResult:
        key = request.resume.get("idempotency_key") or uuid.uuid4().hex
        request.save_checkpoint(idempotency_key=key)
        media_id = request.resume.get("media_id") or self._upload(request, account)
        request.save_checkpoint(media_id=media_id)
        self._wait_until_processed(media_id, account)
        res = self.http.request(
            "POST",
            f"{self.api}/api/v1/statuses",
            account=account,
            json={"status": self._text(request), "media_ids": [media_id], "visibility": self.options.visibility},
            headers={"Idempotency-Key": key},
        )  # safe to retry: the instance returns the first status for a repeated key
        if res.status_code != 200:
            raise _error(res, "posting the status")
        return _published(json_or_empty(res))

    def _upload(self, request: PublishRequest, account: Any) -> str:
        path = Path(request.video_path)
        res = self.http.request(
            "POST",
            f"{self.api}/api/v2/media",
            account=account,
            files={"file": (path.name, path.read_bytes(), "video/mp4")},  # bytes: a retry sends the whole file
            data={"description": request.title[:1500]},
            timeout=(10, 600),
        )  # a repeated upload leaves an unused attachment at most, never a post
        if res.status_code not in (200, 202):
            raise _error(res, "uploading the video")
        return str(json_or_empty(res)["id"])

    def _wait_until_processed(self, media_id: str, account: Any) -> None:
        deadline = time.monotonic() + self.options.processing_timeout
        while True:
            res = self.http.request("GET", f"{self.api}/api/v1/media/{media_id}", account=account)
            if res.status_code == 200:
                return
            if res.status_code != 206:
                raise _error(res, "checking the video's processing")
            if time.monotonic() > deadline:
                raise RetryableError(
                    f"mastodon: the instance is still processing the video after {self.options.processing_timeout:g} s"
                )
            time.sleep(self.options.poll_seconds)

    def check_status(self, remote_id: str, account: Any) -> PublishResult:
        res = self.http.request("GET", f"{self.api}/api/v1/statuses/{remote_id}", account=account)
        if res.status_code == 404:
            return PublishResult(status=PostStatus.FAILED, remote_id=remote_id, error="the status was deleted")
        if res.status_code != 200:
            raise _error(res, "checking the status")
        return _published(json_or_empty(res))

    def recover(self, request: PublishRequest, account: Any) -> PublishResult | None:
        media_id = request.resume.get("media_id")
        if not media_id:
            return None  # no media, so no status: a new attempt is safe (and reuses the idempotency key)
        res = self.http.request(
            "GET", f"{self.api}/api/v1/accounts/{account.remote_id}/statuses", account=account, params={"limit": 40}
        )
        if res.status_code != 200:
            raise _error(res, "looking for the interrupted status")
        body = res.json() if isinstance(res.json(), list) else []
        for status in body:
            if any(str(m.get("id")) == str(media_id) for m in status.get("media_attachments") or []):
                return _published(status)
        return None


def _published(status: dict[str, Any]) -> PublishResult:
    if not status.get("id"):
        raise PlatformError("mastodon answered without a status id")
    return PublishResult(
        status=PostStatus.PUBLISHED,
        remote_id=str(status["id"]),
        remote_post_id=str(status["id"]),
        url=status.get("url"),
    )


def _error(res: Any, doing: str) -> Exception:
    detail = json_or_empty(res).get("error") or res.text[:200]
    if res.status_code in clipcast.TRANSIENT:
        return RetryableError(f"mastodon: {doing} failed ({res.status_code}: {detail}); will retry later")
    if res.status_code == 422 and "processing" in str(detail):
        return RetryableError(f"mastodon: {doing}: {detail}")
    return PlatformError(f"mastodon: {doing} failed ({res.status_code}): {detail}")


@clipcast.hookimpl
def register_publishers(register: clipcast.Register) -> None:
    register(Mastodon)
