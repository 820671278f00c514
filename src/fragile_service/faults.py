"""Failure-injection configuration: parsing it from the environment and deciding whether a request fails.

Parsing never raises. A malformed value (``FAILURE_RATE=abc``, ``1.7``, an unknown mode, a status code
outside 400-599, ...) is reported in ``FaultConfig.errors`` and the whole configuration injects
nothing, so a typo cannot turn into every request failing.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal, cast, get_args

__all__ = [
    "DEFAULT_FAILURE_STATUS_CODE",
    "DEFAULT_LATENCY_MS",
    "ENV_VARS",
    "FailureMode",
    "FaultConfig",
    "decide_fault",
    "parse_config",
]

FailureMode = Literal["exception", "latency", "timeout", "status"]
_MODES: Final[frozenset[str]] = frozenset(get_args(FailureMode))

ENV_VARS: Final[tuple[str, ...]] = (
    "FAILURE_RATE",
    "FAILURE_MODE",
    "LATENCY_MS",
    "FAILURE_STATUS_CODE",
    "FAILURE_INJECTION_ENABLED",
)

DEFAULT_LATENCY_MS: Final = 2000
DEFAULT_FAILURE_STATUS_CODE: Final = 503
# Lambda's own limit: no invocation lives longer than 900 s.
_MAX_LATENCY_MS: Final = 900_000

_TRUE: Final = frozenset({"true", "1", "yes", "on"})
_FALSE: Final = frozenset({"false", "0", "no", "off"})


@dataclass(frozen=True, slots=True)
class FaultConfig:
    """What the service injects: ``rate`` is the probability that one request fails in ``mode``."""

    enabled: bool = True
    rate: float = 0.0
    mode: FailureMode = "exception"
    latency_ms: int = DEFAULT_LATENCY_MS
    status_code: int = DEFAULT_FAILURE_STATUS_CODE
    errors: tuple[str, ...] = field(default=())

    @property
    def active(self) -> bool:
        """Whether any request can fail: enabled, well-formed and with a positive rate."""
        return self.enabled and not self.errors and self.rate > 0.0

    def as_dict(self) -> dict[str, object]:
        """The configuration as JSON-ready values, for responses and logs."""
        return {
            "enabled": self.enabled,
            "rate": self.rate,
            "mode": self.mode,
            "latency_ms": self.latency_ms,
            "status_code": self.status_code,
            "errors": list(self.errors),
        }


def _parse_rate(raw: str | None, errors: list[str]) -> float:
    if raw is None or raw.strip() == "":
        return 0.0
    try:
        rate = float(raw)
    except ValueError:
        errors.append(f"FAILURE_RATE={raw!r} is not a number; expected a probability between 0 and 1")
        return 0.0
    if not math.isfinite(rate) or not 0.0 <= rate <= 1.0:
        errors.append(f"FAILURE_RATE={raw!r} is outside [0, 1]")
        return 0.0
    return rate


def _parse_mode(raw: str | None, errors: list[str]) -> FailureMode:
    if raw is None or raw.strip() == "":
        return "exception"
    mode = raw.strip().lower()
    if mode not in _MODES:
        errors.append(f"FAILURE_MODE={raw!r} is not one of {', '.join(sorted(_MODES))}")
        return "exception"
    return cast(FailureMode, mode)


def _parse_int(name: str, raw: str | None, default: int, low: int, high: int, errors: list[str]) -> int:
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        errors.append(f"{name}={raw!r} is not a whole number")
        return default
    if not low <= value <= high:
        errors.append(f"{name}={raw!r} is outside [{low}, {high}]")
        return default
    return value


def _parse_enabled(raw: str | None, errors: list[str]) -> bool:
    if raw is None or raw.strip() == "":
        return True
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    errors.append(f"FAILURE_INJECTION_ENABLED={raw!r} is not true or false")
    return False


def parse_config(env: Mapping[str, str]) -> FaultConfig:
    """Read the failure-injection variables from ``env``; never raises (see the module docstring)."""
    errors: list[str] = []
    enabled = _parse_enabled(env.get("FAILURE_INJECTION_ENABLED"), errors)
    rate = _parse_rate(env.get("FAILURE_RATE"), errors)
    mode = _parse_mode(env.get("FAILURE_MODE"), errors)
    latency_ms = _parse_int(
        "LATENCY_MS", env.get("LATENCY_MS"), DEFAULT_LATENCY_MS, 0, _MAX_LATENCY_MS, errors
    )
    status_code = _parse_int(
        "FAILURE_STATUS_CODE", env.get("FAILURE_STATUS_CODE"), DEFAULT_FAILURE_STATUS_CODE, 400, 599, errors
    )
    return FaultConfig(
        enabled=enabled,
        rate=rate,
        mode=mode,
        latency_ms=latency_ms,
        status_code=status_code,
        errors=tuple(errors),
    )


def decide_fault(config: FaultConfig, rng: random.Random) -> FailureMode | None:
    """The failure mode to inject into this request, or None; draws from ``rng`` only when one is possible."""
    if not config.active:
        return None
    # random() is in [0, 1): rate 1.0 always fails, rate 0.0 never does.
    return config.mode if rng.random() < config.rate else None
