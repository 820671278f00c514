"""The protected functions of a deployment: its registry's entries, their alarms' states and open incidents.

The registry (docs/platform.md) holds one SSM parameter per protected alarm, under the deployment's
``registry_path``, and the kill switch beside them; :func:`read_protected` reads both with the healer's
own reader (``healer.registry.Registry``), so an entry shows as the healer would take it: a parameter
that does not parse is a row naming its problem. The alarms' states come from DescribeAlarms (one call per
100 names); open incidents are matched to rows by alarm name.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from healer.decisions import OPEN_STATUSES
from healer.registry import KillSwitch, Protection, Registry
from selfheal.loop.aws_errors import describe_aws_error
from selfheal.loop.deployment import AwsTarget, Deployment

__all__ = [
    "ProtectedAlarm",
    "ProtectedFunctions",
    "alarm_states",
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
    target: AwsTarget, deployment: Deployment, incidents: Iterable[Any] = ()
) -> ProtectedFunctions:
    """Read the registry of ``deployment`` from ``target``: raises ``RegistryUnavailable`` when its entries
    cannot be listed; alarm states that cannot be read leave ``alarm_state`` None and say why."""
    registry = Registry(deployment.registry_path, target.client("ssm"))
    rows = [ProtectedAlarm.of(entry) for entry in registry.protections()]
    kill_switch = registry.kill_switch()
    states: dict[str, str] = {}
    states_error: str | None = None
    if rows:
        try:
            states = alarm_states(target.client("cloudwatch"), (row.alarm_name for row in rows))
        except (BotoCoreError, ClientError) as error:
            states_error = "alarm states unavailable: " + describe_aws_error(error, target, "DescribeAlarms")
    open_ids = open_incidents_by_alarm(incidents)
    alarms = [
        replace(row, alarm_state=states.get(row.alarm_name), open_incidents=open_ids.get(row.alarm_name, ()))
        for row in rows
    ]
    return ProtectedFunctions(registry.path, kill_switch, alarms, states_error)
