"""Webhook publisher: POSTs a signed JSON payload (metadata + a download URL) to any endpoint (n8n, Zapier, Make).

Signature: ``X-Clipcast-Signature: sha256=<hex>``, the HMAC-SHA256 with the shared secret of
``<X-Clipcast-Timestamp>.<raw body>``; receivers recompute it over the raw bytes, compare in constant time and
refuse old timestamps (``verify_signature`` below does all three). 5xx answers and connection errors are
retried with backoff; other 4xx answers fail the post.

Delivery is at least once, and the receiver de-duplicates (the contract, in docs/publishing.md): every
delivery of a post carries the same ``Idempotency-Key`` header and ``idempotency_key`` field. Before each POST
the post's checkpoint records "sent, answer unknown"; any later send of that post (a retry after a 5xx or a
broken connection, or a worker taking over after a kill) carries ``Clipcast-Redelivery: true``. With
``status_url`` set, a taken-over post first asks the receiver ``GET <status_url>?idempotency_key=KEY``
(200: it has the delivery, counted as published; 404: it has not, send again).

Metrics: the platform behind a webhook is unknown, so ``fetch_metrics`` reports none; instead a receiver may
POST a post's numbers to ``/api/analytics/webhook`` (``core/api/routes/webhook_metrics.py``),
signed the same way.
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
REDELIVERY_HEADER = "Clipcast-Redelivery"


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
        status_url: str | None = Field(
            None,
            description="optional receiver endpoint asked GET ?idempotency_key=KEY after an interrupted delivery "
            "(200: received, 404: not): then an unanswered delivery is not sent again",
        )
        require_download_url: bool = Field(True, description="refuse to post without a URL the receiver can fetch")

    def __init__(self, options: BaseModel | None = None) -> None:
        super().__init__(options)
        o = self.options
        self.http = HttpClient("webhook", retries=0, backoff=o.backoff_seconds, timeout=o.timeout_seconds)
        if o.secret:
            add_secret(o.secret.get_secret_value())

    def bind(self, settings: Any) -> None:
        self.http.bind(settings)

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

    def key(self, request: PublishRequest) -> str:
        return f"clipcast-post-{request.post_id}"

    def publish(self, request: PublishRequest, account: Any) -> PublishResult:
        if not self.options.url or not self.options.secret:
            raise PermanentError("the webhook publisher is not configured", "set publishers.webhook.url and secret")
        body = json.dumps(self.payload(request), sort_keys=True).encode()
        for attempt in range(self.options.retries + 1):
            redelivery = request.resume.get("delivery") == "sent"
            request.save_checkpoint(delivery="sent", idempotency_key=self.key(request))  # before the POST
            stamp = str(int(time.time()))
            headers = {
                "Content-Type": "application/json",
                TIMESTAMP_HEADER: stamp,
                SIGNATURE_HEADER: sign(self.options.secret.get_secret_value(), stamp, body),
                "Idempotency-Key": self.key(request),
            }
            if redelivery:
                headers[REDELIVERY_HEADER] = "true"
            try:
                res = self.http.request("POST", self.options.url, auth=None, retry=False, data=body, headers=headers)
            except RetryableError:
                res = None
            if res is not None and res.status_code < 300:
                answer = json_or_empty(res)
                remote = str(answer.get("id") or self.key(request))
                return PublishResult(status=PostStatus.PUBLISHED, remote_id=remote, url=answer.get("url"))
            if res is not None and res.status_code < 500 and res.status_code != 429:
                raise PermanentError(
                    f"webhook refused the post: HTTP {res.status_code} {res.text[:200]}",
                    "check the receiver's URL and that it uses the same secret",
                )
            if attempt < self.options.retries:
                self.http.sleep(attempt, res.headers.get("Retry-After") if res is not None else None)
        answer_said = f"HTTP {res.status_code}" if res is not None else "no answer"
        raise RetryableError(f"webhook answered {answer_said} after {self.options.retries} retries")

    def recover(self, request: PublishRequest, account: Any) -> PublishResult | None:
        """Ask the receiver's ``status_url`` about a delivery whose answer was lost; None: send it (again)."""
        if request.resume.get("delivery") != "sent" or not self.options.status_url:
            return None
        try:
            res = self.http.request(
                "GET", self.options.status_url, auth=None, retry=False, params={"idempotency_key": self.key(request)}
            )
        except RetryableError:
            return None  # unknown: a redelivery with the same key is what the contract allows
        if res.status_code == 200:
            answer = json_or_empty(res)
            return PublishResult(status=PostStatus.PUBLISHED, remote_id=str(answer.get("id") or self.key(request)))
        return None

    def check_status(self, remote_id: str, account: Any) -> PublishResult:
        return PublishResult(status=PostStatus.PUBLISHED, remote_id=remote_id)


@hookimpl
def register_publishers(register):  # type: ignore[no-untyped-def]
    register(WebhookPublisher)
