"""The local cloud's one clock: cloud time that may run k times faster than real time.

Cloud time is ``origin + (real_now - origin) * scale``. At ``scale == 1`` it is real time. Every CloudWatch
timestamp, alarm period and healer wait in the local cloud goes through one ``Clock`` so that a full
Detect → Decide → Act → Verify loop can be watched in seconds. The Lambda environments receive the same
clock through ``SELFHEAL_TIME_SCALE`` and ``SELFHEAL_TIME_ORIGIN`` (see ``healer.clock``).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

__all__ = ["MAX_SCALE", "TIME_ORIGIN_ENV", "TIME_SCALE_ENV", "Clock", "check_scale"]

TIME_SCALE_ENV = "SELFHEAL_TIME_SCALE"
TIME_ORIGIN_ENV = "SELFHEAL_TIME_ORIGIN"

MAX_SCALE = 3600.0


def check_scale(scale: float) -> float:
    """``scale`` as a float when it is a time scale a cloud can run at (1 to :data:`MAX_SCALE`); else a
    one-line ValueError."""
    if not (isinstance(scale, int | float) and math.isfinite(scale) and 1.0 <= scale <= MAX_SCALE):
        raise ValueError(f"time scale must be a number from 1 to {MAX_SCALE:g}, got {scale!r}")
    return float(scale)


class Clock:
    """Cloud time, scaled by ``scale`` from ``origin`` (epoch seconds)."""

    def __init__(
        self,
        scale: float = 1.0,
        origin: float | None = None,
        *,
        real_time: Callable[[], float] = time.time,
    ) -> None:
        self._real_time = real_time
        self.scale = check_scale(scale)
        self.origin = float(real_time() if origin is None else origin)

    def now(self) -> float:
        """Return the current cloud time in epoch seconds."""
        return self.to_cloud(self._real_time())

    def to_cloud(self, real_epoch: float) -> float:
        """Map a real epoch time to cloud time."""
        return self.origin + (real_epoch - self.origin) * self.scale

    def to_real(self, cloud_epoch: float) -> float:
        """Map a cloud epoch time back to the real epoch time at which it occurs."""
        return self.origin + (cloud_epoch - self.origin) / self.scale

    def real_seconds(self, cloud_seconds: float) -> float:
        """Return how many real seconds ``cloud_seconds`` of cloud time take."""
        return max(0.0, cloud_seconds) / self.scale

    def sleep(self, cloud_seconds: float) -> None:
        """Sleep for ``cloud_seconds`` of cloud time."""
        time.sleep(self.real_seconds(cloud_seconds))

    def wait(self, event: threading.Event, cloud_seconds: float) -> bool:
        """Wait on ``event`` for at most ``cloud_seconds`` of cloud time; True if it was set."""
        return event.wait(self.real_seconds(cloud_seconds))

    def env(self) -> dict[str, str]:
        """Environment variables that give a child process (a Lambda environment) this clock."""
        return {TIME_SCALE_ENV: repr(self.scale), TIME_ORIGIN_ENV: repr(self.origin)}
