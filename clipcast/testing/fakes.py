"""Bases for local fake platform servers (127.0.0.1 only, one thread per request): what Clipcast's own tests
use against YouTube, TikTok and Instagram, for any plugin's tests. Part of the public plugin API.

``FakeServer`` routes (method, path regex) to handler methods and injects faults (``fail``: a status such as
429 or 503, or a dropped connection, for the next N matching requests); ``OAuthFake`` adds an authorization server that
plays the consent screen (``authorize(url)`` → the redirect URL), checks PKCE, client credentials and redirect
URI on the code exchange, and issues (optionally rotating) refresh tokens.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

Response = tuple[int, dict[str, str], bytes]


def js(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(body).encode()


class Request:
    def __init__(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        self.handler = handler
        self.method = method
        parts = urlsplit(handler.path)
        self.path = parts.path
        self.query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        self.headers = handler.headers
        self._body: bytes | None = None

    @property
    def length(self) -> int:
        return int(self.headers.get("Content-Length") or 0)

    @property
    def body(self) -> bytes:
        if self._body is None:
            self._body = self.handler.rfile.read(self.length) if self.length else b""
        return self._body

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}

    def json(self) -> dict[str, Any]:
        return json.loads(self.body or b"{}")

    def params(self) -> dict[str, str]:
        """Query, form and JSON parameters merged (Graph API accepts any of them)."""
        out = dict(self.query)
        ctype = self.headers.get("Content-Type") or ""
        if "json" in ctype:
            out.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in self.json().items()})
        elif self.length:
            out.update(self.form())
        return out

    def bearer(self) -> str | None:
        auth = self.headers.get("Authorization") or ""
        return auth[7:] if auth.startswith("Bearer ") else None


@dataclass
class Fault:
    """An injected failure: the next ``times`` requests matching ``method`` and ``pattern`` get ``response``
    (None: the connection is dropped without an answer)."""

    method: str
    pattern: re.Pattern[str]
    response: Response | None
    times: int


class _QuietServer(ThreadingHTTPServer):
    """A client that went away mid-request (a killed process, a dropped connection) is not a server error."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class FakeServer:
    """Subclasses fill ``routes`` with (method, regex, handler(req, match) -> Response | None).

    A handler returning None drops the connection. ``calls`` records (method, path) of every request;
    ``in_flight`` holds (method, path) of the requests being served right now (fault tests wait on it to kill a
    client in the middle of an upload)."""

    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Callable[..., Response | None]]] = []
        self.calls: list[tuple[str, str]] = []
        self.faults: list[Fault] = []
        self.lock = threading.RLock()
        self.latency = 0.0  # seconds added to every request
        self.in_flight: list[tuple[str, str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms delayed-ACK stall

            def _serve(self, method: str) -> None:
                entry = (method, self.path.split("?", 1)[0])
                with outer.lock:
                    outer.in_flight.append(entry)
                try:
                    self._answer(method)
                finally:
                    with outer.lock:
                        outer.in_flight.remove(entry)

            def _answer(self, method: str) -> None:
                if outer.latency:  # a slower platform: fault tests land their kills inside uploads
                    time.sleep(outer.latency)
                req = Request(self, method)
                with outer.lock:
                    outer.calls.append((method, req.path))
                    fault = outer._take_fault(method, req.path)
                if fault is not None:
                    result = fault.response
                else:
                    for m, pattern, fn in outer.routes:
                        match = pattern.fullmatch(req.path)
                        if m == method and match:
                            result = fn(req, match)
                            break
                    else:
                        result = js(404, {"error": f"no route {method} {req.path}"})
                if result is None:  # the handler dropped the connection on purpose
                    self.close_connection = True
                    return
                _ = req.body  # drain an unread body, or it would corrupt the next request on this connection
                status, headers, body = result
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def do_PUT(self) -> None:
                self._serve("PUT")

            def do_PATCH(self) -> None:
                self._serve("PATCH")

            def do_DELETE(self) -> None:
                self._serve("DELETE")

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def route(self, method: str, pattern: str, fn: Callable[..., Response | None]) -> None:
        self.routes.append((method, re.compile(pattern), fn))

    def fail(
        self,
        method: str,
        pattern: str,
        status: int | None = 503,
        *,
        body: Any = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` matching requests with ``status`` (and a JSON ``body``), before any route
        sees them; ``status=None`` drops the connection instead. E.g. ``fail("POST", "/api/v1/media", 429,
        headers={"Retry-After": "0"})``."""
        response = None if status is None else js(status, body if body is not None else {"error": "injected"}, headers)
        with self.lock:
            self.faults.append(Fault(method, re.compile(pattern), response, times))

    def _take_fault(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.method == method and fault.pattern.fullmatch(path) and fault.times > 0:
                fault.times -= 1
                return fault
        return None

    def busy(self, method: str, pattern: str) -> bool:
        """True while a request matching ``method`` and the path regex ``pattern`` is being served."""
        rx = re.compile(pattern)
        with self.lock:
            return any(m == method and rx.fullmatch(p) for m, p in self.in_flight)

    def count(self, method: str, pattern: str) -> int:
        rx = re.compile(pattern)
        return sum(1 for m, p in self.calls if m == method and rx.fullmatch(p))

    def __enter__(self) -> FakeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class MetricsFake:
    """What the three metrics fakes share: per-post numbers in Clipcast's names (``views``, ``likes``,
    ``comments``, ``shares``, ``saves``, ``reach``, ``avg_view_seconds``, ``avg_view_percent``), each value a
    number or a callable returning one (numbers that grow between reads); ``throttle`` answers that many
    metrics calls with a 429 and ``Retry-After``; ``metrics_calls`` counts the calls served."""

    def init_metrics(self) -> None:
        self.stats: dict[str, dict[str, Any]] = {}
        self.throttle = 0
        self.retry_after = "1"
        self.metrics_calls = 0

    def numbers(self, post_id: str) -> dict[str, float] | None:
        found = self.stats.get(post_id)
        if found is None:
            return None
        return {k: float(v() if callable(v) else v) for k, v in found.items()}

    def throttled(self) -> bool:
        self.metrics_calls += 1
        if self.throttle > 0:
            self.throttle -= 1
            return True
        return False


class OAuthFake(FakeServer):
    """Authorization + token endpoint. ``client_param``: 'client_id' or TikTok's 'client_key'."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        token_path: str,
        client_param: str = "client_id",
        rotate_refresh: bool = False,
        access_ttl: int = 3600,
        pkce_encoding: str = "base64url",
        token_extra: Callable[[], dict[str, Any]] | None = None,
        wrap_token: bool = False,
    ) -> None:
        super().__init__()
        self.client_id, self.client_secret, self.client_param = client_id, client_secret, client_param
        self.rotate_refresh, self.access_ttl, self.pkce_encoding = rotate_refresh, access_ttl, pkce_encoding
        self.token_extra = token_extra or (lambda: {})
        self.wrap_token = wrap_token
        self.codes: dict[str, dict[str, str]] = {}
        self.access_tokens: dict[str, float] = {}  # token -> expiry (epoch)
        self.refresh_tokens: set[str] = set()
        self.refresh_count = 0
        self.token_requests: list[dict[str, str]] = []
        self.route("POST", re.escape(token_path), self._token)

    # -- the consent screen
    def authorize(self, auth_url: str, *, approve: bool = True) -> str:
        q = {k: v[0] for k, v in parse_qs(urlsplit(auth_url).query).items()}
        assert q.get(self.client_param) == self.client_id, f"authorize URL lacks {self.client_param}"
        assert q.get("response_type") == "code"
        if not approve:
            return f"{q['redirect_uri']}?{urlencode({'error': 'access_denied', 'state': q['state']})}"
        code = secrets.token_urlsafe(12)
        self.codes[code] = q
        return f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q['state']})}"

    def _client_ok(self, req: Request, form: dict[str, str]) -> bool:
        auth = req.headers.get("Authorization") or ""
        if auth.startswith("Basic "):
            cid, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        else:
            cid, secret = form.get(self.client_param, ""), form.get("client_secret", "")
        return cid == self.client_id and secret == self.client_secret

    def _challenge(self, verifier: str) -> str:
        digest = hashlib.sha256(verifier.encode()).digest()
        if self.pkce_encoding == "hex":
            return digest.hex()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def issue(self) -> dict[str, Any]:
        access, refresh = "at-" + secrets.token_urlsafe(16), "rt-" + secrets.token_urlsafe(16)
        with self.lock:
            self.access_tokens[access] = time.time() + self.access_ttl
            self.refresh_tokens.add(refresh)
        return {
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": self.access_ttl,
            "token_type": "Bearer",
            **self.token_extra(),
        }

    def valid(self, token: str | None) -> bool:
        with self.lock:
            return token is not None and self.access_tokens.get(token, 0) > time.time()

    def revoke_access(self, token: str) -> None:
        with self.lock:
            self.access_tokens.pop(token, None)

    def _token(self, req: Request, _m: Any) -> Response:
        form = req.form()
        self.token_requests.append(form)
        if not self._client_ok(req, form):
            return js(401, {"error": "invalid_client", "error_description": "bad client credentials"})
        grant = form.get("grant_type")
        if grant == "authorization_code":
            pending = self.codes.pop(form.get("code", ""), None)
            if pending is None:
                return js(400, {"error": "invalid_grant", "error_description": "unknown or used code"})
            if form.get("redirect_uri") != pending["redirect_uri"]:
                return js(400, {"error": "invalid_grant", "error_description": "redirect_uri mismatch"})
            if (
                "code_challenge" in pending
                and self._challenge(form.get("code_verifier", "")) != pending["code_challenge"]
            ):
                return js(400, {"error": "invalid_grant", "error_description": "PKCE verification failed"})
            token = self.issue()
            return js(200, {"data": [token]} if self.wrap_token else token)
        if grant == "refresh_token":
            with self.lock:
                ok = form.get("refresh_token") in self.refresh_tokens
                if ok:
                    self.refresh_count += 1
                    if self.rotate_refresh:
                        self.refresh_tokens.discard(form["refresh_token"])
            if not ok:
                return js(400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."})
            token = self.issue()
            if not self.rotate_refresh:
                self.refresh_tokens.discard(token.pop("refresh_token"))
            return js(200, token)
        return js(400, {"error": "unsupported_grant_type"})
