"""The healer's one action: reset the target's ``FAILURE_RATE`` to 0, keeping every other variable.

``remediate`` returns a ``RemediationOutcome`` instead of raising. It passes the ``RevisionId`` the
decision was based on, so a concurrent change yields ``revision_changed`` (the caller re-reads and
re-decides) rather than being overwritten. Temporary errors (update in progress, throttling, connection)
are retried with exponential backoff that starts afresh for every action; permanent errors (access denied,
not found, invalid) are reported at once. After a successful call it waits, bounded, for
``LastUpdateStatus == Successful``.

It is idempotent per incident: if the target already carries the incident's marker (``HEALED_INCIDENT``)
with ``FAILURE_RATE`` 0 — an earlier, interrupted run's update landed — it only waits for the update to
settle (``already_applied``). ``before_update`` runs before every update attempt (the healer renews its
claim's lease there); when it returns False the attempt is not made (``lease_lost``); what it raises
propagates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from healer.clients import error_code
from healer.clock import Clock
from healer.decisions import OutcomeStatus
from healer.policy import FunctionState

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

__all__ = [
    "TEMPORARY_ERROR_CODES",
    "Backoff",
    "RemediationOutcome",
    "TargetUnreadable",
    "read_function",
    "remediate",
    "remediated_variables",
]

TEMPORARY_ERROR_CODES = frozenset(
    {
        "ResourceConflictException",
        "TooManyRequestsException",
        "ThrottlingException",
        "Throttling",
        "RequestLimitExceeded",
        "ServiceException",
        "ServiceUnavailableException",
    }
)


class TargetUnreadable(RuntimeError):
    """The target function's configuration could not be read."""


@dataclass(frozen=True)
class Backoff:
    """Bounded exponential backoff, in cloud seconds."""

    attempts: int = 5
    base: float = 1.0
    cap: float = 8.0

    def delay(self, attempt: int) -> float:
        """The wait before retry number ``attempt`` (1-based)."""
        return float(min(self.cap, self.base * 2 ** (attempt - 1)))


@dataclass(frozen=True)
class RemediationOutcome:
    """What happened when the healer tried to act."""

    status: OutcomeStatus
    detail: str
    attempts: int
    previous_failure_rate: str | None
    seconds: float

    @property
    def applied(self) -> bool:
        """True when the new configuration is in place."""
        return self.status in ("applied", "already_applied")


def read_function(client: LambdaClient, name: str) -> FunctionState:
    """Read the target's configuration; raise ``TargetUnreadable`` with the reason."""
    try:
        response = client.get_function_configuration(FunctionName=name)
    except ClientError as exc:
        raise TargetUnreadable(f"GetFunctionConfiguration({name}) failed: {error_code(exc)}") from exc
    except BotoCoreError as exc:
        raise TargetUnreadable(f"GetFunctionConfiguration({name}) failed: {exc}") from exc
    variables = dict(response.get("Environment", {}).get("Variables", {}))
    return FunctionState(
        revision_id=response.get("RevisionId") or None,
        variables=variables,
        last_update_status=response.get("LastUpdateStatus"),
    )


def remediated_variables(
    current: dict[str, str], healer_name: str, incident_id: str, healed_at: float
) -> dict[str, str]:
    """Every existing variable, with ``FAILURE_RATE=0`` and the ``HEALED_*`` markers."""
    variables = dict(current)
    variables.update(
        FAILURE_RATE="0",
        HEALED_AT=datetime.fromtimestamp(healed_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        HEALED_BY=healer_name,
        HEALED_INCIDENT=incident_id,
        PREVIOUS_FAILURE_RATE=current.get("FAILURE_RATE", ""),
    )
    return variables


def _wait_until_settled(
    client: LambdaClient, name: str, clock: Clock, timeout: float, poll: float
) -> tuple[bool, str]:
    deadline = clock.now() + timeout
    while True:
        try:
            status = client.get_function_configuration(FunctionName=name).get("LastUpdateStatus")
        except (ClientError, BotoCoreError) as exc:
            status = None
            detail = f"could not read the update status: {exc}"
        else:
            if status in (None, "Successful"):
                return True, "update successful"
            if status == "Failed":
                return False, "LastUpdateStatus is Failed"
            detail = f"LastUpdateStatus is {status}"
        if clock.now() + poll > deadline:
            return False, f"{detail} after {timeout:g}s"
        clock.sleep(poll)


def remediate(
    client: LambdaClient,
    function: FunctionState,
    *,
    target: str,
    incident_id: str,
    healer_name: str,
    clock: Clock,
    backoff: Backoff | None = None,
    settle_timeout: float = 30.0,
    settle_poll: float = 1.0,
    before_update: Callable[[], bool] | None = None,
) -> RemediationOutcome:
    """Set ``FAILURE_RATE=0`` on ``target`` guarded by ``function.revision_id``; never raises."""
    backoff = backoff or Backoff()
    started = clock.now()
    previous = function.failure_rate

    def outcome(status: OutcomeStatus, detail: str, attempts: int) -> RemediationOutcome:
        return RemediationOutcome(status, detail, attempts, previous, clock.now() - started)

    if function.remediated_for(incident_id):
        previous = function.variables.get("PREVIOUS_FAILURE_RATE")
        settled, detail = _wait_until_settled(client, target, clock, settle_timeout, settle_poll)
        return outcome("already_applied" if settled else "not_settled", f"earlier update: {detail}", 0)
    variables = remediated_variables(dict(function.variables), healer_name, incident_id, started)
    attempt = 0
    while True:
        attempt += 1
        if before_update is not None and not before_update():
            return outcome("lease_lost", "the claim is no longer ours (taken over, or closed)", attempt - 1)
        try:
            if function.revision_id:
                client.update_function_configuration(
                    FunctionName=target, Environment={"Variables": variables}, RevisionId=function.revision_id
                )
            else:  # some emulators (moto) report no RevisionId; AWS always does
                client.update_function_configuration(
                    FunctionName=target, Environment={"Variables": variables}
                )
            break
        except ClientError as exc:
            code = error_code(exc)
            if code == "PreconditionFailedException":
                return outcome("revision_changed", "the function changed since it was read", attempt)
            if code not in TEMPORARY_ERROR_CODES:
                return outcome("permanent_error", f"{code}: {exc}", attempt)
            detail = f"{code}: {exc}"
        except BotoCoreError as exc:
            detail = f"{type(exc).__name__}: {exc}"
        if attempt >= backoff.attempts:
            return outcome("retries_exhausted", f"gave up after {attempt} attempts; last: {detail}", attempt)
        clock.sleep(backoff.delay(attempt))
    settled, detail = _wait_until_settled(client, target, clock, settle_timeout, settle_poll)
    return outcome("applied" if settled else "not_settled", detail, attempt)
