"""A local fake of Google's token endpoint and the YouTube Data API parts Clipcast uses.

Enforces the resumable upload contract: session start answers 200 + ``Location`` (never 201), chunk PUTs need a
``Content-Range`` starting exactly where the stored bytes end and answer 308 + ``Range: bytes=0-N`` until the last
byte, then 201 + the video resource; ``bytes */TOTAL`` probes report progress (no ``Range`` when nothing is
stored); unknown sessions answer 404. ``drop_after`` makes the next chunk PUT stop reading after that many
bytes and close the connection (a broken upload). ``fail_start`` injects a Google error on session start.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from clipcast.testing.fakes import MetricsFake, OAuthFake, Request, Response, js

CLIENT_ID, CLIENT_SECRET = "yt-client", "yt-secret-value-123"


#: Analytics API metrics the fake knows → the Clipcast names its ``stats`` use.
ANALYTICS = {
    "views": "views",
    "averageViewDuration": "avg_view_seconds",
    "averageViewPercentage": "avg_view_percent",
    "shares": "shares",
    "likes": "likes",
    "comments": "comments",
}


class YouTubeFake(OAuthFake, MetricsFake):
    """Metrics: ``videos.list?part=statistics`` (counts as strings, ``likeCount`` absent when hidden) and the
    Analytics API's ``GET /v2/reports`` (``ids=channel==MINE``, ``filters=video==ID``, dates YYYY-MM-DD; a
    ``resultTable`` of ``columnHeaders`` + ``rows``). ``read_scope`` / ``analytics_scope`` False answer 403
    ``insufficientPermissions``; throttling answers 429 ``rateLimitExceeded`` with ``Retry-After``."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, token_path="/token", **kw)
        self.init_metrics()
        self.read_scope = True
        self.analytics_scope = True
        self.published_at = "2026-11-01T10:00:00Z"
        self.sessions: dict[str, dict[str, Any]] = {}
        self.videos: dict[str, dict[str, Any]] = {}
        self.drop_after: int | None = None
        self.fail_start: tuple[int, str] | None = None
        self.polls_until_processed = 1
        self.route("POST", "/upload/youtube/v3/videos", self._start)
        self.route("PUT", "/upload/session/(?P<sid>[^/]+)", self._put)
        self.route("GET", "/youtube/v3/videos", self._list_videos)
        self.route("GET", "/youtube/v3/channels", self._channels)
        self.route("GET", "/ytanalytics/v2/reports", self._reports)
        self.route("POST", "/revoke", lambda req, m: js(200, {}))

    def options(self) -> dict[str, Any]:
        return {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "auth_url": f"{self.url}/auth",
            "token_url": f"{self.url}/token",
            "revoke_url": f"{self.url}/revoke",
            "api_base": f"{self.url}/youtube/v3",
            "upload_base": f"{self.url}/upload/youtube/v3",
            "analytics_base": f"{self.url}/ytanalytics/v2",
            "chunk_bytes": 256 * 1024,
            "backoff_seconds": 0.01,
        }

    def _auth(self, req: Request) -> Response | None:
        if not self.valid(req.bearer()):
            return js(
                401, {"error": {"code": 401, "message": "Invalid Credentials", "errors": [{"reason": "authError"}]}}
            )
        return None

    @staticmethod
    def google_error(status: int, reason: str) -> Response:
        return js(
            status, {"error": {"code": status, "message": reason, "errors": [{"reason": reason, "message": reason}]}}
        )

    def _channels(self, req: Request, _m: Any) -> Response:
        return self._auth(req) or js(200, {"items": [{"id": "UC-fake-channel", "snippet": {"title": "Fake Channel"}}]})

    def _start(self, req: Request, _m: Any) -> Response:
        if denied := self._auth(req):
            return denied
        if self.fail_start:
            return self.google_error(*self.fail_start)
        if req.query.get("uploadType") != "resumable" or "X-Upload-Content-Length" not in req.headers:
            return self.google_error(400, "badRequest")
        body = req.json()
        status = body.get("status", {})
        if "publishAt" in status and status.get("privacyStatus") != "private":
            return self.google_error(400, "invalidPublishAt")
        if len(body.get("snippet", {}).get("title", "")) > 100:
            return self.google_error(400, "invalidTitle")
        sid = secrets.token_hex(8)
        with self.lock:
            self.sessions[sid] = {
                "total": int(req.headers["X-Upload-Content-Length"]),
                "received": 0,
                "data": bytearray(),
                "body": body,
                "video": None,
            }
        return 200, {"Location": f"{self.url}/upload/session/{sid}"}, b""

    def _progress(self, session: dict[str, Any]) -> Response:
        if session["video"]:
            return js(201, session["video"])
        headers = {"Range": f"bytes=0-{session['received'] - 1}"} if session["received"] else {}
        return 308, headers, b""

    def _put(self, req: Request, m: re.Match[str]) -> Response | None:
        session = self.sessions.get(m["sid"])
        if session is None:
            return self.google_error(404, "notFound")
        rng = req.headers.get("Content-Range") or ""
        total = session["total"]
        if rng == f"bytes */{total}":
            return self._progress(session)
        found = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", rng)
        if not found or int(found[3]) != total:
            return self.google_error(400, "badContentRange")
        first, last = int(found[1]), int(found[2])
        if first != session["received"] or last - first + 1 != req.length:
            return self.google_error(400, "badContentRange")
        if self.drop_after is not None:
            keep, self.drop_after = self.drop_after, None
            session["data"] += req.handler.rfile.read(keep)
            session["received"] += keep
            req.handler.connection.shutdown(2)  # the connection breaks mid-chunk
            return None
        data = req.body
        session["data"] += data
        session["received"] += len(data)
        if session["received"] < total:
            return self._progress(session)
        vid = "vid" + secrets.token_hex(4)
        video = {"kind": "youtube#video", "id": vid, **session["body"]}
        video["status"] = {**video.get("status", {}), "uploadStatus": "uploaded"}
        with self.lock:
            session["video"] = video
            self.videos[vid] = {"video": video, "polls": 0}
        return js(201, video)

    def _insufficient(self) -> Response:
        body = {
            "error": {
                "code": 403,
                "message": "Request had insufficient authentication scopes.",
                "errors": [
                    {"message": "Insufficient Permission", "domain": "global", "reason": "insufficientPermissions"}
                ],
                "status": "PERMISSION_DENIED",
            }
        }
        return js(403, body)

    def _throttled(self) -> Response | None:
        if not self.throttled():
            return None
        status, headers, body = self.google_error(429, "rateLimitExceeded")
        return status, {**headers, "Retry-After": self.retry_after}, body

    def _statistics(self, req: Request) -> Response:
        if blocked := self._throttled():
            return blocked
        if not self.read_scope:
            return self._insufficient()
        items = []
        for vid in req.query.get("id", "").split(","):
            numbers = self.numbers(vid)
            if numbers is None:
                continue
            stats = {
                "viewCount": str(int(numbers.get("views", 0))),
                "favoriteCount": "0",
                "commentCount": str(int(numbers.get("comments", 0))),
            }
            if "likes" in numbers:  # absent when the channel hides likes
                stats["likeCount"] = str(int(numbers["likes"]))
            item: dict[str, Any] = {"kind": "youtube#video", "etag": "e", "id": vid, "statistics": stats}
            if "snippet" in req.query.get("part", ""):
                item["snippet"] = {"publishedAt": self.published_at, "title": "a Short"}
            items.append(item)
        return js(200, {"kind": "youtube#videoListResponse", "items": items, "pageInfo": {"totalResults": len(items)}})

    def _reports(self, req: Request, _m: Any) -> Response:
        if denied := self._auth(req):
            return denied
        if blocked := self._throttled():
            return blocked
        if not self.analytics_scope:
            return self._insufficient()
        q = req.query
        dates = [q.get("startDate", ""), q.get("endDate", "")]
        if q.get("ids") != "channel==MINE" or not all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", d) for d in dates):
            return self.google_error(400, "badRequest")
        if dates[0] > dates[1]:
            return self.google_error(400, "invalidStartDate")
        metrics = [m for m in q.get("metrics", "").split(",") if m]
        unknown = [m for m in metrics if m not in ANALYTICS]
        if not metrics or unknown:
            return self.google_error(400, "badRequest")
        found = re.fullmatch(r"video==([\w-]+)", q.get("filters", ""))
        if not found:
            return self.google_error(400, "badRequest")
        headers = [
            {"name": m, "columnType": "METRIC", "dataType": "FLOAT" if "average" in m else "INTEGER"} for m in metrics
        ]
        numbers = self.numbers(found[1])
        rows = []
        if numbers is not None and all(ANALYTICS[m] in numbers for m in metrics):
            rows = [[numbers[ANALYTICS[m]] if "average" in m else int(numbers[ANALYTICS[m]]) for m in metrics]]
        return js(200, {"kind": "youtubeAnalytics#resultTable", "columnHeaders": headers, "rows": rows})

    def _list_videos(self, req: Request, _m: Any) -> Response:
        if denied := self._auth(req):
            return denied
        if "statistics" in req.query.get("part", ""):
            return self._statistics(req)
        entry = self.videos.get(req.query.get("id", ""))
        if entry is None:
            return js(200, {"items": []})
        entry["polls"] += 1
        if entry["polls"] >= self.polls_until_processed:
            entry["video"]["status"]["uploadStatus"] = "processed"
        return js(200, {"items": [entry["video"]]})
