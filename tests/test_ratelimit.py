"""The login/token rate limit: one window per address, shared by every API process through Redis when it is
configured (real Redis; skipped locally when absent, failing under CI)."""

from __future__ import annotations

import multiprocessing
import uuid

import pytest
from api_support import client, make_user

from core.api.errors import RateLimited
from core.api.ratelimit import RateLimiter, RedisRateLimiter, make_limiter
from core.app import Clipcast
from core.config import Settings


def _attempts(redis_url: str, namespace: str, key: str, n: int, out: multiprocessing.Queue) -> None:
    limiter = RedisRateLimiter(redis_url, 5, namespace=namespace)
    refused = 0
    for _ in range(n):
        try:
            limiter.hit(key, "login attempts")
        except RateLimited:
            refused += 1
    out.put(refused)


def test_memory_window_refuses_over_the_limit_with_retry_after():
    limiter = RateLimiter(2, window=60)
    limiter.hit("login:a")
    limiter.hit("login:a")
    limiter.hit("login:b")  # another address has its own window
    with pytest.raises(RateLimited) as err:
        limiter.hit("login:a", "login attempts")
    assert "at most 2 per 60 s" in err.value.message and int(err.value.headers["Retry-After"]) >= 1


def test_redis_window_is_shared_by_processes(redis_url):
    namespace, key = f"test-{uuid.uuid4().hex}", "login:198.51.100.7"
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_attempts, args=(redis_url, namespace, key, 4, out)) for _ in range(3)]
    for p in procs:
        p.start()
    refused = sorted(out.get(timeout=60) for _ in procs)
    for p in procs:
        p.join(timeout=30)
    assert sum(refused) == 3 * 4 - 5  # 12 attempts from three processes, 5 allowed in all, not 5 each
    import redis

    client_ = redis.Redis.from_url(redis_url)
    ttl = client_.pttl(f"{namespace}:ratelimit:{key}")
    assert 0 < ttl <= 60_000  # the window's key expires by itself
    client_.delete(f"{namespace}:ratelimit:{key}")


def test_redis_window_refusal_says_when_to_retry(redis_url):
    limiter = RedisRateLimiter(redis_url, 1, namespace=f"test-{uuid.uuid4().hex}", window=30)
    limiter.hit("token:x")
    with pytest.raises(RateLimited) as err:
        limiter.hit("token:x", "token creations")
    assert 1 <= int(err.value.headers["Retry-After"]) <= 30 and err.value.detail["limit"] == 1


def test_login_limit_is_shared_by_two_api_processes_on_redis(tmp_path, redis_url):
    settings = Settings(data_dir=tmp_path / "data", redis_url=redis_url)
    settings.worker.namespace = f"test-{uuid.uuid4().hex}"
    settings.api.auth_rate_per_minute = 3
    app = Clipcast(settings)
    assert isinstance(make_limiter(settings), RedisRateLimiter)
    make_user(app, "dave@example.com")
    first, second = client(app), client(app)  # two applications: two API processes' worth of state
    body = {"email": "dave@example.com", "password": "guess number x"}
    codes = [api.post("/api/auth/login", json=body).status_code for api in (first, second, first, second)]
    assert codes == [401, 401, 401, 429]


def test_unreachable_redis_falls_back_to_the_process_window():
    limiter = RedisRateLimiter("redis://127.0.0.1:1/0", 1, namespace="test")
    limiter.hit("login:a")
    with pytest.raises(RateLimited):
        limiter.hit("login:a")
