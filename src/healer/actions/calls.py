"""The machinery every action shares: reading, one bounded write, waiting for it to settle, undo's tally.

``read`` turns a failed read into ``TargetUnreadable`` with a one-line reason. ``call_with_retries``
makes one AWS write: temporary errors (update in progress, throttling, connection) are retried with the
``Backoff`` (which starts afresh for every write), ``PreconditionFailedException`` is ``revision_changed``
(someone changed the resource since it was read), any other error is ``permanent_error``, and a
``before_update`` that returns False stops before the attempt (``lease_lost``). ``wait_until`` polls, on
the healer's clock and bounded, until a probe says done (``function_settled``: ``LastUpdateStatus`` is
``Successful``). ``Restoration`` tallies what an undo restored, found already restored, or refused, and
makes its outcome.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeAlias, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from healer.actions.model import ActionOutcome, Backoff, Change, JsonScalar, Plan, TargetUnreadable
from healer.clients import error_code
from healer.clock import Clock
from healer.decisions import OutcomeStatus

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

__all__ = [
    "SETTLE_POLL_SECONDS",
    "TEMPORARY_ERROR_CODES",
    "CallResult",
    "Probe",
    "Restoration",
    "Stopwatch",
    "call_with_retries",
    "function_settled",
    "read",
    "unrunnable",
    "wait_until",
]

T = TypeVar("T")

TEMPORARY_ERROR_CODES = frozenset(
    {
        "ResourceConflictException",
        "ResourceInUseException",
        "TooManyRequestsException",
        "ThrottlingException",
        "Throttling",
        "RequestLimitExceeded",
        "ServiceException",
        "ServiceUnavailableException",
    }
)
"""AWS error codes worth retrying: the resource is busy or the service is throttling or failing."""

SETTLE_POLL_SECONDS = 1.0

Probe: TypeAlias = Callable[[], tuple[bool | None, str]]
"""A check for ``wait_until``: (True, why) done, (False, why) failed for good, (None, why) not yet."""


def read(what: str, call: Callable[[], T]) -> T:
    """The result of the read ``call``; a failed read raises ``TargetUnreadable`` naming ``what``."""
    try:
        return call()
    except ClientError as exc:
        raise TargetUnreadable(f"{what} failed: {error_code(exc) or exc}") from exc
    except BotoCoreError as exc:
        raise TargetUnreadable(f"{what} failed: {exc}") from exc


@dataclass(frozen=True)
class CallResult(Generic[T]):
    """How one bounded call ended: ``applied`` with the response, or why not (``code``: the last AWS
    error code, "" when none)."""

    status: OutcomeStatus
    detail: str
    attempts: int
    response: T | None = None
    code: str = ""

    @property
    def ok(self) -> bool:
        """True when the call succeeded."""
        return self.status == "applied"


def call_with_retries(
    call: Callable[[], T],
    *,
    what: str,
    clock: Clock,
    backoff: Backoff,
    before_update: Callable[[], bool] | None = None,
) -> CallResult[T]:
    """Make the write ``call``, retrying temporary errors within ``backoff``; never raises an AWS error."""
    attempt = 0
    while True:
        attempt += 1
        if before_update is not None and not before_update():
            return CallResult(
                "lease_lost", "the claim is no longer ours (taken over, or closed)", attempt - 1
            )
        try:
            response = call()
        except ClientError as exc:
            code = error_code(exc)
            if code == "PreconditionFailedException":
                return CallResult(
                    "revision_changed", f"{what}: changed since it was read", attempt, code=code
                )
            if code not in TEMPORARY_ERROR_CODES:
                return CallResult("permanent_error", f"{what}: {exc}", attempt, code=code)
            detail = str(exc)
        except BotoCoreError as exc:
            code, detail = "", f"{type(exc).__name__}: {exc}"
        else:
            return CallResult("applied", f"{what} succeeded", attempt, response)
        if attempt >= backoff.attempts:
            return CallResult(
                "retries_exhausted",
                f"{what}: gave up after {attempt} attempts; last: {detail}",
                attempt,
                code=code,
            )
        clock.sleep(backoff.delay(attempt))


def wait_until(
    probe: Probe, *, clock: Clock, timeout: float, poll: float = SETTLE_POLL_SECONDS
) -> tuple[bool, str]:
    """Poll ``probe`` until it decides or ``timeout`` cloud seconds pass: (settled, why)."""
    deadline = clock.now() + timeout
    while True:
        done, detail = probe()
        if done is not None:
            return done, detail
        if clock.now() + poll > deadline:
            return False, f"{detail} after {timeout:g}s"
        clock.sleep(poll)


def function_settled(client: LambdaClient, function_name: str) -> Probe:
    """A probe: has the function's last configuration update finished (``LastUpdateStatus``)?"""

    def probe() -> tuple[bool | None, str]:
        try:
            status = client.get_function_configuration(FunctionName=function_name).get("LastUpdateStatus")
        except (ClientError, BotoCoreError) as exc:
            return None, f"could not read the update status: {exc}"
        if status in (None, "Successful"):  # some emulators (moto) report no status; AWS always does
            return True, "update successful"
        if status == "Failed":
            return False, "LastUpdateStatus is Failed"
        return None, f"LastUpdateStatus is {status}"

    return probe


