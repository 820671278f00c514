"""The demo's closing report: time to detect, act and recover (cloud and real seconds), errors served,
and the drift Terraform sees after the healer changed the function behind its back."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from selfheal.demo.timeline import Timeline
from selfheal.loop.records import Datapoint, IncidentRecord
from selfheal.loop.timings import format_duration, incident_timings

__all__ = ["DemoSummary", "Timing", "drift_lines", "loop_timings", "render_summary"]

_DRIFT_LINE = re.compile(r'"(FAILURE_RATE|PREVIOUS_FAILURE_RATE|HEALED_[A-Z]+)"\s*=')
_PLAN_LINE = re.compile(r"^Plan: \d+ to add, \d+ to change, \d+ to destroy")


@dataclass(frozen=True)
class Timing:
    """One step of the loop: ``span`` took ``cloud_seconds`` (``real_seconds`` at the time scale)."""

    step: str
    span: str
    cloud_seconds: float | None
    real_seconds: float | None
    source: str


@dataclass(frozen=True)
class DemoSummary:
    """Everything the summary prints; ``failure`` is None when the loop was verified."""

    time_scale: float
    timings: tuple[Timing, ...]
    requests: int
    errors_served: int
    drift: tuple[str, ...]
    wall_seconds: float
    failure: str | None = None
    scenario: str = "flag"
    change: str | None = None
    drift_note: str | None = None
    title: str = "loop verified"
    notes: tuple[str, ...] = ()
    traffic: str = "requests"


def _pair(cloud: float | None, real: float | None, scale: float) -> tuple[float | None, float | None]:
    if cloud is None and real is not None:
        cloud = real * scale
    if real is None and cloud is not None:
        real = cloud / scale
    return cloud, real


def loop_timings(
    timeline: Timeline,
    scale: float,
    errors: Sequence[Datapoint] = (),
    period: float = 60.0,
    fine_errors: Sequence[Datapoint] = (),
    act_span: str = "ALARM → configuration updated",
) -> tuple[Timing, ...]:
    """Detect, act and recover as :func:`selfheal.loop.timings.incident_timings` defines them for the
    dashboard and the report too: from the ledger's incident and the ``errors`` metric per ``period``.

    Where a step is not in the cloud's records (no incident, no errors counted), the demo's own
    observation stands in (real seconds since traffic started, as precise as the polling); cloud time runs
    ``scale`` times faster, so r real seconds are r * scale cloud seconds. ``act_span`` names what the
    healer's action changed.
    """
    marks, incident = timeline.marks, timeline.incident

    def observed(start: float | None, end: float | None) -> float | None:
        return end - start if start is not None and end is not None else None

    recorded = (
        incident_timings(IncidentRecord.from_ledger(incident), errors, period, fine_errors)
        if incident is not None
        else None
    )

    def step(name: str, span: str, cloud: float | None, fallback: float | None, source: str) -> Timing:
        if cloud is not None:
            return Timing(name, span, *_pair(cloud, None, scale), source)
        return Timing(name, span, *_pair(None, fallback, scale), "observed")

    rows = (  # name, span, where the cloud's figure comes from, what the demo saw
        ("detect", "first failure → ALARM", "metrics + ledger", observed(marks.first_failure, marks.alarm)),
        ("act", act_span, "ledger", observed(marks.alarm, marks.acted)),
        ("recover", "ALARM → OK", "ledger", observed(marks.alarm, marks.ok)),
    )
    return tuple(
        step(name, span, getattr(recorded, name) if recorded else None, fallback, source)
        for name, span, source, fallback in rows
    )


def drift_lines(plan_output: str, pattern: re.Pattern[str] | None = None) -> tuple[str, ...]:
    """The lines of a plan's text that show the healer's changes being reverted, and the plan's tally;
    ``pattern`` picks other lines than FAILURE_RATE's and the healer's markers (the plan line always)."""
    picked = pattern or _DRIFT_LINE
    return tuple(
        line.strip()
        for line in plan_output.splitlines()
        if picked.search(line) or _PLAN_LINE.match(line.strip())
    )


def _seconds(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.2f} s" if value < 1 else f"{value:.1f} s"


def render_summary(summary: DemoSummary, console: Console) -> None:
    """Print the summary: a table of timings, the traffic totals and the drift lines."""
    title = summary.title if summary.failure is None else f"NOT as expected ({summary.title})"
    if summary.title == "loop verified" and summary.failure is not None:
        title = "loop NOT verified"
    table = Table(
        title=f"{title} — scenario {summary.scenario}, time scale {summary.time_scale:g}",
        title_justify="left",
    )
    for column in ("step", "span", "cloud", "real", "from"):
        table.add_column(column, justify="right" if column in ("cloud", "real") else "left")
    for t in summary.timings:
        cloud = "—" if t.cloud_seconds is None else format_duration(t.cloud_seconds)
        table.add_row(t.step, t.span, cloud, _seconds(t.real_seconds), t.source)
    console.print(table)
    share = summary.errors_served / summary.requests if summary.requests else 0.0
    if summary.traffic == "requests":
        served = f"errors served (5xx): {summary.errors_served} ({share:.1%})"
        console.print(f"requests served: {summary.requests}; {served}", markup=False)
    else:
        console.print(f"{summary.traffic} sent: {summary.requests}", markup=False)
    if summary.change:
        console.print(f"healed: {summary.change}", markup=False, highlight=False)
    for line in summary.notes:
        console.print(line, markup=False, highlight=False)
    if summary.drift:
        console.print("terraform plan — the drift the next apply reverts:", markup=False)
        for line in summary.drift:
            console.print(f"  {line}", markup=False, highlight=False)
        if summary.drift_note:
            console.print(f"  ({summary.drift_note})", markup=False, highlight=False)
    console.print(f"demo wall time: {summary.wall_seconds:.1f} s", markup=False)
    if summary.failure is not None:
        console.print(f"[bold red]failed:[/bold red] {summary.failure}", highlight=False)
