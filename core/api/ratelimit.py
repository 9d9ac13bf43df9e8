"""Request rate limits for the endpoints that guess-prone clients hit (login, token creation).

A sliding window per key (the client address and the action). With ``redis_url`` configured the window lives in
Redis (one sorted set per key, updated atomically by a Lua script), so every API process and replica shares it:
``clipcast serve --workers 4`` still allows ``auth_rate_per_minute`` attempts per address, not four times as many.
Without Redis (embedded mode, one process) it lives in this process's memory, bounded in size so a flood of
addresses cannot exhaust it. When Redis does not answer, the in-memory window takes over (logged): logins keep
working and stay limited per process.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections import OrderedDict, deque
from typing import Any

from core.api.errors import RateLimited
from core.logging import get_logger

log = get_logger("clipcast.api")

MAX_KEYS = 10_000


def _refusal(limit: int, window: float, what: str, retry_after: float) -> RateLimited:
    retry = max(1, math.ceil(retry_after))
    return RateLimited(
        f"too many {what}: at most {limit} per {window:g} s from one address",
        f"try again in {retry} s",
        detail={"limit": limit, "window_seconds": window, "retry_after": retry},
        headers={"Retry-After": str(retry)},
    )


class RateLimiter:
    """In-process sliding window (one deque of hit times per key)."""

    def __init__(self, per_minute: int, *, window: float = 60.0) -> None:
        self.limit = per_minute
        self.window = window
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def hit(self, key: str, what: str = "requests") -> None:
        """Count one request for ``key``; raise ``RateLimited`` (with Retry-After) when over the limit."""
        now = time.monotonic()
        with self._lock:
            hits = self._hits.get(key)
            if hits is None:
                hits = self._hits[key] = deque()
                while len(self._hits) > MAX_KEYS:
                    self._hits.popitem(last=False)
            self._hits.move_to_end(key)
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                raise _refusal(self.limit, self.window, what, hits[0] + self.window - now)
            hits.append(now)


#: KEYS[1] the window's sorted set; ARGV now (s), window (s), limit, member. Returns {0, 0} when the hit is
#: counted, {1, oldest hit} when refused (a refused attempt is not counted, as in the in-process window).
_SLIDING_WINDOW = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {1, oldest[2]}
end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2]) * 1000))
return {0, '0'}
"""


class RedisRateLimiter:
    """The same window shared through Redis by every process (keys ``<namespace>:ratelimit:<key>``, expiring
    with the window). Times are the API hosts' wall clocks, which replicas keep in step (NTP)."""

    def __init__(self, redis_url: str, per_minute: int, *, namespace: str, window: float = 60.0) -> None:
        import redis

        self.limit = per_minute
        self.window = window
        self.prefix = f"{namespace}:ratelimit:"
        self._client = redis.Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=2)
        self._script: Any = self._client.register_script(_SLIDING_WINDOW)
        self._fallback = RateLimiter(per_minute, window=window)

    def hit(self, key: str, what: str = "requests") -> None:
        import redis

        now = time.time()
        try:
            refused, oldest = self._script(
                keys=[self.prefix + key], args=[f"{now:.6f}", self.window, self.limit, uuid.uuid4().hex]
            )
        except redis.RedisError as exc:
            log.warning("rate limit: Redis did not answer; limiting in this process", error=repr(exc))
            self._fallback.hit(key, what)
            return
        if int(refused):
            raise _refusal(self.limit, self.window, what, float(oldest) + self.window - now)


def make_limiter(settings: Any) -> RateLimiter | RedisRateLimiter:
    """The login/token limiter: shared through Redis when ``redis_url`` is set, else in this process."""
    per_minute = settings.api.auth_rate_per_minute
    if settings.redis_url:
        return RedisRateLimiter(settings.redis_url, per_minute, namespace=settings.worker.namespace)
    return RateLimiter(per_minute)
