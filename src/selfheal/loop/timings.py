"""The one definition of an incident's timings, used by the demo's summary, the dashboard and the report.

All in cloud seconds, from the errors metric (counts per alarm period) and the healer's ledger:

- *onset*: the first errors of the incident: the start of the first period of the unbroken run of periods
  with errors that leads up to the alarm, refined to the first :data:`FINE_PERIOD` bucket with errors
  inside that period when the errors are known that finely (the local cloud keeps every datapoint; on
  AWS a standard-resolution metric answers at its 1-minute resolution and the refinement changes nothing);
- *detect*: onset → ALARM (the ledger's alarm time);
- *act*: ALARM → the healer's configuration update (the ledger's action time; ``HEALED_AT`` is written in
  the same UpdateFunctionConfiguration call);
- *recover*: ALARM → OK (the ledger's OK time, else its ``time_to_recover``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from selfheal.loop.records import Datapoint, IncidentRecord

__all__ = ["FINE_PERIOD", "IncidentTimings", "error_onset", "format_duration", "incident_timings"]

FINE_PERIOD = 10
"""Seconds per bucket of the errors read to place the onset inside its period."""


@dataclass(frozen=True)
class IncidentTimings:
    """When each step happened and how long it took; None where it has not happened (or is unknown)."""

    onset: float | None
    run_start: float | None
    alarm: float
    acted: float | None
    recovered: float | None
    detect: float | None
    act: float | None
    recover: float | None


def error_onset(errors: Sequence[Datapoint], alarm_time: float, period: float) -> float | None:
    """The start of the run of erroring periods that ends at or before ``alarm_time``; None if none."""
    if period <= 0:
        raise ValueError(f"period must be positive, got {period!r}")
    before = sorted((p for p in errors if math.isfinite(p.value) and p.t < alarm_time), key=lambda p: p.t)
    index = len(before) - 1
    while index >= 0 and before[index].value <= 0:
        index -= 1
    if index < 0:
        return None
    onset = before[index].t
    while index > 0 and before[index - 1].value > 0 and onset - before[index - 1].t <= period * 1.5:
        index -= 1
        onset = before[index].t
    return onset


def incident_timings(
    incident: IncidentRecord,
    errors: Sequence[Datapoint],
    period: float,
    fine_errors: Sequence[Datapoint] = (),
) -> IncidentTimings:
    """Detect, act and recover of ``incident`` from its ledger record and the errors per ``period``
    (``fine_errors``: the same errors in smaller buckets, to place the onset inside its period)."""
    alarm = incident.alarm_time
    run_start = error_onset(errors, alarm, period)
    onset = run_start
    if run_start is not None:
        inside = [
            p.t
            for p in fine_errors
            if p.value > 0 and math.isfinite(p.value) and run_start <= p.t < min(run_start + period, alarm)
        ]
        onset = min(inside, default=run_start)
    acted = incident.action_at
    recovered = incident.ok_time
    if recovered is None and incident.time_to_recover is not None:
        recovered = alarm + incident.time_to_recover
    return IncidentTimings(
        onset=onset,
        run_start=run_start,
        alarm=alarm,
        acted=acted,
        recovered=recovered,
        detect=max(0.0, alarm - onset) if onset is not None else None,
        act=max(0.0, acted - alarm) if acted is not None else None,
        recover=max(0.0, recovered - alarm) if recovered is not None else None,
    )


def format_duration(seconds: float | None) -> str:
    """``42 s``, ``3 min 5 s``, ``1 h 2 min`` or ``-`` for None (the dashboard's page writes the same)."""
    if seconds is None:
        return "-"
    seconds = round(seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {seconds % 60:.0f} s"
    return f"{int(seconds // 3600)} h {(seconds % 3600) / 60:.0f} min"
