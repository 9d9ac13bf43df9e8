"""Webhook publisher: POSTs a signed JSON payload (metadata + a download URL) to any endpoint (n8n, Zapier, Make).

Signature: ``X-Clipcast-Signature: sha256=<hex>``, the HMAC-SHA256 with the shared secret of
``<X-Clipcast-Timestamp>.<raw body>``; receivers recompute it over the raw bytes, compare in constant time and
refuse old timestamps (``verify_signature`` below does all three). 5xx answers and connection errors are
retried with backoff; other 4xx answers fail the post. ``idempotency_key`` lets a receiver drop a redelivery.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from clipcast import (
    PermanentError,
    PostStatus,
    Publisher,
    PublishRequest,
    PublishResult,
    RetryableError,
    add_secret,
    hookimpl,
)
from plugins.publishers.http import HttpClient, json_or_empty

SIGNATURE_HEADER = "X-Clipcast-Signature"
TIMESTAMP_HEADER = "X-Clipcast-Timestamp"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(
    secret: str, timestamp: str, body: bytes, signature: str, *, tolerance: float = 300, now: float | None = None
) -> bool:
    """For receivers: a valid signature over these exact bytes, made less than ``tolerance`` seconds ago."""
    try:
        age = abs((now or time.time()) - float(timestamp))
    except ValueError:
        return False
    return age <= tolerance and hmac.compare_digest(sign(secret, timestamp, body).encode(), (signature or "").encode())


class WebhookPublisher(Publisher):
    name = "webhook"
    description = "POST a signed JSON payload with a download URL to any endpoint"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        url: str | None = Field(None, description="endpoint receiving the POST")
        secret: SecretStr | None = Field(None, description="HMAC-SHA256 key shared with the receiver")
        retries: int = Field(5, ge=0, description="retries on 5xx or connection errors")
        backoff_seconds: float = Field(1.0, ge=0, description="first retry delay; doubles each time")
        timeout_seconds: float = Field(30, gt=0)
        require_download_url: bool = Field(True, description="refuse to post without a URL the receiver can fetch")

    def __init__(self, options: BaseModel | None = None) -> None:
        super().__init__(options)
        o = self.options
        self.http = HttpClient("webhook", retries=o.retries, backoff=o.backoff_seconds, timeout=o.timeout_seconds)
        if o.secret:
            add_secret(o.secret.get_secret_value())

    def preflight(self, request: PublishRequest, account: Any) -> list[str]:
        problems = []
        if not self.options.url:
            problems.append("publishers.webhook.url is not set")
        if not self.options.secret:
            problems.append("publishers.webhook.secret is not set (payloads are always signed)")
        if self.options.require_download_url and not request.video_url:
            problems.append(
                "no download URL for the clip: local storage needs a public base URL "
                "(server.public_base_url or storage.local.public_base_url), or use S3/R2 storage"
            )
        return problems

    def payload(self, request: PublishRequest) -> dict[str, Any]:
        return {
            "event": "clip.publish",
            "idempotency_key": f"clipcast-post-{request.post_id}",
            "post_id": request.post_id,
            "clip_id": request.clip_id,
            "title": request.title,
            "caption": request.caption,
            "hashtags": request.hashtags,
            "duration": request.duration,
            "publish_at": request.publish_at.isoformat() if request.publish_at else None,
            "download_url": request.video_url,
            "sent_at": datetime.now(UTC).isoformat(),
        }

    def publish(self, request: PublishRequest, account: Any) -> PublishResult:
        if not self.options.url or not self.options.secret:
            raise PermanentError("the webhook publisher is not configured", "set publishers.webhook.url and secret")
        body = json.dumps(self.payload(request), sort_keys=True).encode()
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: stamp,
            SIGNATURE_HEADER: sign(self.options.secret.get_secret_value(), stamp, body),
            "Idempotency-Key": f"clipcast-post-{request.post_id}",
        }
        res = self.http.request("POST", self.options.url, auth=None, data=body, headers=headers)
        if res.status_code >= 500 or res.status_code == 429:
            raise RetryableError(f"webhook answered HTTP {res.status_code} after {self.options.retries} retries")
        if res.status_code >= 300:
            raise PermanentError(
                f"webhook refused the post: HTTP {res.status_code} {res.text[:200]}",
                "check the receiver's URL and that it uses the same secret",
            )
        answer = json_or_empty(res)
        remote = str(answer.get("id") or f"clipcast-post-{request.post_id}")
        return PublishResult(status=PostStatus.PUBLISHED, remote_id=remote, url=answer.get("url"))

    def check_status(self, remote_id: str, account: Any) -> PublishResult:
        return PublishResult(status=PostStatus.PUBLISHED, remote_id=remote_id)


@hookimpl
def register_publishers(register):  # type: ignore[no-untyped-def]
    register(WebhookPublisher)
