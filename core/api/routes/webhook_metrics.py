"""``POST /api/analytics/webhook``: where a webhook receiver posts a post's numbers back, signed with the
webhook secret exactly like Clipcast's own deliveries (``X-Clipcast-Timestamp``, ``X-Clipcast-Signature``).

Body ``{"post_id", "metrics": {name: value}, "taken_at"?}``; the post must be a published webhook post. The
numbers become the post's sample for the collection slot they fall in (``core.analytics.collect.record``), so a
receiver that repeats itself within a slot adds no duplicate.
"""

from __future__ import annotations

import math
import re
from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.analytics.collect import aware, current_slot, record, slot_offsets
from core.api.errors import Unauthorized
from core.contracts import PostMetrics, PostStatus
from core.errors import InputError
from core.models import Post, utcnow
from plugins.publishers.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature

router = APIRouter(tags=["analytics"])
METRIC_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class MetricsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    post_id: int = Field(ge=1, le=2**62)
    metrics: dict[str, float] = Field(description="metric name → value, e.g. {views: 120, likes: 9}")
    taken_at: datetime | None = None


@router.post(
    "/api/analytics/webhook",
    status_code=204,
    summary="A webhook receiver posts a post's numbers back (signed like Clipcast's webhook deliveries)",
    responses={401: {"description": f"missing or wrong {SIGNATURE_HEADER} / {TIMESTAMP_HEADER}"}},
)
async def webhook_metrics(request: Request) -> None:
    cc = request.app.state.clipcast
    raw = await request.body()
    secret = cc.publisher("webhook").options.secret
    stamp, signature = request.headers.get(TIMESTAMP_HEADER, ""), request.headers.get(SIGNATURE_HEADER, "")
    if not secret or not verify_signature(secret.get_secret_value(), stamp, raw, signature):
        raise Unauthorized(
            "the metrics are not signed with publishers.webhook.secret",
            f"send {TIMESTAMP_HEADER} and {SIGNATURE_HEADER}: sha256=HMAC(secret, '<timestamp>.<body>')",
        )
    try:
        body = MetricsIn.model_validate_json(raw or b"{}")
    except ValidationError as exc:
        raise InputError(f"the metrics body is not valid: {exc.errors()[0]['msg']}", "send {post_id, metrics}")
    bad = [k for k, v in body.metrics.items() if not METRIC_NAME.match(k) or not math.isfinite(v) or v < 0]
    if bad or not body.metrics or len(body.metrics) > 30:
        raise InputError(
            f"metrics must be 1-30 names (lowercase, digits, _) with finite values >= 0; refused: {bad[:5]}"
        )
    with cc.session() as s:
        post = s.get(Post, body.post_id)
    if post is None or post.platform != "webhook" or post.status != PostStatus.PUBLISHED:
        raise InputError(f"there is no published webhook post {body.post_id}")
    taken = aware(body.taken_at or utcnow())
    published = aware(post.published_at or post.scheduled_at)
    offsets = slot_offsets(cc.settings.analytics)
    slot = current_slot(offsets, taken - published) or offsets[0]
    record(cc, post, PostMetrics(values=body.metrics), taken_at=taken, bucket=published + slot, next_due=None)
