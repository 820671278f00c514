"""The collector's snapshot on hand-made loop data: cards, the last complete period, incident figures."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from selfheal.dashboard import collector as collector_module
from selfheal.dashboard.collector import Collector
from selfheal.loop.deployment import Deployment
from selfheal.loop.reader import AlarmInfo
from selfheal.loop.records import Datapoint, IncidentRecord

PERIOD = 60
T0 = 1_800_000_000.0  # a period boundary


class FakeReader:
    """A loop at a steady 20 req/s; one incident whose errors began at T0 + 600."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.deployment = Deployment.from_prefix("selfheal")
        self.target = SimpleNamespace(description="hand-made data")
        self.reads: list[tuple[float, float]] = []
        self.alarm_updated = T0 + 840
        self.incident = IncidentRecord(
            "i-1", "RECOVERED", alarm_time=T0 + 720, action_at=T0 + 721, ok_time=T0 + 840
        )

    def alarm(self) -> AlarmInfo:
        return AlarmInfo("alarm", "OK", "fine", 3.0, PERIOD, 1, 1, self.alarm_updated)

    def ledger_incidents(self, limit: int) -> list[Any]:
        return [as_ledger(self.incident, self.deployment.fragile_function_name)]

    def metrics(self, start: float, end: float, period: int) -> tuple[list[Datapoint], list[Datapoint]]:
        self.reads.append((start, end))
        first = max(T0, start - start % period)
        starts = [t for t in range(int(first), int(min(end, self.now)), period)]
        calls = [Datapoint(t, 1200.0 if t + period <= self.now else 40.0) for t in starts]
        errors = [Datapoint(t, 25.0 if T0 + 600 <= t < T0 + 840 else 0.0) for t in starts]
        return calls, errors

    def onset_errors(self, incident: IncidentRecord, period: int) -> list[Datapoint]:
        return []

    def function_variables(self) -> dict[str, str]:
        return {
            "FAILURE_RATE": "0",
            "HEALED_AT": "2027-01-15T08:00:00Z",
            "HEALED_BY": "selfheal-healer",
            "PREVIOUS_FAILURE_RATE": "0.5",
            "OTHER": "x",
        }

    def state_changes(self, start: float, end: float) -> list[Any]:
        return []


def as_ledger(record: IncidentRecord, target: str, alarm: str = "selfheal-fragile-errors") -> Any:
    """The ledger's incident item (as ``healer.ledger.Incident`` reads it) that ``record`` comes from."""

    def when(t: float | None) -> datetime | None:
        return None if t is None else datetime.fromtimestamp(t, UTC)

    return SimpleNamespace(
        incident_id=record.incident_id,
        status=record.status,
        alarm_name=alarm,
        target=target,
        alarm_time=when(record.alarm_time),
        decision=record.decision,
        reason=record.reason,
        decided_at=when(record.decided_at),
        action=record.action,
        action_at=when(record.action_at),
        ok_time=when(record.ok_time),
        previous_failure_rate=record.previous_failure_rate,
        time_to_recover=record.time_to_recover,
        transitions=(),
        steps=(),
    )


def collector(reader: FakeReader, window_periods: int = 30) -> Collector:
    return Collector(reader, now=lambda: reader.now, window_periods=window_periods)  # type: ignore[arg-type]


def test_snapshot_carries_the_previous_failure_rate() -> None:
    snap = collector(FakeReader(T0 + 1200)).sample()
    assert snap["function"]["PREVIOUS_FAILURE_RATE"] == "0.5"
    assert "OTHER" not in snap["function"]


def test_last_period_is_the_last_complete_one() -> None:
    reader = FakeReader(T0 + 1200 + 5)  # 5 s into a period that has 40 requests so far
    snap = collector(reader).sample()
    assert snap["last_period"] == {"start": T0 + 1140, "requests": 1200.0, "errors": 0.0}


def test_last_period_is_zero_once_traffic_stopped() -> None:
    calls = [Datapoint(T0, 1200.0)]
    errors = [Datapoint(T0, 7.0)]
    assert collector_module.last_complete_period(calls, errors, T0 + 10 * PERIOD, PERIOD) == {
        "start": T0 + 9 * PERIOD,
        "requests": 0,
        "errors": 0,
    }


def test_incident_keeps_its_figures_after_it_scrolls_out_of_the_window() -> None:
    reader = FakeReader(T0 + 1200)
    live = collector(reader, window_periods=10)
    first = live.sample()["incidents"][0]
    assert first["errors_served"] == 100.0 and first["detect"] == 120.0
    reader.now = T0 + 3 * 3600  # the incident is hours out of the ten-period window
    later = collector(reader, window_periods=10).sample()["incidents"][0]
    assert later["errors_served"] == 100.0
    assert (later["detect"], later["act"], later["recover"]) == (120.0, 1.0, 120.0)


def test_failure_rate_steps_at_the_healers_action_not_at_the_next_sample() -> None:
    reader = FakeReader(T0 + 700)
    rates = iter(["0.5", "0"])
    reader.function_variables = lambda: {"FAILURE_RATE": next(rates)}  # type: ignore[method-assign]
    reader.incident = IncidentRecord("i-2", "ACTING", alarm_time=T0 + 690)
    reader.alarm_updated = T0 + 690
    live = collector(reader)
    live.sample()
    reader.now = T0 + 760  # the healer acted at T0 + 721, between the two samples
    reader.incident = IncidentRecord("i-2", "ACTED", alarm_time=T0 + 690, action_at=T0 + 721)
    assert live.sample()["failure_rate"][-2:] == [[T0 + 700, 0.5], [T0 + 721, 0.0]]
