"""Reading the loop's state through boto3: the alarm and its history, metrics, the function, the ledger.

The one reader of the loop's state: ``selfheal status``, the dashboard, the report and the demo all use it.

:class:`LoopReader` works against the local cloud and real AWS alike (it only uses the public APIs:
GetMetricData, DescribeAlarms, DescribeAlarmHistory, GetFunctionConfiguration and the ledger's query).
Each method raises boto3's errors (or ``healer.ledger.LedgerUnavailable``); callers decide whether a
missing part is fatal. DescribeAlarmHistory is optional: where it is not served, ``state_changes``
returns None and callers fall back to the states they sampled themselves.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from healer.ledger import Incident, recent_incidents
from selfheal.loop.deployment import AwsTarget, Deployment
from selfheal.loop.records import Datapoint, IncidentRecord, StateChange, epoch
from selfheal.loop.timings import FINE_PERIOD

__all__ = ["AlarmInfo", "FunctionInfo", "LoopReader", "aligned_start"]

_MAX_PAGES = 20


@dataclass(frozen=True)
class AlarmInfo:
    """The errors alarm as DescribeAlarms reports it."""

    name: str
    state: str
    reason: str
    threshold: float
    period: int
    evaluation_periods: int
    datapoints_to_alarm: int
    updated: float | None

    @classmethod
    def from_api(cls, alarm: dict[str, Any]) -> AlarmInfo:
        """Build from one ``MetricAlarms`` item."""
        evaluation = int(alarm.get("EvaluationPeriods") or 1)
        return cls(
            name=str(alarm.get("AlarmName", "")),
            state=str(alarm.get("StateValue", "INSUFFICIENT_DATA")),
            reason=str(alarm.get("StateReason", "")),
            threshold=float(alarm.get("Threshold", 0.0)),
            period=int(alarm.get("Period") or 60),
            evaluation_periods=evaluation,
            datapoints_to_alarm=int(alarm.get("DatapointsToAlarm") or evaluation),
            updated=epoch(alarm.get("StateUpdatedTimestamp")),
        )


@dataclass(frozen=True)
class FunctionInfo:
    """The fragile function's configuration as GetFunctionConfiguration reports it."""

    variables: dict[str, str]
    state: str
    last_update_status: str


def aligned_start(start: float, period: int) -> float:
    """``start`` rounded down to a period boundary, so buckets line up across reads (as on AWS)."""
    return math.floor(start / period) * period


