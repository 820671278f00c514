"""Loop latency: how fast the local cloud detects, acts and recovers, against the floor the alarm allows.

Two scenarios, each with its own loops (one incident per loop, FAILURE_RATE 1, exception mode, steady
traffic through the HTTP API):

- **real time**: time scale 1, 10 s high-resolution periods, 2 of 2 datapoints, threshold 3;
- **scaled**: the module's defaults (period 60 s, 2 of 2, threshold 3) at time scale 60.

Figures: *evaluation lag* (period boundary → state transition, real ms, over every transition seen),
*time to act* (ALARM → UpdateFunctionConfiguration applied → first response served with FAILURE_RATE 0,
real seconds), *time to recover* (ALARM → OK, cloud seconds) and its ratio to the floor implied by the
alarm settings: to leave ALARM, ``N - M + 1`` consecutive clean periods must be evaluated, so the floor is
``(N - M + 1) * period``. Targets: lag < 100 ms, time to act < 1 s, recovery <= 1.15 x floor.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.common import machine, print_table, save_json

__all__ = ["Scenario", "run"]

TARGET_LAG_MS = 100.0
TARGET_ACT_S = 1.0
TARGET_RECOVERY_RATIO = 1.15


@dataclass(frozen=True)
class Scenario:
    """One way of running the loop."""

    name: str
    time_scale: float
    period: int
    evaluation_periods: int = 2
    datapoints_to_alarm: int = 2
    threshold: float = 3.0
    rate: float = 5.0
    repeats: int = 2

    @property
    def floor_cloud_seconds(self) -> float:
        """The shortest possible ALARM → OK in cloud seconds."""
        return float((self.evaluation_periods - self.datapoints_to_alarm + 1) * self.period)


@dataclass
class _Traffic:
    url: str
    rate: float
    log: list[tuple[float, int]] = field(default_factory=list)  # (real completion time, status)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with httpx.Client(timeout=20) as http:
            next_at = time.monotonic()
            while not self._stop.is_set():
                try:
                    status = http.get(self.url).status_code
                except httpx.HTTPError:
                    status = 0
                self.log.append((time.time(), status))
                next_at += 1.0 / self.rate
                self._stop.wait(max(0.0, next_at - time.monotonic()))

    def stop(self) -> None:
        self._stop.set()


def _one(cloud: Any, scenario: Scenario, index: int) -> dict[str, Any]:
    from selfheal.cloud.alarm_scheduler import AlarmScheduler
    from selfheal.cloud.testing import provision_loop

    prefix = f"{scenario.name}-{index}"
    loop = provision_loop(
        cloud,
        name_prefix=prefix,
        failure_rate=1.0,
        alarm_period_seconds=scenario.period,
        alarm_evaluation_periods=scenario.evaluation_periods,
        alarm_datapoints_to_alarm=scenario.datapoints_to_alarm,
        alarm_threshold=scenario.threshold,
    )
    scheduler = AlarmScheduler.of(cloud)
    backend = cloud.backend("lambda")
    applied: list[float] = []
    original: Callable[..., Any] = backend.update_function_configuration

    def update(function_name: str, qualifier: Any, body: dict[str, Any]) -> Any:
        result = original(function_name, qualifier, body)
        variables = (body.get("Environment") or {}).get("Variables", {})
        if function_name.endswith(loop.fragile_function_name) and variables.get("FAILURE_RATE") == "0":
            applied.append(time.time())
        return result

    backend.update_function_configuration = update
    traffic = _Traffic(f"{loop.api_endpoint}/bench", scenario.rate)
    thread = threading.Thread(target=traffic.run, daemon=True)
    thread.start()
    step = max(60.0, scenario.period / scenario.time_scale * (scenario.evaluation_periods + 3) * 2)
    try:
        alarm = scheduler.wait_for(loop.alarm_name, "ALARM", step)
        if alarm is None:
            raise RuntimeError(f"{prefix}: the alarm never went to ALARM")
        ok = scheduler.wait_for(loop.alarm_name, "OK", step, after=scheduler.transitions.index(alarm) + 1)
        if ok is None:
            raise RuntimeError(f"{prefix}: the alarm never returned to OK")
        time.sleep(0.2)
    finally:
        traffic.stop()
        thread.join(timeout=30)
        backend.__dict__.pop("update_function_configuration", None)
    first_healthy = next((t for t, status in traffic.log if status == 200 and t > alarm.real_time), None)
    recover_cloud = ok.timestamp - alarm.timestamp
    return {
        "alarm_real": alarm.real_time,
        "act_applied_s": (applied[0] - alarm.real_time) if applied else None,
        "act_first_healthy_s": (first_healthy - alarm.real_time) if first_healthy else None,
        "recover_cloud_s": recover_cloud,
        "recover_ratio": recover_cloud / scenario.floor_cloud_seconds,
        "requests": len(traffic.log),
    }


def _lags(cloud: Any, names: set[str]) -> list[float]:
    from selfheal.cloud.alarm_scheduler import AlarmScheduler

    lags = []
    for transition in AlarmScheduler.of(cloud).transitions:
        if transition.alarm_name in names and transition.boundary is not None:
            lags.append((transition.real_time - cloud.clock.to_real(transition.boundary)) * 1000.0)
    return lags


def _scenario(scenario: Scenario) -> dict[str, Any]:
    from selfheal.cloud import LocalCloud

    with LocalCloud(port=0, time_scale=scenario.time_scale) as cloud:
        incidents = [_one(cloud, scenario, i) for i in range(scenario.repeats)]
        names = {f"{scenario.name}-{i}-fragile-errors" for i in range(scenario.repeats)}
        lags = _lags(cloud, names)
    return {"scenario": scenario.__dict__, "incidents": incidents, "lags_ms": lags}


def run(
    scenarios: tuple[Scenario, ...] = (
        Scenario("realtime", time_scale=1.0, period=10, repeats=2),
        Scenario("scaled", time_scale=60.0, period=60, repeats=3),
    ),
) -> dict[str, Any]:
    """Run each scenario, print the figures and their targets, return them."""
    where = machine()
    results: dict[str, Any] = {"machine": where, "scenarios": []}
    rows: list[list[object]] = []
    for scenario in scenarios:
        outcome = _scenario(scenario)
        results["scenarios"].append(outcome)
        lags = outcome["lags_ms"]
        for number, incident in enumerate(outcome["incidents"]):
            rows.append(
                [
                    scenario.name,
                    number,
                    f"{scenario.period}s {scenario.datapoints_to_alarm}/{scenario.evaluation_periods} "
                    f"x{scenario.time_scale:g}",
                    incident["act_applied_s"] if incident["act_applied_s"] is not None else "-",
                    incident["act_first_healthy_s"] if incident["act_first_healthy_s"] is not None else "-",
                    incident["recover_cloud_s"],
                    scenario.floor_cloud_seconds,
                    incident["recover_ratio"],
                ]
            )
        outcome["lag_summary_ms"] = {
            "n": len(lags),
            "median": statistics.median(lags) if lags else None,
            "max": max(lags) if lags else None,
        }
    print_table(
        f"Loop latency (load avg {where['loadavg_1m']} on {where['cpus']} cpus)",
        [
            "scenario",
            "#",
            "alarm",
            "act applied s",
            "first healthy s",
            "ALARM->OK cloud s",
            "floor s",
            "ratio",
        ],
        rows,
    )
    lag_rows = [
        [
            o["scenario"]["name"],
            o["lag_summary_ms"]["n"],
            o["lag_summary_ms"]["median"],
            o["lag_summary_ms"]["max"],
        ]
        for o in results["scenarios"]
    ]
    print_table(
        "Evaluation lag (boundary -> transition, real ms)", ["scenario", "n", "median", "max"], lag_rows
    )
    verdicts = []
    for outcome in results["scenarios"]:
        name = outcome["scenario"]["name"]
        lag = outcome["lag_summary_ms"]["max"] or 0.0
        acts = [
            i["act_first_healthy_s"] for i in outcome["incidents"] if i["act_first_healthy_s"] is not None
        ]
        ratios = [i["recover_ratio"] for i in outcome["incidents"]]
        verdicts.append(
            f"{name}: lag max {lag:.0f} ms ({'met' if lag < TARGET_LAG_MS else 'MISSED'}), "
            f"time to act max {max(acts, default=float('nan')):.2f} s "
            f"({'met' if acts and max(acts) < TARGET_ACT_S else 'MISSED'}), "
            f"recovery ratio max {max(ratios):.2f} "
            f"({'met' if max(ratios) <= TARGET_RECOVERY_RATIO else 'MISSED'})"
        )
    print("\n" + "\n".join(verdicts))
    results["verdicts"] = verdicts
    save_json("loop", results)
    return results


QUICK: dict[str, object] = {
    "scenarios": (Scenario("scaled", time_scale=60.0, period=60, repeats=1),),
}
