"""Pure functions from collected data to what an operator wants to know about an incident.

Onset, detect, act and recover are defined once, in :mod:`selfheal.loop.timings`; here in addition:

- *errors served*: the errors counted from the onset's period up to the period in which the alarm was OK
  again (or the end of the data while it is not).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from selfheal.loop.records import AlarmSegment, Datapoint, IncidentRecord, StateChange
from selfheal.loop.timings import error_onset, incident_timings

__all__ = [
    "IncidentFigures",
    "alarm_segments",
    "error_onset",
    "error_rate",
    "incident_figures",
    "per_second",
]


@dataclass(frozen=True)
class IncidentFigures:
    """The figures of one incident; None where the event has not happened (yet)."""

    onset: float | None
    alarm: float
    action: float | None
    recovered: float | None
    time_to_detect: float | None
    time_to_act: float | None
    time_to_recover: float | None
    errors_served: float
    requests_served: float


def _sorted(points: Sequence[Datapoint]) -> list[Datapoint]:
    return sorted((p for p in points if math.isfinite(p.value)), key=lambda p: p.t)


def _total(points: Sequence[Datapoint], start: float, end: float | None) -> float:
    return sum(p.value for p in _sorted(points) if p.t >= start and (end is None or p.t < end))


def incident_figures(
    incident: IncidentRecord,
    errors: Sequence[Datapoint],
    invocations: Sequence[Datapoint],
    period: float,
    fine_errors: Sequence[Datapoint] = (),
) -> IncidentFigures:
    """Compute the figures of ``incident`` from the error and invocation counts per ``period`` (and the
    errors in finer buckets, which place the onset inside its period)."""
    timings = incident_timings(incident, errors, period, fine_errors)
    start = timings.run_start if timings.run_start is not None else timings.alarm - period
    return IncidentFigures(
        onset=timings.onset,
        alarm=timings.alarm,
        action=timings.acted,
        recovered=timings.recovered,
        time_to_detect=timings.detect,
        time_to_act=timings.act,
        time_to_recover=timings.recover,
        errors_served=_total(errors, start, timings.recovered),
        requests_served=_total(invocations, start, timings.recovered),
    )


def alarm_segments(
    changes: Sequence[StateChange], start: float, end: float, current: str | None = None
) -> list[AlarmSegment]:
    """The alarm's states between ``start`` and ``end`` from its state changes (any order).

    Before the first change the state is that change's ``old``; with no change at all it is ``current``
    (nothing is returned when that is unknown too).
    """
    if end < start:
        raise ValueError(f"end {end!r} is before start {start!r}")
    ordered = sorted(changes, key=lambda c: c.t)
    state = ordered[0].old if ordered else current
    cursor = start
    segments: list[AlarmSegment] = []
    for change in ordered:
        if change.t > cursor and state is not None and change.t > start:
            segments.append(AlarmSegment(cursor, min(change.t, end), state))
        cursor = max(cursor, change.t)
        state = change.new
        if cursor >= end:
            break
    if state is not None and cursor < end:
        segments.append(AlarmSegment(cursor, end, state))
    merged: list[AlarmSegment] = []
    for segment in segments:
        if merged and merged[-1].state == segment.state and merged[-1].end >= segment.start:
            merged[-1] = AlarmSegment(merged[-1].start, segment.end, segment.state)
        else:
            merged.append(segment)
    return merged


def error_rate(errors: Sequence[Datapoint], invocations: Sequence[Datapoint]) -> list[Datapoint]:
    """Errors as a percentage of invocations for each period that had invocations."""
    calls = {p.t: p.value for p in invocations}
    return [
        Datapoint(p.t, 100.0 * min(p.value, calls[p.t]) / calls[p.t])
        for p in _sorted(errors)
        if calls.get(p.t, 0) > 0
    ]


def per_second(points: Sequence[Datapoint], period: float) -> list[Datapoint]:
    """Counts per period turned into rates per second."""
    if period <= 0:
        raise ValueError(f"period must be positive, got {period!r}")
    return [Datapoint(p.t, p.value / period) for p in _sorted(points)]
