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

from clipcast.testing.fakes import MetricsFake, OAuthFake, Request, Response, js

APP_ID, APP_SECRET = "ig-app-id", "ig-app-secret-789"
IG_USER = "17841400000000001"
V = "v21.0"


def graph_error(code: int, sub: int | None = None, message: str = "error", status: int = 400) -> Response:
    err: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "x"}
    if sub:
        err["error_subcode"] = sub
    return js(status, {"error": err})


#: Reels insights the fake knows → the Clipcast names its ``stats`` use (watch time: stats in s, served in ms).
INSIGHTS = {
    "views": "views",
    "reach": "reach",
    "saved": "saves",
    "shares": "shares",
    "likes": "likes",
    "comments": "comments",
    "total_interactions": "interactions",
    "ig_reels_avg_watch_time": "avg_view_seconds",
}
DEPRECATED = {"plays", "impressions", "clips_replays_count", "ig_reels_aggregated_all_plays_count", "video_views"}


class InstagramFake(OAuthFake, MetricsFake):
    """Metrics: ``GET /<media>?fields=like_count,comments_count`` and ``GET /<media>/insights?metric=...``
    (``data`` rows of ``{name, period, values: [{value}], title, id}``; a metric with no data yet is left out,
    deprecated ones such as ``plays`` are code 100). Without ``instagram_business_manage_insights`` among
    ``granted`` insights answer code 10 (permission); ``few_viewers`` answers code 10 "Not enough viewers";
    throttling is code 4 (HTTP 429 with ``Retry-After`` here)."""

    def __init__(self) -> None:
        super().__init__(
            client_id=APP_ID,
            client_secret=APP_SECRET,
            token_path="/oauth/access_token",
            access_ttl=3600,
            wrap_token=True,
            token_extra=lambda: {
                "user_id": IG_USER,
                "permissions": ",".join(self.granted),
            },
        )
        self.granted = [
            "instagram_business_basic",
            "instagram_business_content_publish",
            "instagram_business_manage_insights",
        ]
        self.few_viewers = False
        self.init_metrics()
        self.long_tokens: dict[str, float] = {}  # token -> issued (epoch)
        self.age_offset = 0.0
        self.containers: dict[str, dict[str, Any]] = {}
        self.media: dict[str, str] = {}
        self.polls_until_finished = 2
        self.quota_total, self.quota_duration = 50, 86400.0
        self.used_at: list[float] = []  # when each post counted against the moving window
        self.publish_calls = 0
        self.reject_once: set[str] = set()  # valid tokens answered once with code 190 (dropped early by Meta)
        self.route("GET", "/access_token", self._exchange)
        self.route("GET", "/refresh_access_token", self._refresh_long)
        self.route("GET", f"/{V}/me", self._me)
        self.route("GET", f"/{V}/(?P<ig>\\d+)/content_publishing_limit", self._limit)
        self.route("POST", f"/{V}/(?P<ig>\\d+)/media", self._create)
        self.route("POST", f"/{V}/(?P<ig>\\d+)/media_publish", self._publish)
        self.route("GET", f"/{V}/(?P<id>\\d+)/insights", self._insights)
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

    @property
    def quota_usage(self) -> int:
        """Posts inside the moving window (``quota_duration`` seconds): the limit frees up as they leave it."""
        now = time.time()
        return sum(1 for at in self.used_at if now - at < self.quota_duration)

    @quota_usage.setter
    def quota_usage(self, n: int) -> None:
        self.used_at = [time.time()] * n

    def _limit(self, req: Request, _m: Any) -> Response:
        return self._token_ok(req) or js(
            200,
            {
                "data": [
                    {
                        "quota_usage": self.quota_usage,
                        "config": {"quota_total": self.quota_total, "quota_duration": int(self.quota_duration)},
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
        numbers = self.numbers(oid)
        if oid in self.media or numbers is not None:
            if numbers is not None and self.throttled():
                return graph_error(4, None, "Application request limit reached", status=429)
            fields = req.query.get("fields", "permalink").split(",")
            body: dict[str, Any] = {"id": oid}
            if "permalink" in fields:
                body["permalink"] = f"https://www.instagram.com/reel/{self.media.get(oid, 'C' + oid[-6:])}/"
            for field, name in (("like_count", "likes"), ("comments_count", "comments")):
                if field in fields:
                    body[field] = int((numbers or {}).get(name, 0))
            if "media_product_type" in fields:
                body["media_product_type"] = "REELS"
            return js(200, body)
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
        self.used_at.append(time.time())
        c["status"] = "PUBLISHED"
        media_id = str(17900000000000000 + len(self.media) + 1)
        self.media[media_id] = "C" + secrets.token_hex(4)
        return js(200, {"id": media_id})

    def _insights(self, req: Request, m: re.Match[str]) -> Response:
        if denied := self._token_ok(req):
            return denied
        if self.throttled():
            status, headers, body = graph_error(4, None, "Application request limit reached", status=429)
            return status, {**headers, "Retry-After": self.retry_after}, body
        if "instagram_business_manage_insights" not in self.granted:
            return graph_error(10, None, "(#10) Application does not have permission for this action", status=403)
        numbers = self.numbers(m["id"])
        if numbers is None:
            return graph_error(100, 33, "Unsupported get request")
        if self.few_viewers:
            return graph_error(10, None, "(#10) Not enough viewers for the media to show insights")
        metrics = [x for x in req.query.get("metric", "").split(",") if x]
        bad = [x for x in metrics if x in DEPRECATED or x not in INSIGHTS]
        if not metrics or bad:
            allowed = ", ".join(INSIGHTS)
            return graph_error(100, None, f"(#100) metric[0] must be one of the following values: {allowed}")
        data = []
        for name in metrics:
            if INSIGHTS[name] not in numbers:
                continue  # no data yet: left out, not 0
            value = numbers[INSIGHTS[name]]
            value = int(value * 1000) if name == "ig_reels_avg_watch_time" else int(value)
            data.append(
                {
                    "name": name,
                    "period": "lifetime",
                    "values": [{"value": value}],
                    "title": name,
                    "description": name,
                    "id": f"{m['id']}/insights/{name}/lifetime",
                }
            )
        return js(200, {"data": data})
