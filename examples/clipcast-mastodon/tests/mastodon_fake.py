"""A local fake of the Mastodon API parts the publisher uses, following docs.joinmastodon.org.

Bearer tokens in ``tokens`` are valid (401 ``{"error": "The access token is invalid"}`` otherwise); uploads are
multipart, answered 202 with ``url: null`` and processed after ``processing_checks`` media GETs (206 until
then); statuses refuse unprocessed media with 422 and text over 500 characters; a repeated ``Idempotency-Key``
returns the first status.
"""

from __future__ import annotations

import itertools
import re
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from clipcast.testing import FakeServer, Request, Response, js

UNAUTHORIZED = js(401, {"error": "The access token is invalid"})


class MastodonFake(FakeServer):
    def __init__(self, *, processing_checks: int = 1) -> None:
        super().__init__()
        self.tokens = {"token-of-clipper"}
        self.processing_checks = processing_checks
        self.media: dict[str, dict[str, Any]] = {}
        self.statuses: dict[str, dict[str, Any]] = {}
        self.keys: dict[str, str] = {}
        self.ids = itertools.count(100)
        self.route("POST", "/api/v2/media", self._upload)
        self.route("GET", r"/api/v1/media/(?P<id>\d+)", self._media)
        self.route("POST", "/api/v1/statuses", self._post_status)
        self.route("GET", r"/api/v1/statuses/(?P<id>\d+)", self._status)
        self.route("GET", r"/api/v1/accounts/(?P<id>\d+)/statuses", self._account_statuses)
        self.route("GET", "/api/v1/accounts/verify_credentials", self._me)

    def _auth(self, req: Request) -> bool:
        return req.bearer() in self.tokens

    def _upload(self, req: Request, _m: re.Match[str]) -> Response:
        if not self._auth(req):
            return UNAUTHORIZED
        head = f"Content-Type: {req.headers.get('Content-Type')}\r\n\r\n".encode()
        message = BytesParser(policy=HTTP).parsebytes(head + req.body)
        parts = {p.get_param("name", header="content-disposition"): p for p in message.iter_parts()}
        upload = parts.get("file")
        data = upload.get_payload(decode=True) if upload is not None else b""
        if not data:
            return js(422, {"error": "Validation failed: File can't be blank"})
        mid = str(next(self.ids))
        self.media[mid] = {"id": mid, "type": "video", "url": None, "checks": 0, "size": len(data)}
        return js(202, self._public_media(mid))

    def _public_media(self, mid: str) -> dict[str, Any]:
        return {k: v for k, v in self.media[mid].items() if k not in ("checks", "size")}

    def _media(self, req: Request, m: re.Match[str]) -> Response:
        if not self._auth(req):
            return UNAUTHORIZED
        media = self.media.get(m["id"])
        if media is None:
            return js(404, {"error": "Record not found"})
        media["checks"] += 1
        if media["checks"] >= self.processing_checks:
            media["url"] = f"{self.url}/system/media/{media['id']}.mp4"
            return js(200, self._public_media(media["id"]))
        return js(206, self._public_media(media["id"]))

    def _post_status(self, req: Request, _m: re.Match[str]) -> Response:
        if not self._auth(req):
            return UNAUTHORIZED
        key = req.headers.get("Idempotency-Key")
        if key and key in self.keys:
            return js(200, self.statuses[self.keys[key]])
        body = req.json()
        text, media_ids = body.get("status", ""), [str(i) for i in body.get("media_ids") or []]
        if len(text) > 500:
            return js(422, {"error": "Validation failed: Text character limit of 500 exceeded"})
        for mid in media_ids:
            if mid not in self.media:
                return js(422, {"error": "Validation failed: Media not found"})
            if self.media[mid]["url"] is None:
                return js(
                    422, {"error": "Cannot attach files that have not finished processing. Try again in a moment!"}
                )
        sid = str(next(self.ids))
        self.statuses[sid] = {
            "id": sid,
            "url": f"{self.url}/@clipper/{sid}",
            "content": text,
            "visibility": body.get("visibility", "public"),
            "media_attachments": [self._public_media(mid) for mid in media_ids],
        }
        if key:
            self.keys[key] = sid
        return js(200, self.statuses[sid])

    def _status(self, req: Request, m: re.Match[str]) -> Response:
        if not self._auth(req):
            return UNAUTHORIZED
        status = self.statuses.get(m["id"])
        return js(200, status) if status else js(404, {"error": "Record not found"})

    def _account_statuses(self, req: Request, m: re.Match[str]) -> Response:
        if not self._auth(req):
            return UNAUTHORIZED
        newest = sorted(self.statuses.values(), key=lambda s: int(s["id"]), reverse=True)
        return js(200, newest[: int(req.query.get("limit", 20))] if m["id"] == "1" else [])

    def _me(self, req: Request, _m: re.Match[str]) -> Response:
        if not self._auth(req):
            return UNAUTHORIZED
        return js(200, {"id": "1", "username": "clipper", "acct": "clipper", "display_name": "Clipper"})
