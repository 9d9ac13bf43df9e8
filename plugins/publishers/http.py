"""HTTP helpers shared by the platform publishers: bearer auth with refresh-and-retry-once on 401, bounded
retries with exponential backoff for calls that are safe to repeat, and errors mapped to Clipcast errors.

Nothing here logs a URL or a header: Graph API URLs carry ``access_token`` in their query string. Every
connection goes through the egress guard (``core.egress``), so a platform's redirect or upload URL cannot lead
to an internal address.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

import requests
from pydantic import SecretStr

from clipcast import PermanentError, RetryableError, guard_session

#: Seconds: connect and read timeouts for API calls (uploads pass their own).
TIMEOUT = (10, 60)
TRANSIENT = {429, 500, 502, 503, 504}


class PlatformError(PermanentError):
    """The platform refused the post. ``retryable``: the same post may succeed later (quota, daily cap), so the
    failed post is marked retryable for a person or the scheduler, but no worker retries it automatically."""

    def __init__(self, message: str, hint: str | None = None, *, retryable: bool = False) -> None:
        super().__init__(message, hint)
        self.retryable = retryable


class RateLimited(RetryableError):
    """The platform is throttling (429 or its rate-limit error) even after the client's retries.
    ``retry_after``: seconds the platform asked for, when it said."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def retry_after(res: requests.Response) -> float | None:
    value = res.headers.get("Retry-After") or ""
    return float(value) if value.isdigit() else None


class HttpClient:
    """One platform's HTTP calls. ``backoff`` is the base delay in seconds (tests set it near zero)."""

    def __init__(self, platform: str, *, retries: int = 3, backoff: float = 1.0, timeout: Any = TIMEOUT) -> None:
        self.platform = platform
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout
        self.session = guard_session(requests.Session(), None)  # strict until ``bind`` gives the settings

    def bind(self, settings: Any) -> None:
        """Apply the installation's egress allowances (``ingest.allowed_networks`` ...) to every call."""
        guard_session(self.session, settings)

    def sleep(self, attempt: int, retry_after: str | None = None) -> None:
        if retry_after and retry_after.isdigit():
            delay = min(float(retry_after), 60.0) * (self.backoff if self.backoff < 1 else 1.0)
        else:
            delay = self.backoff * (2**attempt) * (0.5 + random.random() / 2)
        time.sleep(delay)

    def request(
        self,
        method: str,
        url: str,
        *,
        account: Any = None,
        auth: str | None = "bearer",
        retry: bool = True,
        unauthorized: Callable[[requests.Response], bool] | None = None,
        **kw: Any,
    ) -> requests.Response:
        """Send a request. ``auth``: "bearer" (Authorization header), "query" (``access_token`` parameter),
        "oauth" (``Authorization: OAuth``, Meta rupload) or None. ``retry=False`` for calls that must not repeat
        (the transport error then surfaces as ``RetryableError`` for the caller's protocol to handle). A seekable
        ``data`` body (an open file) is rewound before each new attempt.
        A 401 (or ``unauthorized(response)``) refreshes the token once through the account and tries again."""
        kw.setdefault("timeout", self.timeout)
        body = kw.get("data")
        rewind = body.tell() if hasattr(body, "seek") and hasattr(body, "tell") else None
        refreshed = False
        attempt = 0
        while True:
            if rewind is not None:
                body.seek(rewind)  # a file body was read by the previous attempt: send it whole again
            call_kw = dict(kw)
            if account is not None and auth:
                token = account.access_token
                headers = dict(call_kw.pop("headers", None) or {})
                if auth == "bearer":
                    headers["Authorization"] = f"Bearer {token}"
                elif auth == "oauth":
                    headers["Authorization"] = f"OAuth {token}"
                elif auth == "query":
                    call_kw["params"] = {**(call_kw.get("params") or {}), "access_token": token}
                call_kw["headers"] = headers
            try:
                res = self.session.request(method, url, **call_kw)
            except requests.RequestException as exc:
                if retry and attempt < self.retries:
                    self.sleep(attempt)
                    attempt += 1
                    continue
                raise RetryableError(f"{self.platform}: connection failed ({type(exc).__name__}); will retry later")
            is_unauth = res.status_code == 401 or (unauthorized is not None and unauthorized(res))
            if is_unauth and account is not None and auth and not refreshed:
                account.after_unauthorized()
                refreshed = True
                continue
            if res.status_code in TRANSIENT and retry and attempt < self.retries:
                self.sleep(attempt, res.headers.get("Retry-After"))
                attempt += 1
                continue
            return res


#: Metrics calls retry a throttled or failed request once (honouring Retry-After), then leave the wait to the
#: collector, which defers the post instead of holding the scheduler.
METRICS_RETRIES = 1


def granted_scopes(account: Any) -> set[str] | None:
    """The scopes the account's token says were granted (comma/space separated or a list); None when unknown."""
    token = getattr(account, "token", None) or {}
    scope = token.get("scope") or token.get("permissions")
    if not scope:
        return None
    items = scope if isinstance(scope, list) else [scope]
    return {part for item in items for part in str(item).replace(",", " ").split()}


def secret_value(secret: SecretStr | None) -> str:
    """The plain text of an optional secret option ("" when unset)."""
    return secret.get_secret_value() if secret else ""


def json_or_empty(res: requests.Response) -> dict[str, Any]:
    try:
        body = res.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {"data": body}
