"""EventBridge Scheduler's numeric members: the flexible window and the target's retry policy are refused
outside AWS's documented ranges with AWS's ValidationException text, and accepted at both bounds."""

from __future__ import annotations

from typing import Any

import pytest

from selfheal.cloud.scheduler_requests import InvalidRequest, validate_schedule

_LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:worker"
_ROLE = "arn:aws:iam::123456789012:role/scheduler"


def _request(window: dict[str, Any] | None = None, retry: dict[str, Any] | None = None) -> dict[str, Any]:
    target: dict[str, Any] = {"Arn": _LAMBDA, "RoleArn": _ROLE}
    if retry is not None:
        target["RetryPolicy"] = retry
    return {
        "name": "every-minute",
        "schedule_expression": "rate(1 minute)",
        "flexible_time_window": window or {"Mode": "OFF"},
        "target": target,
    }


_WINDOW = "flexibleTimeWindow.maximumWindowInMinutes"
_AGE = "target.retryPolicy.maximumEventAgeInSeconds"
_ATTEMPTS = "target.retryPolicy.maximumRetryAttempts"

# (window, retry, where, low, high, bad value)
_CASES = [
    ({"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 0}, None, _WINDOW, 1, 1440, 0),
    ({"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 1441}, None, _WINDOW, 1, 1440, 1441),
    (None, {"MaximumEventAgeInSeconds": 59}, _AGE, 60, 86400, 59),
    (None, {"MaximumEventAgeInSeconds": 86401}, _AGE, 60, 86400, 86401),
    (None, {"MaximumRetryAttempts": -1}, _ATTEMPTS, 0, 185, -1),
    (None, {"MaximumRetryAttempts": 186}, _ATTEMPTS, 0, 185, 186),
    (None, {"MaximumRetryAttempts": "3"}, _ATTEMPTS, 0, 185, "3"),
]  # fmt: skip


@pytest.mark.parametrize(("window", "retry", "where", "low", "high", "bad"), _CASES)
def test_a_member_outside_its_range_is_refused_with_aws_text(
    window: dict[str, Any] | None, retry: dict[str, Any] | None, where: str, low: int, high: int, bad: Any
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        validate_schedule(_request(window, retry), now=0.0)
    assert str(refused.value) == (
        f"1 validation error detected: Value '{bad}' at '{where}' "
        f"failed to satisfy constraint: Member must have value between {low} and {high}"
    )


@pytest.mark.parametrize(
    ("window", "retry"),
    [
        (
            {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 1},
            {"MaximumEventAgeInSeconds": 60, "MaximumRetryAttempts": 0},
        ),
        (
            {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 1440},
            {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185},
        ),
        (None, {}),
    ],
)
def test_the_bounds_themselves_and_absent_members_are_accepted(
    window: dict[str, Any] | None, retry: dict[str, Any]
) -> None:
    validate_schedule(_request(window, retry), now=0.0)
