"""Request rate limits for the endpoints that guess-prone clients hit (login, token creation).

A sliding window kept in this process's memory: with several API replicas each enforces its own window, which
still bounds password guessing per replica. Bounded in size so a flood of addresses cannot exhaust memory.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque

from core.api.errors import RateLimited

MAX_KEYS = 10_000


class RateLimiter:
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
                retry = max(1, math.ceil(hits[0] + self.window - now))
                raise RateLimited(
                    f"too many {what}: at most {self.limit} per {self.window:g} s from one address",
                    f"try again in {retry} s",
                    detail={"limit": self.limit, "window_seconds": self.window, "retry_after": retry},
                    headers={"Retry-After": str(retry)},
                )
            hits.append(now)
