"""A local fake of TikTok's OAuth v2 token endpoint and the Content Posting API.

Enforces: ``client_key`` body credentials and rotating refresh tokens; the ``{data, error{code,message,log_id}}``
envelope; creator_info's privacy options, max duration and the unaudited-client rule (public accounts refused);
FILE_UPLOAD chunk rules on init (5-64 MB non-final chunks, floor(size/chunk) chunks, single chunk under 5 MB,
files over 64 MB chunked, last chunk ≤ 128 MB); sequential chunk PUTs with an exact ``Content-Range`` (206 until
the last, 201 then, 416 with the progress on a mismatch, 400 on a length mismatch); status fetch walking
PROCESSING_UPLOAD → PUBLISH_COMPLETE (or SEND_TO_USER_INBOX); per-token per-minute limits (init 6, creator_info 20,
status 30) with 429 ``rate_limit_exceeded``. Bytes are counted, not kept (size tests use sparse files).

Fault knobs: ``drop_answer_to_final_chunk`` (the last chunk is received, its answer lost);
``expire_upload(pid)`` (the upload URL answers 403, as after its hour). ``published()`` counts the publishes
whose bytes all arrived (TikTok then publishes them): fault tests expect exactly one per post.
"""

from __future__ import annotations

import collections
import hashlib
import re
import secrets
import time
from typing import Any

from clipcast.testing.fakes import MetricsFake, OAuthFake, Request, Response, js

CLIENT_KEY, CLIENT_SECRET = "tt-client-key", "tt-secret-value-456"
MB = 1_000_000


def envelope(status: int, data: Any = None, code: str = "ok", message: str = "") -> Response:
    return js(status, {"data": data or {}, "error": {"code": code, "message": message, "log_id": secrets.token_hex(6)}})


def chunk_rule_problem(size: int, chunk: int, count: int) -> str | None:
    if size < 5 * MB:
        return None if (chunk == size and count == 1) else "files under 5 MB must be one chunk of the whole size"
    if count == 1:
        if size > 64 * MB:
            return "files over 64 MB must be chunked"
        return None if chunk == size or chunk >= size else "a single chunk must hold the whole file"
    if not 5 * MB <= chunk <= 64 * MB:
        return "chunk_size must be 5-64 MB"
    if count != size // chunk:
        return "total_chunk_count must be floor(video_size / chunk_size)"
    if size - (count - 1) * chunk > 128 * MB:
        return "the last chunk may not exceed 128 MB"
    if count > 1000:
        return "at most 1000 chunks"
    return None


#: video/query fields the fake serves → the Clipcast names its ``stats`` use.
VIDEO_FIELDS = {"view_count": "views", "like_count": "likes", "comment_count": "comments", "share_count": "shares"}


