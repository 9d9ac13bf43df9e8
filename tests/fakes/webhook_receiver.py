"""A local webhook receiver (like an n8n/Zapier endpoint) that checks Clipcast's HMAC-SHA256 signature itself,
independently of the publisher's code: signature over ``<timestamp>.<raw body>``, constant-time comparison,
timestamps older than 5 minutes refused. ``fail_times`` answers 503 that many times first; ``status`` forces an
answer; ``drop_answers`` takes that many deliveries and then drops the connection (the answer is lost).

It follows the receiver's side of the contract in docs/publishing.md: deliveries with a known
``idempotency_key`` are acknowledged but not counted twice (``accepted``; every POST is in ``deliveries`` with
its ``Clipcast-Redelivery`` header), and ``GET /status?idempotency_key=KEY`` answers 200 for a delivery it has,
404 for one it has not."""

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
        self.drop_answers = 0
        self.status: int | None = None
        self.accepted: list[dict[str, Any]] = []
        self.deliveries: list[tuple[str, str | None]] = []
        self.rejected = 0
        self.route("POST", "/hook", self._hook)
        self.route("GET", "/status", self._status)

    def _hook(self, req: Request, _m: Any) -> Response | None:
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
        with self.lock:
            self.deliveries.append((payload["idempotency_key"], req.headers.get("Clipcast-Redelivery")))
            if all(p["idempotency_key"] != payload["idempotency_key"] for p in self.accepted):
                self.accepted.append(payload)
            number = next(
                i for i, p in enumerate(self.accepted, 1) if p["idempotency_key"] == payload["idempotency_key"]
            )
            if self.drop_answers:
                self.drop_answers -= 1
                return None
        return js(200, {"id": f"run-{number}"})

    def _status(self, req: Request, _m: Any) -> Response:
        key = req.query.get("idempotency_key")
        for i, p in enumerate(self.accepted, 1):
            if p["idempotency_key"] == key:
                return js(200, {"id": f"run-{i}", "status": "received"})
        return js(404, {"error": "no such delivery"})
