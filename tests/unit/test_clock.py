"""Tests of the local cloud's scaled clock."""

from __future__ import annotations

import pytest

from selfheal.clock import TIME_ORIGIN_ENV, TIME_SCALE_ENV, Clock


class FakeRealTime:
    """A settable stand-in for time.time."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_scale_one_is_real_time() -> None:
    """At scale 1 cloud time equals real time."""
    real = FakeRealTime(1000.0)
    clock = Clock(1.0, real_time=real)
    real.now = 1234.5
    assert clock.now() == 1234.5


def test_scaled_time_runs_faster_from_origin() -> None:
    """At scale k, t real seconds after the origin are k*t cloud seconds after it."""
    real = FakeRealTime(1000.0)
    clock = Clock(60.0, real_time=real)
    real.now = 1002.0
    assert clock.now() == pytest.approx(1120.0)
    assert clock.to_real(clock.now()) == pytest.approx(1002.0)
    assert clock.real_seconds(60.0) == pytest.approx(1.0)


def test_env_round_trips() -> None:
    """The environment handed to Lambda environments carries scale and origin exactly."""
    clock = Clock(7.5, origin=1700000000.25)
    env = clock.env()
    assert float(env[TIME_SCALE_ENV]) == 7.5
    assert float(env[TIME_ORIGIN_ENV]) == 1700000000.25


@pytest.mark.parametrize("scale", [0.0, 0.5, -1.0, float("nan"), float("inf"), 1e9])
def test_rejects_bad_scale(scale: float) -> None:
    """A scale below 1, absurdly large or not finite is refused with a clear error."""
    with pytest.raises(ValueError, match="time scale"):
        Clock(scale)
