"""A local fake of Instagram Login's token endpoints and the Graph API parts used for Reels.

Enforces: the wrapped short-lived token response; ``ig_exchange_token`` (needs the app secret) and
``ig_refresh_token`` (only for long-lived tokens at least 24 h old; ``age_offset`` fakes the passing of time);
``access_token`` as a query parameter (code 190 otherwise); REELS containers that need a ``video_url`` and walk
IN_PROGRESS → FINISHED over ``polls_until_finished`` status reads; ``media_publish`` refused with 9007/2207027
before FINISHED and 9/2207042 over the publishing limit; a container publishes once (then reads PUBLISHED);
``content_publishing_limit`` and permalinks.
"""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

from clipcast.testing.fakes import OAuthFake, Request, Response, js

APP_ID, APP_SECRET = "ig-app-id", "ig-app-secret-789"
IG_USER = "17841400000000001"
V = "v21.0"


def graph_error(code: int, sub: int | None = None, message: str = "error", status: int = 400) -> Response:
    err: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "x"}
    if sub:
        err["error_subcode"] = sub
    return js(status, {"error": err})


class InstagramFake(OAuthFake):
    def __init__(self) -> None:
        super().__init__(
            client_id=APP_ID,
            client_secret=APP_SECRET,
            token_path="/oauth/access_token",
            access_ttl=3600,
            wrap_token=True,
            token_extra=lambda: {
                "user_id": IG_USER,
                "permissions": "instagram_business_basic,instagram_business_content_publish",
            },
        )
        self.long_tokens: dict[str, float] = {}  # token -> issued (epoch)
        self.age_offset = 0.0
        self.containers: dict[str, dict[str, Any]] = {}
        self.media: dict[str, str] = {}
        self.polls_until_finished = 2
        self.quota_total, self.quota_usage = 50, 0
        self.publish_calls = 0
        self.reject_once: set[str] = set()  # valid tokens answered once with code 190 (dropped early by Meta)
        self.route("GET", "/access_token", self._exchange)
        self.route("GET", "/refresh_access_token", self._refresh_long)
        self.route("GET", f"/{V}/me", self._me)
        self.route("GET", f"/{V}/(?P<ig>\\d+)/content_publishing_limit", self._limit)
        self.route("POST", f"/{V}/(?P<ig>\\d+)/media", self._create)
        self.route("POST", f"/{V}/(?P<ig>\\d+)/media_publish", self._publish)
        self.route("GET", f"/{V}/(?P<id>[^/]+)", self._object)

    def options(self, **over: Any) -> dict[str, Any]:
        return {
            "client_id": APP_ID,
            "client_secret": APP_SECRET,
            "auth_url": f"{self.url}/oauth/authorize",
            "token_url": f"{self.url}/oauth/access_token",
            "graph_base": self.url,
            "api_version": V,
            "backoff_seconds": 0.01,
            **over,
        }

    def _token_ok(self, req: Request) -> Response | None:
        token = req.query.get("access_token")
        if token in self.reject_once:
            self.reject_once.discard(token)
            return graph_error(190, 460, "Session has been invalidated")
        if token not in self.long_tokens:
            return graph_error(190, 463, "Error validating access token")
        return None

    def _exchange(self, req: Request, _m: Any) -> Response:
        q = req.query
        if q.get("grant_type") != "ig_exchange_token" or q.get("client_secret") != APP_SECRET:
            return graph_error(101, None, "bad exchange request")
        if not self.valid(q.get("access_token")):
            return graph_error(190, None, "invalid short-lived token")
        token = "IGQ-" + secrets.token_urlsafe(16)
        self.long_tokens[token] = time.time()
        return js(200, {"access_token": token, "token_type": "bearer", "expires_in": 5183944})

    def _refresh_long(self, req: Request, _m: Any) -> Response:
        old = req.query.get("access_token")
        if req.query.get("grant_type") != "ig_refresh_token" or old not in self.long_tokens:
            return graph_error(190, None, "invalid token")
        if time.time() + self.age_offset - self.long_tokens[old] < 86400:
            return graph_error(190, None, "token must be at least 24 hours old to refresh")
        self.refresh_count += 1
        token = "IGQ-" + secrets.token_urlsafe(16)
        self.long_tokens[token] = time.time() + self.age_offset
        return js(200, {"access_token": token, "token_type": "bearer", "expires_in": 5183944})

    def _me(self, req: Request, _m: Any) -> Response:
        return self._token_ok(req) or js(200, {"user_id": IG_USER, "username": "fake.reels"})

    def _limit(self, req: Request, _m: Any) -> Response:
        return self._token_ok(req) or js(
            200,
            {
                "data": [
                    {
                        "quota_usage": self.quota_usage,
                        "config": {"quota_total": self.quota_total, "quota_duration": 86400},
                    }
                ]
            },
        )

    def _create(self, req: Request, m: re.Match[str]) -> Response:
        if denied := self._token_ok(req):
            return denied
        p = req.params()
        if p.get("media_type") != "REELS":
            return graph_error(100, None, "media_type must be REELS")
        if not p.get("video_url"):
            return graph_error(100, None, "The parameter video_url is required")
        if len(p.get("caption", "")) > 2200:
            return graph_error(36004, 2207010, "caption too long")
        cid = str(18000000000000000 + len(self.containers) + 1)
        self.containers[cid] = {"status": "IN_PROGRESS", "polls": 0, "params": p, "ig": m["ig"]}
        return js(200, {"id": cid})

    def _object(self, req: Request, m: re.Match[str]) -> Response:
        if denied := self._token_ok(req):
            return denied
        oid = m["id"]
        if oid in self.containers:
            c = self.containers[oid]
            c["polls"] += 1
            if c["status"] == "IN_PROGRESS" and c["polls"] >= self.polls_until_finished:
                c["status"] = "FINISHED"
            return js(200, {"id": oid, "status_code": c["status"], "status": f"{c['status']}: fake"})
        if oid in self.media:
            return js(200, {"id": oid, "permalink": f"https://www.instagram.com/reel/{self.media[oid]}/"})
        return graph_error(100, 33, "Unsupported get request")

    def _publish(self, req: Request, _m: Any) -> Response:
        if denied := self._token_ok(req):
            return denied
        self.publish_calls += 1
        c = self.containers.get(req.params().get("creation_id", ""))
        if c is None:
            return graph_error(24, 2207006, "media not found")
        if c["status"] == "PUBLISHED":
            return graph_error(24, 2207006, "container already published")
        if c["status"] != "FINISHED":
            return graph_error(9007, 2207027, "Media ID is not available")
        if self.quota_usage >= self.quota_total:
            return graph_error(9, 2207042, "maximum number of posts reached")
        self.quota_usage += 1
        c["status"] = "PUBLISHED"
        media_id = str(17900000000000000 + len(self.media) + 1)
        self.media[media_id] = "C" + secrets.token_hex(4)
        return js(200, {"id": media_id})
