"""A local fake of Pexels' video search API (https://www.pexels.com/api/documentation/#videos-search).

Contract it follows, as documented:

- ``GET /videos/search?query=Q&per_page=N&page=P&orientation=landscape|portrait|square`` with the API key in an
  ``Authorization: <key>`` header (the raw key, no "Bearer"). Missing or wrong key: ``401`` with
  ``{"error": ...}``. Every answer carries ``X-Ratelimit-Limit``, ``X-Ratelimit-Remaining`` and
  ``X-Ratelimit-Reset`` (UNIX seconds); a spent quota is ``429`` with the same headers.
- ``200``: ``{"page", "per_page", "total_results", "url", "videos": [...]}``; a video is ``{"id", "width",
  "height", "url", "image", "duration", "user": {"id", "name", "url"}, "video_files": [{"id", "quality",
  "file_type", "width", "height", "fps", "link"}], "video_pictures": [...]}``, and an ``hls`` entry with
  null width/height, as the real API lists. No match: ``videos: []``, ``total_results: 0``.
- The file links point at this server (``/video-files/<id>.mp4``, served as ``video/mp4``), standing in for
  Pexels' file host.

A test puts videos in with ``add(keyword, path, width, height)`` (a real file it generated); the search matches a
query word against the keywords. ``quota`` counts down the remaining requests (``429`` at 0).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from clipcast.testing import FakeServer
from clipcast.testing.fakes import Request, Response, js

KEY = "fake-pexels-key-0123456789"


class PexelsFake(FakeServer):
    def __init__(self, key: str = KEY) -> None:
        super().__init__()
        self.key = key
        self.videos: list[dict[str, Any]] = []
        self.files: dict[str, Path] = {}
        self.quota = 200
        self.searches: list[dict[str, str]] = []
        self.route("GET", r"/videos/search", self._search)
        self.route("GET", r"/video-files/(\w+)\.mp4", self._file)

    def add(self, keyword: str, path: Path, width: int, height: int, duration: int = 5) -> int:
        """A stock video matched by ``keyword``; served in two sizes (the file itself behind both links)."""
        vid = 1000 + len(self.videos)
        files = []
        for n, (w, h, q) in enumerate(((width, height, "hd"), (width // 2, height // 2, "sd"))):
            fid = f"{vid}{n}"
            self.files[fid] = path
            files.append(
                {"id": int(fid), "quality": q, "file_type": "video/mp4", "width": w, "height": h, "fps": 25,
                 "link": f"{self.url}/video-files/{fid}.mp4"}
            )  # fmt: skip
        files.append(
            {"id": int(f"{vid}9"), "quality": "hls", "file_type": "video/mp4", "width": None, "height": None,
             "fps": None, "link": f"{self.url}/video-files/hls.m3u8"}
        )  # fmt: skip
        self.videos.append(
            {"id": vid, "width": width, "height": height, "duration": duration,
             "url": f"https://www.pexels.com/video/{keyword}-{vid}/", "image": f"{self.url}/pictures/{vid}.jpg",
             "user": {"id": 7, "name": "Fake Videographer", "url": "https://www.pexels.com/@fake"},
             "video_files": files, "video_pictures": [], "keyword": keyword}
        )  # fmt: skip
        return vid

    def _limits(self) -> dict[str, str]:
        return {
            "X-Ratelimit-Limit": "200",
            "X-Ratelimit-Remaining": str(max(0, self.quota)),
            "X-Ratelimit-Reset": str(int(time.time()) + 3600),
        }

    def _search(self, req: Request, _m: Any) -> Response:
        if req.headers.get("Authorization") != self.key:
            return js(401, {"error": "Unauthorized"})
        if self.quota <= 0:
            return js(429, {"error": "Rate limit exceeded"}, self._limits())
        self.quota -= 1
        self.searches.append(dict(req.query))
        words = set(req.query.get("query", "").lower().split())
        per_page = min(80, int(req.query.get("per_page", 15)))
        orientation = req.query.get("orientation")

        def shaped(v: dict[str, Any]) -> bool:
            w, h = v["width"], v["height"]
            return orientation is None or {"portrait": h > w, "landscape": w > h, "square": w == h}[orientation]

        found = [v for v in self.videos if v["keyword"] in words and shaped(v)]
        page = int(req.query.get("page", 1))
        videos = [{k: v for k, v in x.items() if k != "keyword"} for x in found[(page - 1) * per_page :][:per_page]]
        body = {"page": page, "per_page": per_page, "total_results": len(found), "url": f"{self.url}/search",
                "videos": videos}  # fmt: skip
        return js(200, body, self._limits())

    def _file(self, _req: Request, m: Any) -> Response:
        path = self.files.get(m.group(1))
        if path is None:
            return js(404, {"error": "no such file"})
        return 200, {"Content-Type": "video/mp4"}, path.read_bytes()
