"""The healer's one clock: every "now" and every wait goes through it.

In the local cloud time may run ``k`` times faster than real time: ``SELFHEAL_TIME_SCALE`` (k >= 1) and
``SELFHEAL_TIME_ORIGIN`` (epoch seconds) give cloud time ``origin + (real_now - origin) * k``, and a wait of
``s`` cloud seconds sleeps ``s / k`` real seconds. Without those variables cloud time is real time (AWS).
``ManualClock`` is a test clock whose ``sleep`` advances time without sleeping. ``iso_utc`` is the one way
the healer writes a moment (ledger keys and attributes, logs, escalations).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Protocol

__all__ = [
    "TIME_ORIGIN_ENV",
    "TIME_SCALE_ENV",
    "Clock",
    "ClockError",
    "ManualClock",
    "ScaledClock",
    "iso_utc",
]

TIME_SCALE_ENV = "SELFHEAL_TIME_SCALE"
TIME_ORIGIN_ENV = "SELFHEAL_TIME_ORIGIN"
_MAX_SCALE = 3600.0


def iso_utc(moment: datetime) -> str:
    """``moment`` as fixed-width ISO-8601 UTC with microseconds (``2026-11-23T20:00:00.000000Z``), so that
    the text sorts as the time does."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class ClockError(ValueError):
    """The clock variables in the environment are not valid."""


class Clock(Protocol):
    """Cloud time in epoch seconds, and waits measured in cloud seconds."""

    def now(self) -> float:
        """Return the current cloud time in epoch seconds."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of cloud time."""
        ...

    def cloud_seconds(self, real_seconds: float) -> float:
        """Return how many cloud seconds pass in ``real_seconds`` of real time."""
        ...


class ScaledClock:
    """Cloud time ``origin + (real_now - origin) * scale``; real time when ``scale`` is 1."""

    def __init__(self, scale: float = 1.0, origin: float = 0.0) -> None:
        if not math.isfinite(scale) or not 1.0 <= scale <= _MAX_SCALE:
            raise ClockError(f"{TIME_SCALE_ENV} must be a number from 1 to {_MAX_SCALE:g}, got {scale!r}")
        if not math.isfinite(origin) or origin < 0:
            raise ClockError(f"{TIME_ORIGIN_ENV} must be a non-negative epoch time, got {origin!r}")
        self.scale = scale
        self.origin = origin

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ScaledClock:
        """Build the clock from ``SELFHEAL_TIME_SCALE``/``SELFHEAL_TIME_ORIGIN``; real time if absent."""
        env = os.environ if env is None else env
        raw_scale = env.get(TIME_SCALE_ENV, "").strip()
        raw_origin = env.get(TIME_ORIGIN_ENV, "").strip()
        if not raw_scale:
            return cls()
        try:
            scale = float(raw_scale)
        except ValueError:
            raise ClockError(f"{TIME_SCALE_ENV} is not a number: {raw_scale!r}") from None
        if not raw_origin:
            if scale != 1.0:
                raise ClockError(f"{TIME_SCALE_ENV} is {raw_scale} but {TIME_ORIGIN_ENV} is not set")
            return cls()
        try:
            origin = float(raw_origin)
        except ValueError:
            raise ClockError(f"{TIME_ORIGIN_ENV} is not a number: {raw_origin!r}") from None
        return cls(scale, origin)

    def now(self) -> float:
        """Return the current cloud time in epoch seconds."""
        return self.origin + (time.time() - self.origin) * self.scale

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of cloud time (``seconds / scale`` real seconds)."""
        time.sleep(max(0.0, seconds) / self.scale)

    def cloud_seconds(self, real_seconds: float) -> float:
        """Return how many cloud seconds pass in ``real_seconds`` of real time."""
        return real_seconds * self.scale


class ManualClock:
    """A clock for tests: time stands still until ``sleep`` or ``advance`` moves it."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._now = start
        self.slept: list[float] = []

    def now(self) -> float:
        """Return the current fake time."""
        return self._now

    def sleep(self, seconds: float) -> None:
        """Advance the fake time by ``seconds`` at once."""
        self.slept.append(seconds)
        self._now += max(0.0, seconds)

    def advance(self, seconds: float) -> None:
        """Move the fake time forward by ``seconds``."""
        self._now += seconds

    def cloud_seconds(self, real_seconds: float) -> float:
        """The fake clock runs at real speed."""
        return real_seconds