class Stopwatch:
    """Times one ``apply`` or ``undo`` on the healer's clock and makes its outcome."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.started = clock.now()

    def outcome(
        self, status: OutcomeStatus, detail: str, changes: tuple[Change, ...] = (), attempts: int = 0
    ) -> ActionOutcome:
        """An outcome that took from the start until now."""
        return ActionOutcome(status, detail, changes, attempts, self.clock.now() - self.started)


def unrunnable(plan: Plan, action: str, watch: Stopwatch) -> ActionOutcome | None:
    """The outcome of applying a plan that cannot or need not run (``None`` when it can run)."""
    if plan.action != action:
        return watch.outcome("permanent_error", f"a plan of {plan.action} was given to {action}")
    if plan.refusal is not None:
        return watch.outcome("permanent_error", f"refused: {plan.refusal}")
    if plan.nothing_to_change:
        return watch.outcome("already_applied", "nothing to change")
    return None


@dataclass
class Restoration:
    """What an undo of ``total`` changes has done so far."""

    total: int
    restored: list[Change] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    attempts: int = 0
    failure: tuple[OutcomeStatus, str] | None = None

    def needs_restore(self, change: Change, current: JsonScalar) -> bool:
        """True when ``current`` is still the recorded ``after``; otherwise note why not."""
        if current == change.after:
            return True
        if current == change.before:
            self.already.append(f"{change.resource} {change.field}")
        else:
            self.refuse(change, f"is {current!r}, not the recorded {change.after!r}")
        return False

    def refuse(self, change: Change, why: str) -> None:
        """Refuse to restore ``change`` (someone changed it since, or it is not this action's)."""
        self.refused.append(f"{change.resource} {change.field} {why}")

    def record(self, result: CallResult[T], changes: list[Change]) -> bool:
        """Count a restoring write; on success ``changes`` were put back. Returns whether it succeeded."""
        self.attempts += result.attempts
        if result.ok:
            self.restored.extend(change.reverted() for change in changes)
        elif self.failure is None:
            self.failure = (result.status, result.detail)
        return result.ok

    def fail(self, status: OutcomeStatus, detail: str) -> None:
        """Note a failure that stops the undo (the first one is reported)."""
        if self.failure is None:
            self.failure = (status, detail)

    def outcome(self, watch: Stopwatch, unsettled: str | None = None) -> ActionOutcome:
        """The undo's outcome: a failure's status, ``revision_changed`` if anything was refused, else
        ``applied`` (``already_applied`` when nothing needed restoring)."""
        parts = [f"restored {len(self.restored)} of {self.total}"]
        if self.already:
            parts.append("already restored: " + ", ".join(self.already))
        if self.refused:
            parts.append("refused (changed since): " + "; ".join(self.refused))
        status: OutcomeStatus
        if self.failure is not None:
            status, why = self.failure
            parts.append(why)
        elif unsettled is not None:
            status = "not_settled"
            parts.append(unsettled)
        elif self.refused:
            status = "revision_changed"
        elif self.restored:
            status = "applied"
        else:
            status = "already_applied"
            if not self.total:
                parts = ["nothing to restore"]
        return watch.outcome(status, "; ".join(parts), tuple(self.restored), self.attempts)
