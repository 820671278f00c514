"""Verification: after acting, wait (bounded) for the alarm to be OK again, and report time to recover.

``wait_for_ok`` polls DescribeAlarms until the alarm is ``OK``, the verify deadline passes, or the Lambda
invocation is about to run out of time — whichever comes first. In the last case the incident stays open
and the alarm's ``OK`` notification closes it later. ``emit_time_to_recover`` prints the ``TimeToRecover``
metric in CloudWatch embedded metric format.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from botocore.exceptions import BotoCoreError, ClientError

from healer.clock import Clock

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient

__all__ = ["METRIC_NAME", "VerificationResult", "emit_time_to_recover", "wait_for_ok"]

METRIC_NAME = "TimeToRecover"
VerifyStatus = Literal["verified", "timed_out", "out_of_time"]


@dataclass(frozen=True)
class VerificationResult:
    """How verification ended."""

    status: VerifyStatus
    detail: str
    polls: int
    seconds: float
    ok_time: datetime | None = None


def _alarm_ok_time(client: CloudWatchClient, alarm_name: str, clock: Clock) -> tuple[datetime | None, str]:
    try:
        alarms = client.describe_alarms(AlarmNames=[alarm_name]).get("MetricAlarms", [])
    except (ClientError, BotoCoreError) as exc:
        return None, f"DescribeAlarms failed: {exc}"
    if not alarms:
        return None, f"alarm {alarm_name} not found"
    state = alarms[0].get("StateValue")
    if state != "OK":
        return None, f"alarm is {state}"
    updated = alarms[0].get("StateUpdatedTimestamp")
    return (updated.astimezone(UTC) if updated else datetime.fromtimestamp(clock.now(), UTC)), "alarm is OK"


def wait_for_ok(
    client: CloudWatchClient,
    alarm_name: str,
    *,
    clock: Clock,
    timeout: float,
    remaining_real_seconds: Callable[[], float] | None = None,
    poll: float = 10.0,
    margin_real_seconds: float = 5.0,
) -> VerificationResult:
    """Poll the alarm until OK, ``timeout`` cloud seconds pass, or the invocation's time runs short."""
    started = clock.now()
    deadline = started + timeout
    polls = 0
    while True:
        polls += 1
        ok_time, detail = _alarm_ok_time(client, alarm_name, clock)
        if ok_time is not None:
            return VerificationResult("verified", detail, polls, clock.now() - started, ok_time)
        now = clock.now()
        if now >= deadline:
            return VerificationResult(
                "timed_out", f"{detail} {timeout:g}s after the action", polls, now - started
            )
        wait = min(poll, deadline - now)
        if remaining_real_seconds is not None:
            budget = clock.cloud_seconds(remaining_real_seconds() - margin_real_seconds)
            if budget < wait:
                return VerificationResult(
                    "out_of_time",
                    f"{detail}; the invocation is about to time out, leaving the incident open",
                    polls,
                    now - started,
                )
        clock.sleep(wait)


def emit_time_to_recover(seconds: float, namespace: str, alarm_name: str, service: str) -> None:
    """Print the ``TimeToRecover`` metric (Seconds) as one EMF line on stdout."""
    with single_metric(
        name=METRIC_NAME,
        unit=MetricUnit.Seconds,
        value=seconds,
        namespace=namespace,
        default_dimensions={"service": service},
    ) as metric:
        metric.add_metadata(key="alarm_name", value=alarm_name)
