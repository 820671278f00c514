"""The protected functions of a deployment: its registry's entries, their alarms' states and open incidents.

The registry (docs/platform.md) holds one SSM parameter per protected alarm, under the deployment's
``registry_path``, and the kill switch beside them; :func:`read_protected` reads both with the healer's
own reader (``healer.registry.Registry``), so an entry shows as the healer would take it: a parameter
that does not parse is a row naming its problem. The alarms' states come from DescribeAlarms (one call per
100 names); open incidents are matched to rows by alarm name.

:func:`fleet_rows` groups the rows per function (a function may have several alarms) and adds, from the
incidents already read (one ledger query, not one per function), the function's open incident and the
last action the healer took on it (the newest recorded playbook step): what ``selfheal status`` and the
dashboard's fleet view show.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from healer.decisions import OPEN_STATUSES
from healer.registry import KillSwitch, Protection, Registry
from selfheal.loop.aws_errors import describe_aws_error
from selfheal.loop.deployment import AwsTarget, Deployment

__all__ = [
    "FleetFunction",
    "LastAction",
    "OpenIncident",
    "ProtectedAlarm",
    "ProtectedFunctions",
    "alarm_states",
    "fleet_rows",
    "open_incidents_by_alarm",
    "read_protected",
]

_DESCRIBE_BATCH = 100  # DescribeAlarms takes at most 100 names


@dataclass(frozen=True)
class ProtectedAlarm:
    """One registry entry: the alarm, what it protects and how; ``problem`` when the entry does not parse."""

    alarm_name: str
    function_name: str | None = None
    signal: str | None = None
    mode: str | None = None
    playbook: tuple[str, ...] = ()
    alias_name: str | None = None
    alarm_state: str | None = None
    """OK, ALARM or INSUFFICIENT_DATA; None when the alarm does not exist or its state could not be read."""
    open_incidents: tuple[str, ...] = ()
    problem: str | None = None

    @classmethod
    def of(cls, entry: Protection | tuple[str, str]) -> ProtectedAlarm:
        """The row of one item of ``Registry.protections()``."""
        if isinstance(entry, tuple):
            alarm_name, problem = entry
            return cls(alarm_name=alarm_name, problem=problem)
        return cls(
            alarm_name=entry.alarm_name,
            function_name=entry.function_name,
            signal=entry.signal or None,
            mode=entry.mode,
            playbook=entry.playbook,
            alias_name=entry.alias_name,
        )

    def as_json(self) -> dict[str, Any]:
        """The row for ``status --output json``."""
        return {
            "function": self.function_name,
            "alarm": self.alarm_name,
            "signal": self.signal,
            "mode": self.mode,
            "playbook": list(self.playbook),
            "alias": self.alias_name,
            "alarm_state": self.alarm_state,
            "open_incidents": list(self.open_incidents),
            "problem": self.problem,
        }


@dataclass(frozen=True)
class ProtectedFunctions:
    """The registry as read: its path, the kill switch, a row per alarm, and why states are missing."""

    registry_path: str
    kill_switch: KillSwitch
    alarms: list[ProtectedAlarm] = field(default_factory=list)
    alarm_states_error: str | None = None


def alarm_states(cloudwatch: Any, names: Iterable[str]) -> dict[str, str]:
    """The state of each named alarm that exists (metric and composite alarms), 100 names per call."""
    wanted = sorted(set(names))
    states: dict[str, str] = {}
    for start in range(0, len(wanted), _DESCRIBE_BATCH):
        batch = wanted[start : start + _DESCRIBE_BATCH]
        response = cloudwatch.describe_alarms(
            AlarmNames=batch, AlarmTypes=["MetricAlarm", "CompositeAlarm"], MaxRecords=_DESCRIBE_BATCH
        )
        for alarm in [*response.get("MetricAlarms", []), *response.get("CompositeAlarms", [])]:
            states[str(alarm.get("AlarmName"))] = str(alarm.get("StateValue", "INSUFFICIENT_DATA"))
    return states


def open_incidents_by_alarm(incidents: Iterable[Any]) -> dict[str, tuple[str, ...]]:
    """The ids of the open incidents (``OPEN_STATUSES``) among ``incidents``, by alarm name, in order."""
    found: dict[str, list[str]] = {}
    for incident in incidents:
        if getattr(incident, "status", None) in OPEN_STATUSES:
            found.setdefault(str(incident.alarm_name), []).append(str(incident.incident_id))
    return {name: tuple(ids) for name, ids in found.items()}


def read_protected(
    target: AwsTarget,
    deployment: Deployment,
    incidents: Iterable[Any] = (),
    *,
    ssm: Any = None,
    cloudwatch: Any = None,
) -> ProtectedFunctions:
    """Read the registry of ``deployment`` from ``target``: raises ``RegistryUnavailable`` when its entries
    cannot be listed; alarm states that cannot be read leave ``alarm_state`` None and say why. A caller
    that reads repeatedly passes its own ``ssm``/``cloudwatch`` clients."""
    registry = Registry(deployment.registry_path, ssm if ssm is not None else target.client("ssm"))
    rows = [ProtectedAlarm.of(entry) for entry in registry.protections()]
    kill_switch = registry.kill_switch()
    states: dict[str, str] = {}
    states_error: str | None = None
    if rows:
        try:
            client = cloudwatch if cloudwatch is not None else target.client("cloudwatch")
            states = alarm_states(client, (row.alarm_name for row in rows))
        except (BotoCoreError, ClientError) as error:
            states_error = "alarm states unavailable: " + describe_aws_error(error, target, "DescribeAlarms")
    open_ids = open_incidents_by_alarm(incidents)
    alarms = [
        replace(row, alarm_state=states.get(row.alarm_name), open_incidents=open_ids.get(row.alarm_name, ()))
        for row in rows
    ]
    return ProtectedFunctions(registry.path, kill_switch, alarms, states_error)


@dataclass(frozen=True)
class OpenIncident:
    """A function's newest open incident: its id, status, alarm and the healer's decision on it."""

    incident_id: str
    status: str
    alarm_name: str
    decision: str | None = None
    reason: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The incident as the fleet's JSON shows it."""
        return {
            "id": self.incident_id,
            "status": self.status,
            "alarm": self.alarm_name,
            "decision": self.decision,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class LastAction:
    """The newest playbook step the healer ran on a function: what, when, how it ended, for which incident."""

    incident_id: str
    action: str
    status: str
    at: float | None
    detail: str = ""

    def as_json(self) -> dict[str, Any]:
        """The action as the fleet's JSON shows it (``at`` in epoch seconds)."""
        return {
            "incident": self.incident_id,
            "action": self.action,
            "status": self.status,
            "at": self.at,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class FleetFunction:
    """One protected function and its alarms; a registry entry that does not parse is a row of its own
    with ``function_name`` None and its ``problem``."""

    function_name: str | None
    alarms: tuple[ProtectedAlarm, ...]
    open_incident: OpenIncident | None = None
    open_count: int = 0
    last_action: LastAction | None = None
    problem: str | None = None

    @property
    def modes(self) -> tuple[str, ...]:
        """The distinct modes of the function's alarms (one, unless its alarms were registered apart)."""
        return tuple(dict.fromkeys(row.mode for row in self.alarms if row.mode))

    @property
    def aliases(self) -> tuple[str, ...]:
        """The distinct aliases its alarms protect."""
        return tuple(dict.fromkeys(row.alias_name for row in self.alarms if row.alias_name))

    def as_json(self) -> dict[str, Any]:
        """The row for ``status --output json`` and the dashboard's fleet view."""
        return {
            "function": self.function_name,
            "aliases": list(self.aliases),
            "modes": list(self.modes),
            "alarms": [
                {"name": row.alarm_name, "signal": row.signal, "state": row.alarm_state, "mode": row.mode}
                for row in self.alarms
            ],
            "open_incident": None if self.open_incident is None else self.open_incident.as_json(),
            "open_incidents": self.open_count,
            "last_action": None if self.last_action is None else self.last_action.as_json(),
            "problem": self.problem,
        }


def _owner(incident: Any, function_of_alarm: dict[str, str]) -> str | None:
    """The protected function an incident is about: its alarm's, else the target it names."""
    return function_of_alarm.get(str(getattr(incident, "alarm_name", ""))) or (
        str(getattr(incident, "target", "") or "") or None
    )


def _epoch(value: Any) -> float | None:
    if value is None:
        return None
    return float(value.timestamp()) if hasattr(value, "timestamp") else float(value)


def _last_action(incidents: Sequence[Any]) -> LastAction | None:
    """The newest step among ``incidents`` (or, for an incident written before steps were recorded, its
    ``action`` summary)."""
    best: LastAction | None = None
    for incident in incidents:
        steps = tuple(getattr(incident, "steps", ()) or ())
        candidates = [
            LastAction(str(incident.incident_id), step.action, step.status, float(step.at), step.detail)
            for step in steps
        ]
        if not candidates and getattr(incident, "action", None):
            at = _epoch(getattr(incident, "action_at", None))
            candidates = [LastAction(str(incident.incident_id), str(incident.action), "recorded", at)]
        for candidate in candidates:
            if best is None or (candidate.at or 0.0) > (best.at or 0.0):
                best = candidate
    return best


def fleet_rows(protected: ProtectedFunctions, incidents: Sequence[Any] = ()) -> list[FleetFunction]:
    """One row per protected function (sorted by name), its alarms in registry order, then one row per
    entry that does not parse. ``incidents`` (newest first, as the ledger returns them) give each function
    its newest open incident, how many are open, and the last action taken."""
    grouped: dict[str, list[ProtectedAlarm]] = {}
    broken: list[FleetFunction] = []
    for row in protected.alarms:
        if row.problem is not None or row.function_name is None:
            broken.append(FleetFunction(None, (row,), problem=row.problem or "no function named"))
        else:
            grouped.setdefault(row.function_name, []).append(row)
    function_of_alarm = {row.alarm_name: name for name, rows in grouped.items() for row in rows}
    by_function: dict[str, list[Any]] = {}
    for incident in incidents:
        owner = _owner(incident, function_of_alarm)
        if owner in grouped:
            by_function.setdefault(owner, []).append(incident)
    fleet = []
    for name in sorted(grouped):
        mine = by_function.get(name, [])
        open_ones = [i for i in mine if getattr(i, "status", None) in OPEN_STATUSES]
        newest = open_ones[0] if open_ones else None
        fleet.append(
            FleetFunction(
                name,
                tuple(grouped[name]),
                open_incident=None
                if newest is None
                else OpenIncident(
                    str(newest.incident_id),
                    str(newest.status),
                    str(newest.alarm_name),
                    getattr(newest, "decision", None),
                    getattr(newest, "reason", None),
                ),
                open_count=len(open_ones),
                last_action=_last_action(mine),
            )
        )
    return fleet + broken
