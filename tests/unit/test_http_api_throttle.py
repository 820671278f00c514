"""Tests of HTTP API stage throttling: the token bucket and how limits are read from a stage."""

from __future__ import annotations

import pytest

from selfheal.cloud.http_api_throttle import ThrottleLimits, Throttles, TokenBucket, limits_for


class FakeClock:
    """A settable time source."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_rate() -> None:
    """A full bucket allows ``burst`` requests at once, then refills at ``rate`` per second."""
    clock = FakeClock()
    bucket = TokenBucket(ThrottleLimits(burst=3, rate=2.0), clock)
    assert [bucket.try_acquire() for _ in range(4)] == [True, True, True, False]
    clock.now += 0.5
    assert bucket.try_acquire() is True
    assert bucket.try_acquire() is False
    clock.now += 10.0
    assert sum(bucket.try_acquire() for _ in range(10)) == 3


def test_zero_limits_block_everything() -> None:
    """Burst 0 and rate 0 throttle every request, as on AWS."""
    clock = FakeClock()
    bucket = TokenBucket(ThrottleLimits(burst=0, rate=0.0), clock)
    clock.now += 100
    assert bucket.try_acquire() is False


def test_clock_going_backwards_adds_no_tokens() -> None:
    """A clock step backwards neither refills nor breaks the bucket."""
    clock = FakeClock()
    bucket = TokenBucket(ThrottleLimits(burst=1, rate=1.0), clock)
    assert bucket.try_acquire() is True
    clock.now -= 50
    assert bucket.try_acquire() is False


def test_negative_limits_are_rejected() -> None:
    """Negative limits are a ValueError."""
    with pytest.raises(ValueError):
        ThrottleLimits(burst=-1, rate=1.0)
    with pytest.raises(ValueError):
        ThrottleLimits(burst=1, rate=float("nan"))


def test_limits_from_stage_settings() -> None:
    """Limits come from defaultRouteSettings, overridden per route key by routeSettings."""
    default = {"throttlingBurstLimit": 5, "throttlingRateLimit": 2.5, "detailedMetricsEnabled": False}
    routes = {"GET /slow": {"throttlingRateLimit": 0.5}}
    assert limits_for(default, routes, "GET /fast") == ThrottleLimits(5, 2.5)
    assert limits_for(default, routes, "GET /slow") == ThrottleLimits(5, 0.5)
    assert limits_for({"detailedMetricsEnabled": False}, {}, "$default") is None
    assert limits_for(None, None, "$default") is None


def test_one_limit_alone_still_applies() -> None:
    """A burst limit alone throttles once the burst is spent."""
    limits = limits_for({"throttlingBurstLimit": 1}, {}, "$default")
    assert limits is not None
    throttles = Throttles(FakeClock())
    assert throttles.allow("api", "$default", "$default", limits) is True
    assert throttles.allow("api", "$default", "$default", limits) is False


def test_buckets_are_per_route_and_reset_on_change() -> None:
    """Each route has its own bucket, and a change of limits starts a fresh one."""
    throttles = Throttles(FakeClock())
    one = ThrottleLimits(burst=1, rate=0.0)
    assert throttles.allow("api", "s", "GET /a", one)
    assert not throttles.allow("api", "s", "GET /a", one)
    assert throttles.allow("api", "s", "GET /b", one)
    assert throttles.allow("api", "s", "GET /a", ThrottleLimits(burst=2, rate=0.0))
    assert throttles.allow("api", "s", "GET /a", None)
