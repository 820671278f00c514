"""Changing the fragile function's failure injection at runtime, keeping every other variable.

Input is validated in full before any call; the update is guarded by the function's ``RevisionId`` and
waits for ``LastUpdateStatus`` to be ``Successful``, so a concurrent change (the healer's) is not lost.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

from botocore.exceptions import ClientError, WaiterError

from fragile_service.faults import parse_config

__all__ = ["FAILURE_MODES", "FailureChange", "InjectOutcome", "apply_failure_change"]

FAILURE_MODES: Final = ("exception", "latency", "timeout", "status")
_WAIT = {"Delay": 1, "MaxAttempts": 60}


@dataclass(frozen=True)
class FailureChange:
    """The failure settings to set; None leaves a setting as it is."""

    rate: float | None = None
    mode: str | None = None
    latency_ms: int | None = None
    status_code: int | None = None
    enabled: bool | None = None

    def validate(self) -> None:
        """Raise ValueError naming the first bad value (or an empty change)."""
        if all(value is None for value in vars(self).values()):
            raise ValueError(
                "nothing to change: give --rate, --mode, --latency-ms, --status-code or --enable/--disable"
            )
        if self.rate is not None and (not math.isfinite(self.rate) or not 0.0 <= self.rate <= 1.0):
            raise ValueError(f"--rate must be a probability from 0 to 1, got {self.rate}")
        if self.mode is not None and self.mode not in FAILURE_MODES:
            raise ValueError(f"--mode must be one of {', '.join(FAILURE_MODES)}, got {self.mode!r}")
        if self.latency_ms is not None and not 0 <= self.latency_ms <= 900_000:
            raise ValueError(
                f"--latency-ms must be from 0 to 900000 (Lambda's 15 minutes), got {self.latency_ms}"
            )
        if self.status_code is not None and not 400 <= self.status_code <= 599:
            raise ValueError(
                f"--status-code must be an HTTP error status from 400 to 599, got {self.status_code}"
            )

    def applied_to(self, variables: dict[str, str]) -> dict[str, str]:
        """Return ``variables`` with this change applied (a new dict)."""
        updated = dict(variables)
        if self.rate is not None:
            updated["FAILURE_RATE"] = repr(float(self.rate))
        if self.mode is not None:
            updated["FAILURE_MODE"] = self.mode
        if self.latency_ms is not None:
            updated["LATENCY_MS"] = str(self.latency_ms)
        if self.status_code is not None:
            updated["FAILURE_STATUS_CODE"] = str(self.status_code)
        if self.enabled is not None:
            updated["FAILURE_INJECTION_ENABLED"] = "true" if self.enabled else "false"
        return updated


@dataclass(frozen=True)
class InjectOutcome:
    """The function's variables before and after, and whether an update was made."""

    function_name: str
    before: dict[str, str]
    after: dict[str, str]
    updated: bool


def _wait_updated(client: Any, function_name: str) -> None:
    try:
        client.get_waiter("function_updated_v2").wait(FunctionName=function_name, WaiterConfig=_WAIT)
    except WaiterError as error:
        raise ValueError(f"{function_name} did not finish updating: {error}") from error


def apply_failure_change(client: Any, function_name: str, change: FailureChange) -> InjectOutcome:
    """Apply ``change`` to ``function_name``'s environment with UpdateFunctionConfiguration.

    Raises ValueError for bad input or a resulting configuration the service would reject (nothing is
    changed then); boto3's errors (not found, unreachable, conflict) propagate.
    """
    change.validate()
    config = client.get_function_configuration(FunctionName=function_name)
    if config.get("LastUpdateStatus") == "InProgress":
        _wait_updated(client, function_name)
        config = client.get_function_configuration(FunctionName=function_name)
    before = dict((config.get("Environment") or {}).get("Variables") or {})
    after = change.applied_to(before)
    problems = parse_config(after).errors
    if problems:
        raise ValueError("the result would be rejected by the fragile service: " + "; ".join(problems))
    if after == before:
        return InjectOutcome(function_name, before, after, updated=False)
    arguments: dict[str, Any] = {"FunctionName": function_name, "Environment": {"Variables": after}}
    if config.get("RevisionId"):
        arguments["RevisionId"] = config["RevisionId"]
    try:
        client.update_function_configuration(**arguments)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in (
            "PreconditionFailedException",
            "ResourceConflictException",
        ):
            raise ValueError(
                f"{function_name} was changed by someone else at the same time; run the command again"
            ) from error
        raise
    _wait_updated(client, function_name)
    return InjectOutcome(function_name, before, after, updated=True)
