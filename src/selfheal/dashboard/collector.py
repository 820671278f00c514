"""The dashboard's collector: a thread that reads the loop every ~0.75 s and publishes JSON snapshots
(every 15 s while no page reads them: :class:`~selfheal.dashboard.timing.Pacing`).

A snapshot is everything the page draws, in cloud time: request and error counts per alarm period, the
error rate, the alarm threshold and states (from DescribeAlarmHistory, or from the states sampled here
where the history is not served), FAILURE_RATE as sampled, the healer's decisions and incidents with
their figures, and the escalations the ledger records. A part that cannot be read is reported in
``problems`` while the others still show. Readers wait for a newer version with :meth:`Collector.wait`.

With a :class:`~selfheal.dashboard.fleet.FleetSource`, a snapshot also holds the ``fleet`` (every protected
function: mode, alarms' states, open incident, last action) and, under ``details``, the same charts' data
for each function a viewer drilled down into (:meth:`Collector.watch`; a function not watched for
``_WATCH_SECONDS`` is dropped, at most ``_MAX_VIEWS`` at once). The ledger is queried once per refresh and
its incidents shared out; each chart shows its own function's incidents only.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from healer.registry import RegistryUnavailable
from selfheal.dashboard.fleet import FleetSource, belongs, fleet_json
from selfheal.dashboard.timing import ObservedClock, Pacing
from selfheal.loop.aws_errors import describe_aws_error
from selfheal.loop.reader import AlarmInfo, LoopReader, aligned_start
from selfheal.loop.records import Datapoint, IncidentRecord, StateChange
from selfheal.report.figures import alarm_segments, error_rate, incident_figures

__all__ = ["Collector", "Snapshot", "last_complete_period"]

Snapshot = dict[str, Any]
_READ_ERRORS: tuple[type[BaseException], ...] = (BotoCoreError, ClientError, RuntimeError, ValueError)
_FAILURE_SAMPLES = 2000
_MIN_WINDOW_PERIODS = 10
_FUNCTION_PREFIXES = ("FAILURE", "HEALED", "PREVIOUS_FAILURE")
_LEAD_PERIODS = 12
_LEDGER_LIMIT = 50
_WATCH_SECONDS = 30.0
_MAX_VIEWS = 8


def _points(points: list[Datapoint]) -> list[list[float]]:
    return [[round(p.t, 3), round(p.value, 4)] for p in points]


def _describe(error: BaseException, collector: Collector, subject: str) -> str:
    if isinstance(error, BotoCoreError | ClientError):
        return describe_aws_error(error, collector.reader.target, subject)
    return f"{subject}: {error}"


class Collector:
    """Samples the loop on a thread; ``latest`` and ``wait`` give the newest snapshot."""

    def __init__(
        self,
        reader: LoopReader,
        *,
        now: Callable[[], float] | None = None,
        interval: float = 0.75,
        window_periods: int = 30,
        extras: Callable[[], dict[str, Any]] | None = None,
        fleet: FleetSource | None = None,
    ) -> None:
        if not 0.05 <= interval <= 60:
            raise ValueError(f"interval must be from 0.05 to 60 seconds, got {interval!r}")
        if not 3 <= window_periods <= 1440:
            raise ValueError(f"window_periods must be from 3 to 1440, got {window_periods!r}")
        self.reader = reader
        self.interval = interval
        self.window_periods = window_periods
        self._observed = ObservedClock(model=now)
        self._now: Callable[[], float] = self._observed
        self._extras = extras
        self._fleet = fleet
        self._model = now
        self._views: dict[str, Collector] = {}
        self._views_lock = threading.Lock()
        self._watched: dict[str, float] = {}
        self._fleet_functions: dict[str, str | None] = {}
        self._failure_rates: deque[tuple[float, float]] = deque(maxlen=_FAILURE_SAMPLES)
        self._sampled_changes: list[StateChange] = []
        self._last_state: str | None = None
        self._settled: dict[tuple[Any, ...], dict[str, Any]] = {}
        self._condition = threading.Condition()
        self._snapshot: Snapshot = {"version": 0, "ready": False}
        self._version = 0
        self._stopped = threading.Event()
        self._pacing = Pacing(interval)
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Take a first sample now, then keep sampling on a daemon thread."""
        if self._thread is not None:
            raise RuntimeError("the collector is already running")
        self.sample()
        self._thread = threading.Thread(target=self._run, name="dashboard-collector", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop sampling and wake every waiting reader."""
        self._stopped.set()
        self._pacing.stop()
        with self._condition:
            self._condition.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    @property
    def stopped(self) -> bool:
        """True once :meth:`stop` was called."""
        return self._stopped.is_set()

    def latest(self) -> Snapshot:
        """The newest snapshot (a reader: sampling goes back to ``interval`` if it had slowed, see Pacing)."""
        self._pacing.read()
        with self._condition:
            return self._snapshot

    def wait(self, after_version: int, timeout: float) -> Snapshot | None:
        """A snapshot newer than ``after_version``, or None after ``timeout`` or once stopped (a reader)."""
        self._pacing.read()
        deadline = time.monotonic() + timeout
        with self._condition:
            while self._version <= after_version and not self._stopped.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._condition.wait(remaining)
            return None if self._stopped.is_set() else self._snapshot

    def poke(self) -> None:
        """Take a sample at once (after a control changed something)."""
        threading.Thread(target=self.sample, name="dashboard-sample", daemon=True).start()

    def watch(self, function: str) -> bool:
        """Keep ``function``'s charts in the snapshots for a while (a viewer drilled down into it); False
        when it is not a protected function of the fleet, or when too many are watched already."""
        with self._condition:
            if function not in self._fleet_functions or self._fleet_functions[function] is None:
                return False
            if function not in self._watched and len(self._watched) >= _MAX_VIEWS:
                return False
            fresh = function not in self._watched
            self._watched[function] = time.monotonic()
        if fresh:
            self.poke()
        return True

    def _run(self) -> None:
        while self._pacing.next():
            self.sample()

    def sample(self) -> Snapshot:
        """Read everything once and publish a new snapshot."""
        snapshot = self._build()
        with self._condition:
            self._version += 1
            snapshot["version"] = self._version
            self._snapshot = snapshot
            self._condition.notify_all()
        return snapshot

    def _build(self) -> Snapshot:
        names = self.reader.deployment
        ledger: list[Any] = []
        ledger_problem: str | None = None
        try:
            ledger = self.reader.ledger_incidents(_LEDGER_LIMIT)
        except Exception as error:  # LedgerUnavailable wraps boto3's errors; any failure is one message
            cause = error.__cause__ if isinstance(error.__cause__, BotoCoreError | ClientError) else error
            ledger_problem = _describe(cause, self, names.ledger_table_name)
        if self._fleet is None:
            return self._detail(ledger, ledger_problem)
        fleet = self._read_fleet(ledger)
        snapshot = self._detail(ledger, ledger_problem)
        snapshot["fleet"] = fleet
        snapshot["details"] = {
            name: view._detail(ledger, ledger_problem) for name, view in self._current_views().items()
        }
        return snapshot

    def _read_fleet(self, ledger: list[Any]) -> dict[str, Any]:
        """The fleet part of a snapshot; remembers which functions may be drilled into, and their alarm."""
        assert self._fleet is not None
        names = self.reader.deployment
        try:
            fleet = fleet_json(names.fragile_function_name, self._fleet.read(ledger), ledger, None)
        except RegistryUnavailable as error:
            cause = error.__cause__
            reason = _describe(cause, self, "GetParametersByPath") if cause is not None else str(error)
            fleet = fleet_json(
                names.fragile_function_name, None, [], f"registry {names.registry_path}: {reason}"
            )
        except _READ_ERRORS as error:
            fleet = fleet_json(
                names.fragile_function_name, None, [], _describe(error, self, names.registry_path)
            )
        functions = {
            str(row["function"]): row["chart_alarm"]
            for row in fleet["functions"]
            if row["function"] is not None
        }
        with self._condition:
            self._fleet_functions = functions
        return fleet

    def _current_views(self) -> dict[str, Collector]:
        """The watched functions' collectors (made on first use, kept while watched)."""
        assert self._fleet is not None
        cutoff = time.monotonic() - _WATCH_SECONDS
        with self._condition:
            for name in [n for n, t in self._watched.items() if t < cutoff or n not in self._fleet_functions]:
                del self._watched[name]
            wanted = {n: self._fleet_functions[n] for n in self._watched}
        wanted.pop(self.reader.deployment.fragile_function_name, None)  # its charts are the snapshot's own
        with self._views_lock:  # a poke's sample may run beside the thread's
            for name in [n for n in self._views if n not in wanted]:
                del self._views[name]
            for name, alarm in wanted.items():
                view = self._views.get(name)
                if alarm is not None and (view is None or view.reader.deployment.alarm_name != alarm):
                    self._views[name] = Collector(
                        self._fleet.reader_for(name, alarm),
                        now=self._model,
                        interval=self.interval,
                        window_periods=self.window_periods,
                    )
            return dict(self._views)

    def _detail(self, ledger: list[Any], ledger_problem: str | None) -> Snapshot:
        """The charts' data of this collector's function, from the ledger's incidents already read."""
        problems: list[str] = [] if ledger_problem is None else [ledger_problem]
        names = self.reader.deployment
        alarm: AlarmInfo | None = None
        try:
            alarm = self.reader.alarm()
            if alarm is None:
                problems.append(f"alarm {names.alarm_name} not found — is the stack deployed?")
            else:
                self._observed.observe(alarm.updated)
        except _READ_ERRORS as error:
            problems.append(_describe(error, self, names.alarm_name))
        mine = {names.alarm_name}
        incidents = [
            IncidentRecord.from_ledger(i) for i in ledger if belongs(i, names.fragile_function_name, mine)
        ]
        for incident in incidents[:1]:
            self._observed.observe(max(t for t in _times(incident)))

        period = alarm.period if alarm else 60
        now = self._now()
        start = now - period * self.window_periods
        invocations: list[Datapoint] = []
        errors: list[Datapoint] = []
        try:
            invocations, errors = self.reader.metrics(start - period, now + period, period)
            if invocations:
                self._observed.observe(invocations[-1].t)
                now = max(now, self._now())
                start = now - period * self.window_periods
        except _READ_ERRORS as error:
            problems.append(_describe(error, self, f"metrics of {names.fragile_function_name}"))

        variables: dict[str, str] | None = None
        try:
            variables = self.reader.function_variables()
            rate = _float(variables.get("FAILURE_RATE"))
            if rate is not None and variables.get("FAILURE_INJECTION_ENABLED", "true") == "false":
                rate = 0.0
            if rate is not None:
                self._failure_rates.append((self._changed_at(rate, incidents, now), rate))
        except _READ_ERRORS as error:
            problems.append(_describe(error, self, names.fragile_function_name))

        changes = self._changes(alarm, start, now, problems)
        # Zoom in on what exists: a window mostly before the alarm was created would be empty.
        known = [c.t for c in changes] + [p.t for p in invocations[:1]]
        if known:
            start = max(start, min(now - period * _MIN_WINDOW_PERIODS, min(known) - period))
        segments = alarm_segments(changes, start, now, alarm.state if alarm else None)
        snapshot: Snapshot = {
            "ready": True,
            "now": now,
            "start": start,
            "end": now,
            "period": period,
            "target": self.reader.target.description,
            "names": {
                "fragile": names.fragile_function_name,
                "healer": names.healer_function_name,
                "alarm": names.alarm_name,
                "ledger": names.ledger_table_name,
            },
            "alarm": _alarm_json(alarm),
            "segments": [{"start": s.start, "end": s.end, "state": s.state} for s in segments],
            "requests": _points(invocations),
            "errors": _points(errors),
            "error_rate": _points(error_rate(errors, invocations)),
            "failure_rate": [[t, v] for t, v in self._failure_rates if t >= start - period],
            "function": {k: v for k, v in (variables or {}).items() if k.startswith(_FUNCTION_PREFIXES)},
            "last_period": last_complete_period(invocations, errors, now, period),
            "decisions": _decisions(incidents, start - period * self.window_periods),
            "incidents": [self._incident_json(i, errors, invocations, period, now) for i in incidents[:20]],
            "escalations": [
                {
                    "id": i.incident_id,
                    "status": i.status,
                    "t": i.decided_at or i.alarm_time,
                    "reason": i.reason,
                }
                for i in incidents
                if i.escalated
            ][:20],
            "problems": problems,
        }
        if self._extras is not None:
            snapshot.update(self._extras())
        return snapshot

    def _changed_at(self, rate: float, incidents: list[IncidentRecord], now: float) -> float:
        """When FAILURE_RATE took ``rate``: the healer's action if one happened since the previous sample
        (samples are seconds apart, tens of cloud seconds at a fast time scale), else now."""
        if not self._failure_rates or self._failure_rates[-1][1] == rate:
            return now
        previous = self._failure_rates[-1][0]
        acted = [i.action_at for i in incidents if i.action_at is not None and previous < i.action_at <= now]
        return max(acted) if acted else now

    def _incident_json(
        self,
        incident: IncidentRecord,
        errors: list[Datapoint],
        invocations: list[Datapoint],
        period: int,
        now: float,
    ) -> dict[str, Any]:
        """The incident's row; its figures are kept once settled, and read on their own when the
        incident's errors are older than the window's data (so they do not vanish as it scrolls out)."""
        key = (incident.incident_id, incident.status, incident.action_at, incident.ok_time)
        if key in self._settled:
            return self._settled[key]
        lead = incident.alarm_time - period * _LEAD_PERIODS
        if not invocations or lead < invocations[0].t:
            try:
                end = max(incident.ok_time or now, incident.action_at or 0.0) + period
                invocations, errors = self.reader.metrics(lead, min(now, end) + period, period)
            except _READ_ERRORS:
                pass  # the window's data is the best there is
        fine: list[Datapoint] = []
        with contextlib.suppress(*_READ_ERRORS):  # without them the onset is the start of its period
            fine = self.reader.onset_errors(incident, period)
        row = _incident_row(incident, errors, invocations, period, fine)
        finished = incident.ok_time is not None or incident.escalated
        if finished and now >= max(incident.ok_time or 0.0, incident.action_at or 0.0) + 2 * period:
            self._settled[key] = row
        return row

    def _changes(
        self, alarm: AlarmInfo | None, start: float, now: float, problems: list[str]
    ) -> list[StateChange]:
        if alarm is not None and alarm.state != self._last_state:
            if self._last_state is not None:
                self._sampled_changes.append(
                    StateChange(alarm.updated or now, self._last_state, alarm.state, alarm.reason)
                )
            self._last_state = alarm.state
        history: list[StateChange] | None = None
        if alarm is not None:
            try:
                history = self.reader.state_changes(start - alarm.period * self.window_periods, now + 1)
            except _READ_ERRORS as error:
                problems.append(_describe(error, self, f"alarm history of {alarm.name}"))
        return history if history is not None else list(self._sampled_changes)


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def _times(incident: IncidentRecord) -> list[float]:
    return [
        t
        for t in (incident.alarm_time, incident.decided_at, incident.action_at, incident.ok_time)
        if t is not None
    ]


def _alarm_json(alarm: AlarmInfo | None) -> dict[str, Any] | None:
    if alarm is None:
        return None
    return {
        "name": alarm.name,
        "state": alarm.state,
        "reason": alarm.reason,
        "threshold": alarm.threshold,
        "period": alarm.period,
        "evaluation_periods": alarm.evaluation_periods,
        "datapoints_to_alarm": alarm.datapoints_to_alarm,
        "updated": alarm.updated,
    }


def _decisions(incidents: list[IncidentRecord], since: float) -> list[dict[str, Any]]:
    """Markers: the healer's decision (and action) per incident, with the reason for the tooltip."""
    markers: list[dict[str, Any]] = []
    for incident in incidents:
        if incident.alarm_time < since:
            continue
        if incident.action_at is not None:
            markers.append(
                {
                    "t": incident.action_at,
                    "kind": "action",
                    "label": incident.action or "action",
                    "reason": incident.reason or "",
                    "incident": incident.incident_id,
                    "status": incident.status,
                }
            )
        elif incident.decided_at is not None:
            markers.append(
                {
                    "t": incident.decided_at,
                    "kind": "escalation" if incident.escalated else "decision",
                    "label": incident.decision or "decision",
                    "reason": incident.reason or "",
                    "incident": incident.incident_id,
                    "status": incident.status,
                }
            )
    return sorted(markers, key=lambda m: float(m["t"]))


def _incident_row(
    incident: IncidentRecord,
    errors: list[Datapoint],
    invocations: list[Datapoint],
    period: int,
    fine: list[Datapoint],
) -> dict[str, Any]:
    figures = incident_figures(incident, errors, invocations, period, fine)
    return {
        "id": incident.incident_id,
        "status": incident.status,
        "alarm_time": incident.alarm_time,
        "decision": incident.decision,
        "reason": incident.reason,
        "action": incident.action,
        "detect": figures.time_to_detect,
        "act": figures.time_to_act,
        "recover": figures.time_to_recover,
        "errors_served": figures.errors_served,
    }


def last_complete_period(
    invocations: list[Datapoint], errors: list[Datapoint], now: float, period: int
) -> dict[str, float]:
    """Requests and errors of the last period that has ended (zero where nothing was counted in it)."""
    start = aligned_start(now, period) - period
    requests = sum(p.value for p in invocations if start <= p.t < start + period)
    failed = sum(p.value for p in errors if start <= p.t < start + period)
    return {"start": start, "requests": requests, "errors": failed}