class TikTokFake(OAuthFake, MetricsFake):
    """Metrics: ``POST /v2/video/query/?fields=...`` with ``{"filters": {"video_ids": [...]}}`` (at most 20 ids;
    ids the user does not own are left out of ``data.videos``); without ``video.list`` among ``granted`` it
    answers 401 ``scope_not_authorized``; throttling is 429 ``rate_limit_exceeded``."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(
            client_id=CLIENT_KEY,
            client_secret=CLIENT_SECRET,
            token_path="/v2/oauth/token/",
            client_param="client_key",
            rotate_refresh=True,
            access_ttl=7200,
            token_extra=lambda: {
                "open_id": "open-123",
                "scope": ",".join(self.granted),
                "refresh_expires_in": 15552000,
            },
            **kw,
        )
        self.granted = ["user.info.basic", "video.publish", "video.upload", "video.list"]
        self.init_metrics()
        self.privacy_options = ["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"]
        self.max_duration = 600
        self.audited = True
        self.init_error: tuple[int, str] | None = None
        self.statuses = ["PROCESSING_UPLOAD", "PUBLISH_COMPLETE"]
        self.limits = {"creator_info": 20, "init": 6, "status": 30}
        self.windows: dict[tuple[str, str], collections.deque[float]] = collections.defaultdict(collections.deque)
        self.publishes: dict[str, dict[str, Any]] = {}
        self.fail_next_chunk_with: int | None = None
        self.drop_answer_to_final_chunk = False
        self.expired: set[str] = set()
        self.route("GET", "/v2/user/info/", self._user)
        self.route("POST", "/v2/post/publish/creator_info/query/", self._creator)
        self.route("POST", "/v2/post/publish/video/init/", lambda r, m: self._init(r, inbox=False))
        self.route("POST", "/v2/post/publish/inbox/video/init/", lambda r, m: self._init(r, inbox=True))
        self.route("PUT", "/upload/", self._put)
        self.route("POST", "/v2/post/publish/status/fetch/", self._status)
        self.route("POST", "/v2/oauth/revoke/", lambda r, m: js(200, {}))
        self.route("POST", "/v2/video/query/", self._video_query)

    def options(self, **over: Any) -> dict[str, Any]:
        return {
            "client_key": CLIENT_KEY,
            "client_secret": CLIENT_SECRET,
            "auth_url": f"{self.url}/v2/auth/authorize/",
            "token_url": f"{self.url}/v2/oauth/token/",
            "revoke_url": f"{self.url}/v2/oauth/revoke/",
            "api_base": self.url,
            "backoff_seconds": 0.01,
            **over,
        }

    def _auth(self, req: Request) -> Response | None:
        if not self.valid(req.bearer()):
            return envelope(401, code="access_token_invalid", message="The access token is invalid or not found")
        return None

    def _limited(self, req: Request, kind: str) -> Response | None:
        window = self.windows[(req.bearer() or "", kind)]
        now = time.monotonic()
        while window and now - window[0] >= 60:
            window.popleft()
        if len(window) >= self.limits[kind]:
            return envelope(429, code="rate_limit_exceeded", message="too many requests")
        window.append(now)
        return None

    def _user(self, req: Request, _m: Any) -> Response:
        return self._auth(req) or envelope(
            200, {"user": {"open_id": "open-123", "display_name": "Fake Creator", "username": "fakecreator"}}
        )

    def _creator(self, req: Request, _m: Any) -> Response:
        if denied := self._auth(req) or self._limited(req, "creator_info"):
            return denied
        return envelope(
            200,
            {
                "creator_username": "fakecreator",
                "privacy_level_options": self.privacy_options,
                "max_video_post_duration_sec": self.max_duration,
                "comment_disabled": False,
                "duet_disabled": False,
                "stitch_disabled": False,
            },
        )

    def _init(self, req: Request, *, inbox: bool) -> Response:
        if denied := self._auth(req) or self._limited(req, "init"):
            return denied
        if self.init_error:
            return envelope(self.init_error[0], code=self.init_error[1], message=self.init_error[1])
        body = req.json()
        src = body.get("source_info") or {}
        if src.get("source") != "FILE_UPLOAD":
            return envelope(400, code="invalid_param", message="source must be FILE_UPLOAD here")
        size, chunk, count = (int(src.get(k, 0)) for k in ("video_size", "chunk_size", "total_chunk_count"))
        if problem := chunk_rule_problem(size, chunk, count):
            return envelope(400, code="invalid_param", message=problem)
        if not inbox:
            info = body.get("post_info") or {}
            if info.get("privacy_level") not in self.privacy_options:
                return envelope(403, code="privacy_level_option_mismatch", message="privacy_level not offered")
            if not self.audited and "PUBLIC_TO_EVERYONE" in self.privacy_options:
                return envelope(403, code="unaudited_client_can_only_post_to_private_accounts")
            if len(info.get("title", "").encode("utf-16-le")) // 2 > 2200:
                return envelope(400, code="invalid_param", message="title too long")
        pid = ("v_inbox_file~v2." if inbox else "v_pub_file~v2-1.") + secrets.token_hex(6)
        upload_id = secrets.token_hex(6)
        self.publishes[pid] = {
            "size": size,
            "chunk": chunk,
            "count": count,
            "received": 0,
            "upload_id": upload_id,
            "inbox": inbox,
            "polls": 0,
            "done": False,
            "body": body,
            "chunks": 0,
            "sha": hashlib.sha256(),  # of the bytes received, in order (fault runs compare it with the render)
        }
        return envelope(
            200, {"publish_id": pid, "upload_url": f"{self.url}/upload/?upload_id={upload_id}&upload_token=tok"}
        )

    def expire_upload(self, publish_id: str) -> None:
        self.expired.add(self.publishes[publish_id]["upload_id"])

    def published(self) -> int:
        """Posts that went live (or reached the inbox): a fault run expects one per post, never more."""
        return sum(1 for p in self.publishes.values() if p["done"])

    def _put(self, req: Request, _m: Any) -> Response | None:
        pub = next((p for p in self.publishes.values() if p["upload_id"] == req.query.get("upload_id")), None)
        if pub is None:
            return js(404, {"error": "no upload task"})
        if pub["upload_id"] in self.expired:
            return js(403, {"error": "the upload URL has expired"})
        if req.headers.get("Content-Type") not in ("video/mp4", "video/quicktime", "video/webm"):
            return js(400, {"error": "bad Content-Type"})
        if self.fail_next_chunk_with:
            status, self.fail_next_chunk_with = self.fail_next_chunk_with, None
            return js(status, {"error": "injected"})
        m = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", req.headers.get("Content-Range") or "")
        progress = {"Content-Range": f"bytes 0-{pub['received'] - 1}/{pub['size']}"}
        if not m or int(m[3]) != pub["size"]:
            return js(400, {"error": "bad Content-Range"})
        first, last = int(m[1]), int(m[2])
        expected_last = pub["size"] - 1 if pub["chunks"] == pub["count"] - 1 else first + pub["chunk"] - 1
        if first != pub["received"] or last != expected_last:
            return 416, progress, b""
        received = 0
        remaining = req.length
        if remaining != last - first + 1:
            return js(400, {"error": "Content-Length does not match Content-Range"})
        while remaining:
            piece = req.handler.rfile.read(min(remaining, 1 << 20))
            if not piece:
                break
            received += len(piece)
            remaining -= len(piece)
            pub["sha"].update(piece)
        req._body = b""
        pub["received"] += received
        pub["chunks"] += 1
        progress = {"Content-Range": f"bytes 0-{pub['received'] - 1}/{pub['size']}"}
        if pub["chunks"] == pub["count"]:
            pub["done"] = True
            if self.drop_answer_to_final_chunk:
                self.drop_answer_to_final_chunk = False
                return None
            return 201, progress, b""
        return 206, progress, b""

    def _status(self, req: Request, _m: Any) -> Response:
        if denied := self._auth(req) or self._limited(req, "status"):
            return denied
        pid = req.json().get("publish_id")
        pub = self.publishes.get(pid)
        if pub is None:
            return envelope(400, code="invalid_publish_id")
        if not pub["done"]:
            return envelope(200, {"status": "PROCESSING_UPLOAD", "uploaded_bytes": pub["received"]})
        pub["polls"] += 1
        walk = ["PROCESSING_UPLOAD", "SEND_TO_USER_INBOX"] if pub["inbox"] else self.statuses
        status = walk[min(pub["polls"], len(walk) - 1)]
        data: dict[str, Any] = {"status": status, "publicaly_available_post_id": []}
        if status == "PUBLISH_COMPLETE":
            data["publicaly_available_post_id"] = [7300000000000000001]
        if status == "FAILED":
            data["fail_reason"] = "duration_check_failed"
        return envelope(200, data)

    def _video_query(self, req: Request, _m: Any) -> Response:
        if denied := self._auth(req):
            return denied
        if self.throttled():
            status, headers, body = envelope(429, code="rate_limit_exceeded", message="too many requests")
            return status, {**headers, "Retry-After": self.retry_after}, body
        if "video.list" not in self.granted:
            return envelope(401, code="scope_not_authorized", message="The user did not authorize the scope")
        fields = [f for f in req.query.get("fields", "").split(",") if f]
        if not fields or any(f not in ("id", "title", "create_time", *VIDEO_FIELDS) for f in fields):
            return envelope(400, code="invalid_params", message="fields must be Video object fields")
        ids = ((req.json().get("filters") or {}).get("video_ids")) or []
        if not ids or len(ids) > 20:
            return envelope(400, code="invalid_params", message="video_ids needs 1-20 ids")
        videos = []
        for vid in ids:
            numbers = self.numbers(str(vid))
            if numbers is None:
                continue
            video: dict[str, Any] = {"id": str(vid)}
            for f in fields:
                if f in VIDEO_FIELDS:
                    video[f] = int(numbers.get(VIDEO_FIELDS[f], 0))
            videos.append(video)
        return envelope(200, {"videos": videos, "cursor": 0, "has_more": False})
