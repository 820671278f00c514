"""The dashboard's fleet: every protected function of the registry, for the fleet view and its drill-downs.

:class:`FleetSource` reads the registry and its alarms' states with clients made once (one
GetParametersByPath walk and one DescribeAlarms per 100 alarms a refresh); the incidents come from the
collector's single ledger query, so nothing here is read once per function. :func:`fleet_json` is the
``fleet`` part of a snapshot; :func:`belongs` says which incidents a function's drill-down shows.
A drill-down shows the existing charts of one function: its errors alarm (:func:`chart_alarm`), its
``AWS/Lambda`` metrics and its FAILURE_RATE, read by a :class:`~selfheal.loop.reader.LoopReader` made for it.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from selfheal.loop.deployment import AwsTarget, Deployment
from selfheal.loop.protected import FleetFunction, ProtectedFunctions, fleet_rows, read_protected
from selfheal.loop.reader import LoopReader

__all__ = ["FUNCTION_NAME", "FleetSource", "belongs", "chart_alarm", "fleet_json"]

FUNCTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
"""A Lambda function name as ``CreateFunction`` accepts it (the drill-down's ``function`` parameter)."""


class FleetSource:
    """The registry of one deployment on one target, and readers for its functions' charts."""

    def __init__(self, target: AwsTarget, deployment: Deployment) -> None:
        self.target = target
        self.deployment = deployment
        self._ssm = target.client("ssm")
        self._cloudwatch = target.client("cloudwatch")

    def read(self, incidents: list[Any]) -> ProtectedFunctions:
        """The registry's rows with their alarms' states; raises ``RegistryUnavailable`` or boto3's errors."""
        return read_protected(
            self.target, self.deployment, incidents, ssm=self._ssm, cloudwatch=self._cloudwatch
        )

    def reader_for(self, function: str, alarm: str) -> LoopReader:
        """A reader of ``function``'s metrics and variables and of ``alarm`` (its drill-down's charts)."""
        return LoopReader(
            self.target, replace(self.deployment, fragile_function_name=function, alarm_name=alarm)
        )


def chart_alarm(row: FleetFunction) -> str | None:
    """The alarm a function's charts draw: its ``errors`` signal (the chart counts Errors), else its first."""
    for alarm in row.alarms:
        if alarm.signal == "errors":
            return alarm.alarm_name
    return row.alarms[0].alarm_name if row.alarms else None


def belongs(incident: Any, function: str, alarms: set[str]) -> bool:
    """True when a ledger incident is about ``function``: its target, or one of the function's alarms."""
    return str(getattr(incident, "target", "") or "") == function or str(incident.alarm_name) in alarms


def fleet_json(
    focus: str, protected: ProtectedFunctions | None, incidents: list[Any], error: str | None
) -> dict[str, Any]:
    """The snapshot's ``fleet``: the deployment's own function (``focus``), the kill switch, one row per
    protected function (with the alarm its charts draw) and why the registry could not be read, if so."""
    if protected is None:
        return {"focus": focus, "registry": None, "kill_switch": None, "functions": [], "error": error}
    functions = []
    for row in fleet_rows(protected, incidents):
        data = row.as_json()
        data["chart_alarm"] = chart_alarm(row) if row.function_name is not None else None
        functions.append(data)
    return {
        "focus": focus,
        "registry": protected.registry_path,
        "kill_switch": {"engaged": protected.kill_switch.engaged, "reason": protected.kill_switch.reason},
        "functions": functions,
        "error": error or protected.alarm_states_error,
    }
