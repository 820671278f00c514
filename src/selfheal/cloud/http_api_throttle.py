"""Stage throttling of an HTTP API: a token bucket per (API, stage, route) as API Gateway applies it.

The limits come from the stage's ``defaultRouteSettings`` (``throttlingBurstLimit``,
``throttlingRateLimit``), overridden per route key by ``routeSettings``. A stage without limits is not
throttled here. Time is the local cloud's clock, so at a time scale of k the rate is per cloud second.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["ThrottleLimits", "Throttles", "TokenBucket", "limits_for"]

# Finite stand-ins for "no limit": an infinite rate times zero elapsed seconds would be NaN.
_UNBOUNDED_BURST = 2**31 - 1
_UNBOUNDED_RATE = 1e12


@dataclass(frozen=True)
class ThrottleLimits:
    """A burst (bucket size, requests) and a steady rate (requests per second)."""

    burst: int
    rate: float

    def __post_init__(self) -> None:
        if self.burst < 0 or not math.isfinite(self.rate) or self.rate < 0:
            raise ValueError(
                f"throttling limits must be non-negative, got burst={self.burst} rate={self.rate}"
            )


class TokenBucket:
    """A bucket of ``burst`` tokens refilled at ``rate`` tokens per second; each request takes one."""

    def __init__(self, limits: ThrottleLimits, now: Callable[[], float]) -> None:
        self.limits = limits
        self._now = now
        self._tokens = float(limits.burst)
        self._updated = now()
        self._lock = threading.Lock()

    def try_acquire(self) -> bool:
        """Take a token if one is available; False means the request is throttled."""
        with self._lock:
            now = self._now()
            elapsed = max(0.0, now - self._updated)
            self._updated = now
            self._tokens = min(float(self.limits.burst), self._tokens + elapsed * self.limits.rate)
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            return False


def _read_limits(settings: Any) -> tuple[int | None, float | None]:
    if not isinstance(settings, Mapping):
        return None, None
    burst = settings.get("throttlingBurstLimit", settings.get("ThrottlingBurstLimit"))
    rate = settings.get("throttlingRateLimit", settings.get("ThrottlingRateLimit"))
    burst_value = int(burst) if isinstance(burst, int | float) and not isinstance(burst, bool) else None
    rate_value = float(rate) if isinstance(rate, int | float) and not isinstance(rate, bool) else None
    return burst_value, rate_value


def limits_for(default_route_settings: Any, route_settings: Any, route_key: str) -> ThrottleLimits | None:
    """Return the limits a route is held to, or None when the stage sets none.

    A limit the route's own settings leave out falls back to the stage default. When only one of the two
    limits is set the other is unbounded, so it never throttles alone.
    """
    burst, rate = _read_limits(default_route_settings)
    if isinstance(route_settings, Mapping):
        route_burst, route_rate = _read_limits(route_settings.get(route_key))
        burst = route_burst if route_burst is not None else burst
        rate = route_rate if route_rate is not None else rate
    if burst is None and rate is None:
        return None
    try:
        return ThrottleLimits(
            burst=burst if burst is not None else _UNBOUNDED_BURST,
            rate=rate if rate is not None else _UNBOUNDED_RATE,
        )
    except ValueError:
        return None


class Throttles:
    """Token buckets by (API id, stage, route key); a bucket is replaced when its limits change."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self._buckets: dict[tuple[str, str, str], TokenBucket] = {}
        self._lock = threading.Lock()

    def allow(self, api_id: str, stage: str, route_key: str, limits: ThrottleLimits | None) -> bool:
        """Return True if the request may pass; False if it is throttled (429)."""
        if limits is None:
            return True
        key = (api_id, stage, route_key)
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None or bucket.limits != limits:
                bucket = TokenBucket(limits, self._now)
                self._buckets[key] = bucket
        return bucket.try_acquire()
