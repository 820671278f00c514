"""One definition of detect, act and recover (selfheal.loop.timings), on hand-made data, and the three
surfaces — the demo's summary, the dashboard's incident rows and the report — agreeing on one incident."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from rich.console import Console

from healer.ledger import Incident
from selfheal.dashboard.collector import Collector
from selfheal.demo.summary import DemoSummary, loop_timings, render_summary
from selfheal.demo.timeline import Milestones, Timeline
from selfheal.loop.deployment import Deployment
from selfheal.loop.reader import AlarmInfo
from selfheal.loop.records import Datapoint, IncidentRecord
from selfheal.loop.timings import format_duration, incident_timings
from selfheal.report.figures import incident_figures
from selfheal.report.page import IncidentPage, index_html

PERIOD = 60
ALARM = datetime(2027, 1, 15, 8, 0, 0, tzinfo=UTC)
A = ALARM.timestamp()


def test_detect_runs_from_the_first_errors_of_the_run_to_the_alarm() -> None:
    errors = [
        Datapoint(A - 600, 5.0),
        Datapoint(A - 540, 0.0),
        Datapoint(A - 120, 2.0),
        Datapoint(A - 60, 9.0),
    ]
    record = IncidentRecord("i", "RECOVERED", A, action_at=A + 0.5, ok_time=A + 125)
    timings = incident_timings(record, errors, PERIOD)
    assert timings.onset == A - 120
    assert (timings.detect, timings.act, timings.recover) == (120.0, 0.5, 125.0)


def test_finer_errors_place_the_onset_inside_its_period() -> None:
    """At time scale 1 errors began 80 s before the alarm: detect says 80 s, not the period's 120 s."""
    errors = [Datapoint(A - 180, 0.0), Datapoint(A - 120, 8.0), Datapoint(A - 60, 30.0)]
    fine = [Datapoint(A - 130, 0.0), Datapoint(A - 90, 0.0), Datapoint(A - 80, 2.0), Datapoint(A - 70, 3.0)]
    record = IncidentRecord("i", "ACTED", A, action_at=A + 1)
    timings = incident_timings(record, errors, PERIOD, fine)
    assert (timings.run_start, timings.onset, timings.detect) == (A - 120, A - 80, 80.0)
    # Errors in finer buckets outside the run's first period do not move the onset.
    stray = [Datapoint(A - 300, 5.0), Datapoint(A - 30, 5.0)]
    assert incident_timings(record, errors, PERIOD, stray).onset == A - 120


def test_unknown_steps_are_none_and_recover_falls_back_to_the_ledger_figure() -> None:
    record = IncidentRecord("i", "ESCALATED", A)
    timings = incident_timings(record, [], PERIOD)
    assert (timings.onset, timings.detect, timings.act, timings.recover) == (None, None, None, None)
    record = IncidentRecord("i", "RECOVERED", A, action_at=A + 3, time_to_recover=90.0)
    assert incident_timings(record, [Datapoint(A - 60, 1.0)], PERIOD).recover == 90.0


def _ledger_incident() -> Incident:
    return Incident(
        incident_id="inc-1",
        sk="s",
        # The dashboard charts the incidents of its own function: the deployment's alarm and function.
        alarm_name=Deployment.from_prefix("selfheal").alarm_name,
        alarm_arn="arn",
        target=Deployment.from_prefix("selfheal").fragile_function_name,
        status="RECOVERED",
        alarm_time=ALARM,
        opened_at=ALARM,
        action_at=ALARM + timedelta(seconds=3),
        ok_time=ALARM + timedelta(seconds=185),
        time_to_recover=185.0,
    )


class _Reader:
    deployment = Deployment.from_prefix("selfheal")
    target = SimpleNamespace(description="hand-made")

    def __init__(self, incident: IncidentRecord, calls: list[Datapoint], errors: list[Datapoint]) -> None:
        self.record, self.calls, self.errors = incident, calls, errors
        self.fine: list[Datapoint] = []

    def alarm(self) -> AlarmInfo:
        return AlarmInfo("a", "OK", "", 3.0, PERIOD, 1, 1, A + 185)

    def ledger_incidents(self, limit: int) -> list[Incident]:
        return [_ledger_incident()]

    def metrics(self, start: float, end: float, period: int) -> tuple[list[Datapoint], list[Datapoint]]:
        return self.calls, self.errors

    def onset_errors(self, incident: IncidentRecord, period: int) -> list[Datapoint]:
        return self.fine

    def function_variables(self) -> dict[str, str]:
        return {"FAILURE_RATE": "0"}

    def state_changes(self, start: float, end: float) -> None:
        return None


def test_demo_dashboard_and_report_print_the_same_timings_for_one_incident() -> None:
    incident = _ledger_incident()
    record = IncidentRecord.from_ledger(incident)
    starts = [A - 600 + PERIOD * i for i in range(15)]
    calls = [Datapoint(t, 1200.0) for t in starts]
    errors = [Datapoint(t, 30.0 if A - 80 - PERIOD <= t < A + 185 else 0.0) for t in starts]

    fine = [Datapoint(t, 0.0) for t in range(int(A - 600), int(A - 80), 10)] + [Datapoint(A - 80, 4.0)]

    timeline = Timeline(baseline="0.5", marks=Milestones(first_failure=1.0, alarm=2.5, acted=2.6, ok=5.0))
    timeline.incident = incident
    out = io.StringIO()
    render_summary(
        DemoSummary(60.0, loop_timings(timeline, 60.0, errors, PERIOD, fine), 100, 10, (), 9.0),
        Console(file=out, width=140, color_system=None),
    )
    demo = out.getvalue()

    reader = _Reader(record, calls, errors)
    reader.fine = fine
    row = Collector(reader, now=lambda: A + 400).sample()["incidents"][0]  # type: ignore[arg-type]
    dashboard = [format_duration(row[name]) for name in ("detect", "act", "recover")]

    figures = incident_figures(record, errors, calls, PERIOD, fine)
    report = index_html([IncidentPage(record, figures, "inc-1.html")], "1h", "hand-made")

    assert dashboard == ["80 s", "3 s", "3 min 5 s"]
    for text in dashboard:
        assert text in demo and text in report, (text, demo, report)
