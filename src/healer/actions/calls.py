"""The machinery every action shares: reading, one bounded write, waiting for it to settle, undo's tally.

``read`` turns a failed read into ``TargetUnreadable`` with a one-line reason. ``call_with_retries``
makes one AWS write: temporary errors (update in progress, throttling, connection) are retried with the
``Backoff`` (which starts afresh for every write), ``PreconditionFailedException`` is ``revision_changed``
(someone changed the resource since it was read), any other error is ``permanent_error``, and a
``before_update`` that returns False stops before the attempt (``lease_lost``). ``wait_until`` polls, on
the healer's clock and bounded, until a probe says done (``function_settled``: ``LastUpdateStatus`` is
``Successful``). ``Run`` is one ``apply`` or ``undo``: its settings, its calls and its timed outcome.
``Restoration`` makes an undo's reads and restoring writes in its ``Run``, tallies what it restored,
found already restored, or refused, and makes its outcome.
``Action`` is the base of every action: it turns ``apply``'s and ``undo``'s keywords into a
``Run`` and stops a plan that cannot or need not run, so that an action says only what is its own.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeAlias, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from healer.actions.model import ActionOutcome, Backoff, Change, JsonScalar, Plan, Target, TargetUnreadable
from healer.clients import error_code
from healer.clock import Clock
from healer.decisions import OutcomeStatus

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

__all__ = [
    "SETTLE_POLL_SECONDS",
    "TEMPORARY_ERROR_CODES",
    "Action",
    "CallResult",
    "Probe",
    "Restoration",
    "Run",
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


class Run:
    """One ``apply`` or ``undo``: its clock, backoff, settle timeout and ``before_update`` (an undo has
    none); it times itself on the healer's clock and makes its outcome."""

    def __init__(
        self,
        clock: Clock,
        backoff: Backoff | None = None,
        settle_timeout: float = 30.0,
        before_update: Callable[[], bool] | None = None,
    ) -> None:
        self.clock = clock
        self.backoff = backoff or Backoff()
        self.settle_timeout = settle_timeout
        self.before_update = before_update
        self.started = clock.now()

    def call(self, call: Callable[[], T], what: str) -> CallResult[T]:
        """Make ``call`` with ``call_with_retries``, with this run's backoff and ``before_update``."""
        return call_with_retries(
            call, what=what, clock=self.clock, backoff=self.backoff, before_update=self.before_update
        )

    def settle(self, probe: Probe) -> tuple[bool, str]:
        """Wait, within the settle timeout, until ``probe`` decides (``wait_until``)."""
        return wait_until(probe, clock=self.clock, timeout=self.settle_timeout)

    def outcome(
        self, status: OutcomeStatus, detail: str, changes: tuple[Change, ...] = (), attempts: int = 0
    ) -> ActionOutcome:
        """An outcome that took from the start until now."""
        return ActionOutcome(status, detail, changes, attempts, self.clock.now() - self.started)

    def failed(self, result: CallResult[Any]) -> ActionOutcome:
        """The outcome of an apply whose one write did not succeed: nothing changed."""
        return self.outcome(result.status, result.detail, (), result.attempts)


def unrunnable(plan: Plan, action: str, run: Run) -> ActionOutcome | None:
    """The outcome of applying a plan that cannot or need not run (``None`` when it can run)."""
    if plan.action != action:
        return run.outcome("permanent_error", f"a plan of {plan.action} was given to {action}")
    if plan.refusal is not None:
        return run.outcome("permanent_error", f"refused: {plan.refusal}")
    if plan.nothing_to_change:
        return run.outcome("already_applied", "nothing to change")
    return None


@dataclass
class Restoration:
    """What an undo of ``total`` changes, made in ``run``, has done so far."""

    run: Run
    total: int
    restored: list[Change] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    attempts: int = 0
    failure: tuple[OutcomeStatus, str] | None = None

    def read(self, call: Callable[[], T], what: str, gone: Change | None = None) -> T | None:
        """Read the current state (``call``, bounded) and return the response; ``None`` when the read
        failed, which stops the undo, except that a resource that no longer exists refuses the change
        ``gone`` (when given) and the undo goes on (``stopped`` says which)."""
        got = self.run.call(call, what)
        self.attempts += got.attempts
        if gone is not None and got.code == "ResourceNotFoundException":
            self.refuse(gone, "no longer exists")
        elif got.response is None:
            self.fail(got.status, got.detail)
        return got.response

    @property
    def stopped(self) -> bool:
        """True once a failure stops the undo."""
        return self.failure is not None

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

    def restore(self, call: Callable[[], object], what: str, changes: list[Change]) -> bool:
        """Make the restoring write ``call`` (bounded); on success ``changes`` were put back. Returns
        whether it succeeded."""
        result = self.run.call(call, what)
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

    def outcome(self, unsettled: str | None = None) -> ActionOutcome:
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
        return self.run.outcome(status, "; ".join(parts), tuple(self.restored), self.attempts)


class Action(ABC):
    """One remediation of the catalogue (``healer.actions.catalogue.ACTIONS``).

    ``apply`` and ``undo`` each make a ``Run`` of their keywords; ``apply`` stops a plan that cannot or
    need not run (``unrunnable``) and hands the others to ``_apply``; ``undo`` hands the recorded changes
    to ``_undo`` with a ``Restoration``. Neither raises."""

    name: str
    """The action's name in playbooks and the ledger."""

    @abstractmethod
    def plan(self, lambda_client: LambdaClient, target: Target, incident_id: str) -> Plan:
        """Read the target's current state and say what the action would change; may raise
        ``TargetUnreadable``."""

    def apply(
        self,
        lambda_client: LambdaClient,
        plan: Plan,
        *,
        clock: Clock,
        backoff: Backoff | None = None,
        settle_timeout: float = 30.0,
        before_update: Callable[[], bool] | None = None,
    ) -> ActionOutcome:
        """Carry out ``plan``; never raises. ``before_update`` runs before every write attempt."""
        run = Run(clock, backoff, settle_timeout, before_update)
        stopped = unrunnable(plan, self.name, run)
        if stopped is not None:
            return stopped
        return self._apply(lambda_client, plan, run)

    def undo(
        self,
        lambda_client: LambdaClient,
        changes: Sequence[Change],
        *,
        clock: Clock,
        backoff: Backoff | None = None,
        settle_timeout: float = 30.0,
    ) -> ActionOutcome:
        """Put each ``before`` back where the current value still equals the recorded ``after``; never
        raises."""
        return self._undo(
            lambda_client, changes, Restoration(Run(clock, backoff, settle_timeout), len(changes))
        )

    @abstractmethod
    def _apply(self, client: LambdaClient, plan: Plan, run: Run) -> ActionOutcome:
        """Carry out a plan that has something to do (or has landed); never raises."""

    @abstractmethod
    def _undo(self, client: LambdaClient, changes: Sequence[Change], tally: Restoration) -> ActionOutcome:
        """Restore ``changes``, tallied in ``tally`` (its outcome); never raises."""
