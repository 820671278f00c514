"""The demo's knobs and the Terraform variables it applies (kept apart so the CLI imports them cheaply)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from selfheal.demo.scenarios import ALL, DEFAULT_SCENARIO, resolve_scenarios

__all__ = ["DEFAULT_DEADLINE", "DEFAULT_RATE", "DEFAULT_TIME_SCALE", "DemoSettings"]

DEFAULT_TIME_SCALE = 20.0
DEFAULT_RATE = 20.0
DEFAULT_DEADLINE = 60.0


@dataclass(frozen=True)
class DemoSettings:
    """The demo's knobs; the Terraform variables it applies are fixed so its numbers are comparable."""

    time_scale: float = DEFAULT_TIME_SCALE
    rate: float = DEFAULT_RATE
    deadline: float = DEFAULT_DEADLINE
    keep: bool = False
    port: int = 0
    dashboard: bool = True
    dashboard_port: int | None = None
    failure_rate: float = 0.3
    poll_seconds: float = 0.25
    scenario: str = DEFAULT_SCENARIO
    break_after: float = 2.0  # real seconds of clean traffic before a scenario causes its failure

    def __post_init__(self) -> None:
        if not (math.isfinite(self.time_scale) and 1 <= self.time_scale <= 3600):
            raise ValueError(f"--time-scale must be from 1 to 3600, got {self.time_scale:g}")
        if not (math.isfinite(self.rate) and 0 < self.rate <= 200):
            raise ValueError(f"--rate must be above 0 and at most 200 requests per second, got {self.rate:g}")
        if not (math.isfinite(self.deadline) and 0 < self.deadline <= 3600):
            raise ValueError(f"--deadline must be above 0 and at most 3600 seconds, got {self.deadline:g}")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"--port must be from 0 to 65535, got {self.port}")
        if self.dashboard_port is not None and not 0 <= self.dashboard_port <= 65535:
            raise ValueError(f"--dashboard-port must be from 0 to 65535, got {self.dashboard_port}")
        if self.dashboard_port and self.dashboard_port == self.port:
            raise ValueError(
                f"--dashboard-port {self.dashboard_port} is the local cloud's --port; choose another"
            )
        if not 0 < self.failure_rate <= 1:
            raise ValueError(f"failure rate must be above 0 and at most 1, got {self.failure_rate:g}")
        resolve_scenarios(self.scenario)
        if self.keep and self.scenario == ALL:
            raise ValueError(f"--keep keeps one scenario's deployment: name one with --scenario, not {ALL}")

    @property
    def scenarios(self) -> tuple[str, ...]:
        """The scenarios to run, in order (``all``: every one)."""
        return resolve_scenarios(self.scenario)

    def variables(self) -> dict[str, str]:
        """Terraform variables: errors alarm of 60 s periods, 2 of 2 at ≥ 3 errors, 30 % failures."""
        return {
            "failure_rate": f"{self.failure_rate:g}",
            "alarm_period_seconds": "60",
            "alarm_evaluation_periods": "2",
            "alarm_datapoints_to_alarm": "2",
            "alarm_threshold": "3",
        }
