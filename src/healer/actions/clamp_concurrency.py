"""``clamp_concurrency``: put the target's ``concurrency_limit`` as its reserved concurrency.

The plan reads ``GetFunctionConcurrency`` (no reserved concurrency is ``None``: unreserved). It refuses
when the target has no limit, a negative one, or 0 (which stops the function) without
``allow_zero_concurrency``; a function already at the limit has nothing to change. Reserved concurrency
has no revision to guard a write with, and no place for a marker, so this action never reports
``landed``: a retried run finds the limit in place and plans no change. An undo puts the recorded value
back (``PutFunctionConcurrency``, or ``DeleteFunctionConcurrency`` for ``None``) where the function is
still at the limit the action set.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING

from healer.actions.calls import Action, Restoration, Run, read
from healer.actions.environment import function_resource
from healer.actions.model import ActionOutcome, Change, Plan, Target

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

__all__ = ["FIELD", "ClampConcurrency"]

FIELD = "ReservedConcurrentExecutions"
_PREFIX = "function:"


class ClampConcurrency(Action):
    """Reserve ``target.concurrency_limit`` concurrent executions for the function (and no more)."""

    name = "clamp_concurrency"

    def plan(self, lambda_client: LambdaClient, target: Target, incident_id: str) -> Plan:
        """Read the reserved concurrency and compare it with the limit; may raise ``TargetUnreadable``."""
        limit = target.concurrency_limit
        refusal = None
        if limit is None:
            refusal = "the target has no concurrency_limit"
        elif limit < 0:
            refusal = f"concurrency_limit {limit} is negative"
        elif limit == 0 and not target.allow_zero_concurrency:
            refusal = "a concurrency limit of 0 stops the function, and allow_zero_concurrency is false"
        if refusal is not None or limit is None:
            return Plan(self.name, target, incident_id, refusal=refusal)
        function = target.function_name
        got = read(
            f"GetFunctionConcurrency({function})",
            partial(lambda_client.get_function_concurrency, FunctionName=function),
        )
        before = got.get("ReservedConcurrentExecutions")
        if before == limit:
            return Plan(self.name, target, incident_id)
        return Plan(
            self.name, target, incident_id, (Change(function_resource(function), FIELD, before, limit),)
        )

    def _apply(self, client: LambdaClient, plan: Plan, run: Run) -> ActionOutcome:
        """Put the limit as reserved concurrency. It takes effect at once."""
        (change,) = plan.changes
        function, limit = plan.target.function_name, change.after
        if not isinstance(limit, int) or isinstance(limit, bool):
            return run.outcome("permanent_error", f"the plan's limit {limit!r} is not a concurrency")
        result = run.call(
            partial(
                client.put_function_concurrency, FunctionName=function, ReservedConcurrentExecutions=limit
            ),
            f"PutFunctionConcurrency({function})",
        )
        if not result.ok:
            return run.failed(result)
        before = "unreserved" if change.before is None else change.before
        detail = f"reserved concurrency of {function}: {before} -> {change.after}"
        return run.outcome("applied", detail, plan.changes, result.attempts)

    def _undo(self, client: LambdaClient, changes: Sequence[Change], tally: Restoration) -> ActionOutcome:
        """Put the recorded reserved concurrency back where the function is still at the clamped value."""
        for change in changes:
            function = change.resource.removeprefix(_PREFIX)
            before = change.before
            if not change.resource.startswith(_PREFIX) or change.field != FIELD:
                tally.refuse(change, "is not a function's reserved concurrency")
                continue
            if before is not None and (isinstance(before, bool) or not isinstance(before, int)):
                tally.refuse(change, f"has a recorded value {before!r} that is not a concurrency")
                continue
            got = tally.read(
                partial(client.get_function_concurrency, FunctionName=function),
                f"GetFunctionConcurrency({function})",
            )
            if got is None:
                break
            if not tally.needs_restore(change, got.get("ReservedConcurrentExecutions")):
                continue
            if before is None:
                restore: Callable[[], object] = partial(
                    client.delete_function_concurrency, FunctionName=function
                )
                what = f"DeleteFunctionConcurrency({function})"
            else:
                restore = partial(
                    client.put_function_concurrency,
                    FunctionName=function,
                    ReservedConcurrentExecutions=before,
                )
                what = f"PutFunctionConcurrency({function})"
            if not tally.restore(restore, what, [change]):
                break
        return tally.outcome()
