"""Rate limits: fixed windows counted per process, or in Redis when one is configured.

Nothing here is needed for correctness, only for fairness: without Redis each process counts for
itself, so N processes allow up to N times the limit.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger("recnet.ratelimit")


@dataclass(frozen=True)
class Window:
    """The state of one key's current window after counting a request (or not)."""

    limit: int
    count: int
    reset_seconds: int

    @property
    def exceeded(self) -> bool:
        return self.count > self.limit

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.count)

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_seconds),
        }


class Counter(Protocol):
    def add(self, key: str, window_seconds: int, amount: int) -> tuple[int, int]:
        """Add ``amount`` to the key's current window; (count, seconds until it resets)."""


class MemoryCounter:
    def __init__(self) -> None:
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def add(self, key: str, window_seconds: int, amount: int) -> tuple[int, int]:
        now = time.time()
        window = int(now // window_seconds)
        with self._lock:
            if len(self._counts) > 100_000:
                self._counts = {k: v for k, v in self._counts.items() if k[1] >= window}
            count = self._counts.get((key, window), 0) + amount
            self._counts[(key, window)] = count
        return count, math.ceil((window + 1) * window_seconds - now)


class RedisCounter:
    """Shared counts: one INCRBY and EXPIRE per request, in one round trip."""

    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._fallback = MemoryCounter()

    def add(self, key: str, window_seconds: int, amount: int) -> tuple[int, int]:
        now = time.time()
        window = int(now // window_seconds)
        name = f"recnet:rl:{key}:{window}"
        try:
            pipe = self._redis.pipeline()
            pipe.incrby(name, amount)
            pipe.expire(name, window_seconds + 1)
            count = int(pipe.execute()[0])
        except Exception:  # Redis down: count locally rather than refuse service.
            log.warning("Redis unavailable for rate limits; counting in process", exc_info=True)
            return self._fallback.add(key, window_seconds, amount)
        return count, math.ceil((window + 1) * window_seconds - now)


class FailureStore(Protocol):
    """Failures per key: how many, and when the last was; forgotten ``ttl`` seconds after it."""

    def record(self, key: str, ttl: int) -> tuple[int, float]:
        """Count one failure now; (failures, time of the last)."""

    def read(self, key: str) -> tuple[int, float]:
        """(failures, time of the last); (0, 0.0) for a key with none."""

    def clear(self, key: str) -> None: ...


class MemoryFailures:
    def __init__(self) -> None:
        self._failures: dict[str, tuple[int, float, float]] = {}  # count, last, forgotten at
        self._lock = threading.Lock()

    def record(self, key: str, ttl: int) -> tuple[int, float]:
        now = time.time()
        with self._lock:
            if len(self._failures) > 100_000:
                self._failures = {k: v for k, v in self._failures.items() if v[2] > now}
            count, _, forgotten = self._failures.get(key, (0, 0.0, 0.0))
            count = count + 1 if forgotten > now else 1
            self._failures[key] = (count, now, now + ttl)
        return count, now

    def read(self, key: str) -> tuple[int, float]:
        count, last, forgotten = self._failures.get(key, (0, 0.0, 0.0))
        return (count, last) if forgotten > time.time() else (0, 0.0)

    def clear(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)


class RedisFailures:
    """Failures shared between processes: a hash (count, last) per key, expiring with it."""

    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._fallback = MemoryFailures()

    def _name(self, key: str) -> str:
        return f"recnet:fail:{key}"

    def record(self, key: str, ttl: int) -> tuple[int, float]:
        now = time.time()
        try:
            pipe = self._redis.pipeline()
            pipe.hincrby(self._name(key), "n", 1)
            pipe.hset(self._name(key), "t", repr(now))
            pipe.expire(self._name(key), ttl)
            return int(pipe.execute()[0]), now
        except Exception:
            log.warning("Redis unavailable for failure counts; counting in process", exc_info=True)
            return self._fallback.record(key, ttl)

    def read(self, key: str) -> tuple[int, float]:
        try:
            count, last = self._redis.hmget(self._name(key), ["n", "t"])
        except Exception:
            log.warning("Redis unavailable for failure counts; counting in process", exc_info=True)
            return self._fallback.read(key)
        return (int(count), float(last)) if count and last else (0, 0.0)

    def clear(self, key: str) -> None:
        try:
            self._redis.delete(self._name(key))
        except Exception:
            self._fallback.clear(key)


def backoff_seconds(failures: int, free: int, cap: float) -> float:
    """How long after the last failure the next attempt waits: nothing for the first ``free``
    failures, then 1 s, doubling with each further failure, at most ``cap``."""
    if failures < free:
        return 0.0
    return float(min(cap, 2.0 ** min(failures - free, 30)))


class RateLimiter:
    def __init__(self, counter: Counter, failures: FailureStore | None = None) -> None:
        self.counter = counter
        self.failures = failures or MemoryFailures()

    @classmethod
    def from_url(cls, redis_url: str | None) -> RateLimiter:
        if redis_url:
            return cls(RedisCounter(redis_url), RedisFailures(redis_url))
        return cls(MemoryCounter(), MemoryFailures())

    def hit(self, key: str, limit: int, window_seconds: int, amount: int = 1) -> Window:
        count, reset = self.counter.add(key, window_seconds, amount)
        return Window(limit=limit, count=count, reset_seconds=reset)

    def peek(self, key: str, limit: int, window_seconds: int) -> Window:
        return self.hit(key, limit, window_seconds, amount=0)


def client_key(principal_client_id: str | None, address: str | None) -> str:
    return f"client:{principal_client_id}" if principal_client_id else f"addr:{address or '-'}"
