"""A local webhook receiver (like an n8n/Zapier endpoint) that checks Clipcast's HMAC-SHA256 signature itself,
independently of the publisher's code: signature over ``<timestamp>.<raw body>``, constant-time comparison,
timestamps older than 5 minutes refused. ``fail_times`` answers 503 that many times first; ``status`` forces an
answer. Deliveries with a known ``idempotency_key`` are acknowledged but not counted twice."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from clipcast.testing.fakes import FakeServer, Request, Response, js


class WebhookReceiver(FakeServer):
    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret.encode()
        self.fail_times = 0
        self.status: int | None = None
        self.accepted: list[dict[str, Any]] = []
        self.rejected = 0
        self.route("POST", "/hook", self._hook)

    def _hook(self, req: Request, _m: Any) -> Response:
        body = req.body
        stamp = req.headers.get("X-Clipcast-Timestamp") or "0"
        expected = "sha256=" + hmac.new(self.secret, stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        fresh = abs(time.time() - float(stamp)) < 300 if stamp.isdigit() else False
        if not (fresh and hmac.compare_digest(expected, req.headers.get("X-Clipcast-Signature") or "")):
            self.rejected += 1
            return js(401, {"error": "bad signature"})
        if self.fail_times:
            self.fail_times -= 1
            return js(503, {"error": "temporarily down"})
        if self.status:
            return js(self.status, {"error": "forced"})
        payload = json.loads(body)
        if all(p["idempotency_key"] != payload["idempotency_key"] for p in self.accepted):
            self.accepted.append(payload)
        return js(200, {"id": f"run-{len(self.accepted)}"})