def _dt(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


class LoopReader:
    """Reads one deployment's loop data from ``target``; clients are made once and reused."""

    def __init__(self, target: AwsTarget, deployment: Deployment) -> None:
        self.target = target
        self.deployment = deployment
        self._cloudwatch = target.client("cloudwatch")
        self._lambda = target.client("lambda")
        self._dynamodb = target.client("dynamodb")

    def alarm(self) -> AlarmInfo | None:
        """The errors alarm, or None when it does not exist."""
        found = self._cloudwatch.describe_alarms(AlarmNames=[self.deployment.alarm_name]).get(
            "MetricAlarms", []
        )
        return AlarmInfo.from_api(found[0]) if found else None

    def metrics(self, start: float, end: float, period: int) -> tuple[list[Datapoint], list[Datapoint]]:
        """The fragile function's Invocations and Errors (Sum per ``period``), oldest first."""
        if period < 1 or end <= start:
            raise ValueError(f"need a positive period and start < end, got {period}, {start}..{end}")
        dimensions = [{"Name": "FunctionName", "Value": self.deployment.fragile_function_name}]
        queries = [
            {
                "Id": name.lower(),
                "MetricStat": {
                    "Metric": {"Namespace": "AWS/Lambda", "MetricName": name, "Dimensions": dimensions},
                    "Period": period,
                    "Stat": "Sum",
                },
                "ReturnData": True,
            }
            for name in ("Invocations", "Errors")
        ]
        series: dict[str, dict[float, float]] = {"invocations": {}, "errors": {}}
        arguments: dict[str, Any] = {
            "MetricDataQueries": queries,
            "StartTime": _dt(aligned_start(start, period)),
            "EndTime": _dt(end),
            "ScanBy": "TimestampAscending",
        }
        for _ in range(_MAX_PAGES):
            response = self._cloudwatch.get_metric_data(**arguments)
            for result in response.get("MetricDataResults", []):
                points = series.setdefault(str(result.get("Id")), {})
                pairs = zip(result.get("Timestamps", []), result.get("Values", []), strict=False)
                for moment, value in pairs:
                    when = epoch(moment)
                    if when is not None:
                        points[when] = float(value)
            token = response.get("NextToken")
            if not token:
                break
            arguments["NextToken"] = token

        def ordered(name: str) -> list[Datapoint]:
            return [Datapoint(t, v) for t, v in sorted(series[name].items())]

        return ordered("invocations"), ordered("errors")

    def onset_errors(self, incident: IncidentRecord, period: int, lead_periods: int = 12) -> list[Datapoint]:
        """The errors before ``incident``'s alarm in ``FINE_PERIOD`` buckets, which place its onset inside
        the alarm's period (see :func:`selfheal.loop.timings.incident_timings`)."""
        start = incident.alarm_time - period * lead_periods
        return self.metrics(start, incident.alarm_time + FINE_PERIOD, FINE_PERIOD)[1]

    def state_changes(self, start: float, end: float) -> list[StateChange] | None:
        """The alarm's state changes in [start, end], oldest first; None where the history is not served."""
        arguments: dict[str, Any] = {
            "AlarmName": self.deployment.alarm_name,
            "HistoryItemType": "StateUpdate",
            "StartDate": _dt(start),
            "EndDate": _dt(end),
            "MaxRecords": 100,
        }
        changes: list[StateChange] = []
        try:
            for _ in range(_MAX_PAGES):
                response = self._cloudwatch.describe_alarm_history(**arguments)
                for item in response.get("AlarmHistoryItems", []):
                    change = _state_change(item)
                    if change is not None:
                        changes.append(change)
                token = response.get("NextToken")
                if not token:
                    break
                arguments["NextToken"] = token
        except ClientError as error:
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            code = error.response.get("Error", {}).get("Code", "")
            if status >= 500 or code in ("InternalFailure", "NotImplemented", "InternalError"):
                return None
            raise
        return sorted(changes, key=lambda c: c.t)

    def function(self) -> FunctionInfo:
        """The fragile function's variables and update state."""
        config = self._lambda.get_function_configuration(FunctionName=self.deployment.fragile_function_name)
        variables = (config.get("Environment") or {}).get("Variables") or {}
        return FunctionInfo(
            variables={str(k): str(v) for k, v in variables.items()},
            state=str(config.get("State", "?")),
            last_update_status=str(config.get("LastUpdateStatus", "?")),
        )

    def function_variables(self) -> dict[str, str]:
        """The fragile function's environment variables."""
        return self.function().variables

    def ledger_incidents(self, limit: int = 50) -> list[Incident]:
        """The healer's latest incidents as the ledger holds them, newest first."""
        return recent_incidents(self.deployment.ledger_table_name, limit, client=self._dynamodb)

    def incidents(self, limit: int = 50) -> list[IncidentRecord]:
        """The healer's latest incidents from the ledger as the report's records, newest first."""
        return [IncidentRecord.from_ledger(incident) for incident in self.ledger_incidents(limit)]


def _state_change(item: dict[str, Any]) -> StateChange | None:
    try:
        data = json.loads(item.get("HistoryData") or "{}")
        old = data["oldState"]["stateValue"]
        new = data["newState"]["stateValue"]
    except (ValueError, KeyError, TypeError):
        return None
    when = epoch(item.get("Timestamp"))
    if when is None:
        return None
    return StateChange(when, str(old), str(new), str(data["newState"].get("stateReason", "")))
