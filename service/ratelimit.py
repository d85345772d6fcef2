"""Per-client-address token buckets for anonymous, expensive reads (search, the network page).

Signed-in callers are not limited here (their accounts are; login throttling is auth's). A
client over its budget gets 429 with Retry-After before the request takes a worker thread, a
pooled connection or the engine.

In-process, by design: each server worker keeps its own buckets, so with `xiaoqi serve
--workers N` an anonymous client whose connections reach every worker may make up to N times
`anon_search_per_minute` (bursts of N × `anon_search_burst`) in total; one keep-alive connection
stays on one worker and gets exactly the configured budget. Moving the buckets into PostgreSQL
(as login throttling does) would make the count exact across workers, but every refused request
would then take a pooled connection, which is what this limiter exists to spare under a flood.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Depends, Request, params

from service.errors import TooManyRequestsError

MAX_CLIENTS = 50_000  # buckets kept; idle full ones are dropped first when over
_CREATE = threading.Lock()


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """`per_minute` requests per key on average, bursts of up to `burst`."""

    def __init__(self, per_minute: int, burst: int, clock: Callable[[], float] = time.monotonic):
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """0.0 if allowed (a token is spent), else the seconds until one is available."""
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= MAX_CLIENTS:
                    self._prune(now)
                bucket = self._buckets[key] = _Bucket(self.burst, now)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
            bucket.at = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self.rate

    def _prune(self, now: float) -> None:
        full = [
            k for k, b in self._buckets.items() if b.tokens + (now - b.at) * self.rate >= self.burst
        ]
        for k in full or list(self._buckets)[: len(self._buckets) // 2]:
            del self._buckets[k]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _limiter(request: Request, name: str) -> RateLimiter:
    state = request.app.state
    limiters: dict[str, RateLimiter] | None = getattr(state, "rate_limiters", None)
    if limiters is None:
        limiters = state.rate_limiters = {}
    with _CREATE:
        if name not in limiters:
            settings = state.settings
            limiters[name] = RateLimiter(
                settings.anon_search_per_minute, settings.anon_search_burst
            )
        return limiters[name]


def anonymous_limit(name: str) -> params.Depends:
    """A route dependency: anonymous callers share `name`'s budget per client address."""

    async def dependency(request: Request) -> None:
        if request.scope.get("state", {}).get("user") is not None:
            return  # signed in (resolved by the auth middleware)
        wait = _limiter(request, name).take(client_address(request))
        if wait > 0:
            error = TooManyRequestsError(
                f"请求过于频繁，请约 {math.ceil(wait)} 秒后再试，或登录后使用 (rate_limited)"
            )
            error.retry_after = math.ceil(wait)
            raise error

    return Depends(dependency)
