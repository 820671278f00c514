"""What the demo has seen of the loop so far: samples in, events and milestones out.

The demo polls the local cloud (traffic counters, DescribeAlarms, GetFunctionConfiguration, the healer's
ledger) and feeds each :class:`Sample` to a :class:`Timeline`. The timeline keeps the latest values for
the live view, turns changes into one-line events, and records when each step of the loop was first seen
(real seconds since the traffic started), which the summary turns into time to detect/act/recover.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from healer.ledger import Incident
from selfheal.loop.traffic import TrafficSnapshot

__all__ = ["GAVE_UP", "VERIFIED", "Event", "Milestones", "Sample", "Timeline"]

VERIFIED = "RECOVERED"
GAVE_UP = frozenset({"ESCALATED", "FAILED", "UNVERIFIED", "OBSERVED", "AWAITING_APPROVAL"})
_RATE_WINDOW = 3.0


@dataclass(frozen=True)
class Sample:
    """One poll: real seconds since traffic started, and what the cloud reported (None: not known)."""

    at: float
    traffic: TrafficSnapshot | None = None
    alarm_state: str | None = None
    alarm_reason: str | None = None
    failure_rate: str | None = None
    incidents: tuple[Incident, ...] = ()
    healed_at: str | None = None


@dataclass(frozen=True)
class Event:
    """Something that changed, at real second ``at`` since traffic started."""

    at: float
    kind: str
    text: str


@dataclass
class Milestones:
    """When each step was first seen (real seconds since traffic started)."""

    first_failure: float | None = None
    alarm: float | None = None
    acted: float | None = None
    ok: float | None = None
    verified: float | None = None


@dataclass
class Timeline:
    """Accumulates samples; ``baseline`` is the value of the watched ``setting`` (the sample's
    ``failure_rate``: FAILURE_RATE, or the version an alias names) before the healer acted; ``ends`` is
    the incident status the scenario expects to end in (a verified recovery unless it says otherwise)."""

    baseline: str
    setting: str = "FAILURE_RATE"
    ends: str = VERIFIED
    events: list[Event] = field(default_factory=list)
    marks: Milestones = field(default_factory=Milestones)
    latest: Sample = field(default_factory=lambda: Sample(0.0))
    incident: Incident | None = None
    _window: deque[tuple[float, int, int]] = field(default_factory=deque)
    _seen_incidents: dict[str, tuple[str, str | None, str | None]] = field(default_factory=dict)

    def observe(self, sample: Sample) -> list[Event]:
        """Take one sample; return the events it caused (also appended to ``events``)."""
        previous, new = self.latest, []
        traffic = sample.traffic or previous.traffic
        if traffic is not None:
            self._window.append((sample.at, traffic.completed, traffic.server_errors))
            while len(self._window) > 2 and sample.at - self._window[0][0] > _RATE_WINDOW:
                self._window.popleft()
            if traffic.server_errors and self.marks.first_failure is None:
                self.marks.first_failure = sample.at
                new.append(Event(sample.at, "traffic", "first 5xx from the HTTP API"))
        state = sample.alarm_state or previous.alarm_state
        if sample.alarm_state and sample.alarm_state != previous.alarm_state:
            reason = f": {sample.alarm_reason}" if sample.alarm_reason else ""
            change = f"{previous.alarm_state} → " if previous.alarm_state else "is "
            new.append(Event(sample.at, "alarm", f"alarm {change}{sample.alarm_state}{reason}"))
            if (
                sample.alarm_state == "ALARM"
                and self.marks.alarm is None
                and self.marks.first_failure is not None
            ):
                self.marks.alarm = sample.at
            if sample.alarm_state == "OK" and self.marks.alarm is not None and self.marks.ok is None:
                self.marks.ok = sample.at
        rate = sample.failure_rate or previous.failure_rate
        if sample.failure_rate is not None and sample.failure_rate != previous.failure_rate:
            if previous.failure_rate is not None:
                new.append(Event(sample.at, "config", f"{self.setting} {previous.failure_rate} → {rate}"))
            if rate != self.baseline and self.marks.alarm is not None and self.marks.acted is None:
                self.marks.acted = sample.at
        for incident in reversed(sample.incidents):  # oldest first
            new.extend(self._incident_events(sample.at, incident))
        acted = [incident for incident in sample.incidents if incident.action]
        if acted or sample.incidents:
            self.incident = (acted or list(sample.incidents))[0]
            if self.incident.status == VERIFIED and self.marks.verified is None:
                self.marks.verified = sample.at
        self.latest = Sample(
            sample.at,
            traffic,
            state,
            sample.alarm_reason or previous.alarm_reason,
            rate,
            sample.incidents,
            sample.healed_at or previous.healed_at,
        )
        self.events.extend(new)
        return new

    def note(self, at: float, kind: str, text: str) -> Event:
        """Record an event the demo itself caused (e.g. a bad deploy) at real second ``at``."""
        event = Event(at, kind, text)
        self.events.append(event)
        return event

    def _incident_events(self, at: float, incident: Incident) -> list[Event]:
        key = (incident.status, incident.decision, incident.action)
        before = self._seen_incidents.get(incident.incident_id)
        if before == key:
            return []
        self._seen_incidents[incident.incident_id] = key
        events = []
        old_status, old_decision, old_action = before or ("", None, None)
        if incident.decision and incident.decision != old_decision:
            reason = f" — {incident.reason}" if incident.reason else ""
            events.append(Event(at, "healer", f"healer decided: {incident.decision}{reason}"))
        if incident.action and incident.action != old_action:
            events.append(Event(at, "healer", f"healer acted: {incident.action}"))
        if incident.status != old_status:
            detail = ""
            if incident.status == VERIFIED and incident.time_to_recover is not None:
                detail = f" (alarm → OK in {incident.time_to_recover:.0f} cloud s)"
            events.append(Event(at, "healer", f"incident {incident.incident_id}: {incident.status}{detail}"))
        return events

    def _window_growth(self) -> tuple[float, int, int]:
        """Real seconds, completed requests and 5xx over the last few seconds (zeros before two samples)."""
        if len(self._window) < 2:
            return 0.0, 0, 0
        (t0, c0, e0), (t1, c1, e1) = self._window[0], self._window[-1]
        return t1 - t0, c1 - c0, e1 - e0

    @property
    def request_rate(self) -> float:
        """Completed requests per real second over the last few seconds."""
        seconds, completed, _ = self._window_growth()
        return completed / seconds if seconds > 0 else 0.0

    @property
    def error_rate(self) -> float:
        """Share of 5xx among the requests completed over the last few seconds."""
        _, completed, errors = self._window_growth()
        return errors / completed if completed > 0 else 0.0

    @property
    def verified(self) -> bool:
        """The incident was closed as recovered."""
        return self.incident is not None and self.incident.status == VERIFIED

    @property
    def ended(self) -> bool:
        """The incident reached the status the scenario ends in (``ends``)."""
        return self.incident is not None and self.incident.status == self.ends

    @property
    def gave_up(self) -> str | None:
        """Why the healer stopped short of the scenario's end (a verified recovery), if it did."""
        if self.incident is not None and self.incident.status in GAVE_UP and not self.ended:
            return f"the healer ended incident {self.incident.incident_id} as {self.incident.status}" + (
                f": {self.incident.reason}" if self.incident.reason else ""
            )
        return None
