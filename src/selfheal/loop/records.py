"""The loop's data as plain values: metric datapoints, alarm state changes, healer incidents.

Everything the dashboard draws and the report renders is one of these, timestamped in epoch seconds of
*cloud* time (the local cloud's scaled clock, or real time on AWS), so the pure functions in
:mod:`selfheal.report.figures` can be tested on hand-made data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

__all__ = [
    "ALARM_STATES",
    "AlarmSegment",
    "AlarmState",
    "Datapoint",
    "IncidentRecord",
    "StateChange",
    "epoch",
]

AlarmState = Literal["OK", "ALARM", "INSUFFICIENT_DATA"]
ALARM_STATES: tuple[AlarmState, ...] = ("OK", "ALARM", "INSUFFICIENT_DATA")


def epoch(moment: datetime | None) -> float | None:
    """Epoch seconds of an aware (or naive UTC) datetime; None stays None."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        from datetime import UTC

        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


@dataclass(frozen=True)
class Datapoint:
    """One metric value for the period starting at ``t``."""

    t: float
    value: float


@dataclass(frozen=True)
class StateChange:
    """The alarm went from ``old`` to ``new`` at ``t``."""

    t: float
    old: str
    new: str
    reason: str = ""


@dataclass(frozen=True)
class AlarmSegment:
    """The alarm was in ``state`` from ``start`` to ``end``."""

    start: float
    end: float
    state: str


@dataclass(frozen=True)
class IncidentRecord:
    """One incident as the ledger holds it, with times as epoch seconds."""

    incident_id: str
    status: str
    alarm_time: float
    decision: str | None = None
    reason: str | None = None
    decided_at: float | None = None
    action: str | None = None
    action_at: float | None = None
    ok_time: float | None = None
    previous_failure_rate: str | None = None
    time_to_recover: float | None = None
    transitions: tuple[tuple[str, float], ...] = field(default=())

    @classmethod
    def from_ledger(cls, incident: Any) -> IncidentRecord:
        """Convert a ``healer.ledger.Incident``."""
        return cls(
            incident_id=str(incident.incident_id),
            status=str(incident.status),
            alarm_time=epoch(incident.alarm_time) or 0.0,
            decision=incident.decision,
            reason=incident.reason,
            decided_at=epoch(incident.decided_at),
            action=incident.action,
            action_at=epoch(incident.action_at),
            ok_time=epoch(incident.ok_time),
            previous_failure_rate=incident.previous_failure_rate,
            time_to_recover=incident.time_to_recover,
            transitions=tuple(
                (t.state, value) for t in incident.transitions if (value := epoch(t.time)) is not None
            ),
        )

    @property
    def escalated(self) -> bool:
        """True when the healer handed this incident to people."""
        return self.status in ("ESCALATED", "UNVERIFIED", "FAILED")
