"""What the two environment actions (``set_env``, ``restart``) share: read, plan, write and undo variables.

A write keeps every other variable and adds the markers that record the healing on the function itself:
``HEALED_AT`` (cloud time), ``HEALED_BY`` (the healer's name), ``PREVIOUS_<VAR>`` (the old value, ``""``
when absent) for each variable the action sets, and the action's incident marker (``HEALED_INCIDENT``
for ``set_env``; ``restart``'s own variable, ``HEALED_RESTART``, carries the incident id itself). The
write is guarded by the ``RevisionId`` the plan was read at, then waits for ``LastUpdateStatus``.

Only the variables the action sets are recorded as changes; the markers stay after an undo, as the
history of the function (the next ``terraform apply`` removes them). A landed plan reconstructs its
changes from ``PREVIOUS_<VAR>`` (``""`` reads as absent).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING

from healer.actions.calls import (
    Restoration,
    Stopwatch,
    call_with_retries,
    function_settled,
    read,
    unrunnable,
    wait_until,
)
from healer.actions.model import ActionOutcome, Backoff, Change, Plan, Target
from healer.clock import Clock, iso_utc

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

__all__ = [
    "ENV_FIELD_PREFIX",
    "MARKER_PREFIXES",
    "FunctionEnvironment",
    "apply_environment",
    "env_field",
    "function_resource",
    "plan_environment",
    "previous_value",
    "read_environment",
    "undo_environment",
]

ENV_FIELD_PREFIX = "Environment.Variables."
MARKER_PREFIXES = ("HEALED_", "PREVIOUS_")
_FUNCTION_PREFIX = "function:"


def function_resource(function_name: str) -> str:
    """The resource name of a function in a ``Change``."""
    return f"{_FUNCTION_PREFIX}{function_name}"


def env_field(variable: str) -> str:
    """The field name of an environment variable in a ``Change``."""
    return f"{ENV_FIELD_PREFIX}{variable}"


def previous_value(variables: Mapping[str, str], variable: str) -> str | None:
    """What ``variable`` was before the healer set it, from its ``PREVIOUS_`` marker (``""`` → absent)."""
    return variables.get(f"PREVIOUS_{variable}") or None


@dataclass(frozen=True)
class FunctionEnvironment:
    """A function's variables and the revision they were read at."""

    revision_id: str | None
    variables: Mapping[str, str]


def read_environment(client: LambdaClient, function_name: str) -> FunctionEnvironment:
    """Read the function's variables; raise ``TargetUnreadable`` with the reason."""
    response = read(
        f"GetFunctionConfiguration({function_name})",
        lambda: client.get_function_configuration(FunctionName=function_name),
    )
    return FunctionEnvironment(
        revision_id=response.get("RevisionId") or None,
        variables=dict(response.get("Environment", {}).get("Variables", {})),
    )


def plan_environment(
    action: str,
    target: Target,
    incident_id: str,
    wanted: Mapping[str, str],
    *,
    landed: bool,
    environment: FunctionEnvironment,
    refusal: str | None = None,
) -> Plan:
    """The plan to set ``wanted``: one change per variable that differs, or, when ``landed``, the
    changes the earlier run made."""
    resource = function_resource(target.function_name)
    current = environment.variables
    if refusal is not None:
        changes: tuple[Change, ...] = ()
    elif landed:
        changes = tuple(
            Change(resource, env_field(name), previous_value(current, name), value)
            for name, value in wanted.items()
        )
    else:
        changes = tuple(
            Change(resource, env_field(name), current.get(name), value)
            for name, value in wanted.items()
            if current.get(name) != value
        )
    return Plan(
        action=action,
        target=target,
        incident_id=incident_id,
        changes=changes,
        landed=landed and refusal is None,
        refusal=refusal,
        guard=environment.revision_id,
        environment=dict(current),
    )


def _update(
    client: LambdaClient, function_name: str, variables: Mapping[str, str], revision_id: str | None
) -> Callable[[], object]:
    def call() -> object:
        if revision_id:
            return client.update_function_configuration(
                FunctionName=function_name, Environment={"Variables": dict(variables)}, RevisionId=revision_id
            )
        # some emulators (moto) report no RevisionId; AWS always does
        return client.update_function_configuration(
            FunctionName=function_name, Environment={"Variables": dict(variables)}
        )

    return call


def apply_environment(
    client: LambdaClient,
    plan: Plan,
    *,
    action: str,
    incident_marker: str | None,
    clock: Clock,
    backoff: Backoff | None,
    settle_timeout: float,
    before_update: Callable[[], bool] | None,
) -> ActionOutcome:
    """Write the plan's variables with the markers, guarded by ``plan.guard``; never raises."""
    watch = Stopwatch(clock)
    name = plan.target.function_name
    stopped = unrunnable(plan, action, watch)
    if stopped is not None:
        return stopped
    if plan.landed:
        settled, detail = wait_until(function_settled(client, name), clock=clock, timeout=settle_timeout)
        return watch.outcome(
            "already_applied" if settled else "not_settled", f"earlier update: {detail}", plan.changes
        )
    variables = dict(plan.environment)
    for change in plan.changes:
        variable = change.field.removeprefix(ENV_FIELD_PREFIX)
        variables[variable] = str(change.after)
        variables[f"PREVIOUS_{variable}"] = "" if change.before is None else str(change.before)
    variables["HEALED_AT"] = iso_utc(datetime.fromtimestamp(clock.now(), UTC))
    variables["HEALED_BY"] = plan.target.healer_name
    if incident_marker is not None:
        variables[incident_marker] = plan.incident_id
    result = call_with_retries(
        _update(client, name, variables, plan.guard),
        what=f"UpdateFunctionConfiguration({name})",
        clock=clock,
        backoff=backoff or Backoff(),
        before_update=before_update,
    )
    if not result.ok:
        return watch.outcome(result.status, result.detail, (), result.attempts)
    settled, detail = wait_until(function_settled(client, name), clock=clock, timeout=settle_timeout)
    return watch.outcome("applied" if settled else "not_settled", detail, plan.changes, result.attempts)


def undo_environment(
    client: LambdaClient,
    changes: Sequence[Change],
    *,
    clock: Clock,
    backoff: Backoff | None,
    settle_timeout: float,
) -> ActionOutcome:
    """Put each variable back where it still has the recorded value, one guarded write per function."""
    watch = Stopwatch(clock)
    backoff = backoff or Backoff()
    tally = Restoration(len(changes))
    by_function: dict[str, list[Change]] = {}
    for change in changes:
        if not change.resource.startswith(_FUNCTION_PREFIX) or not change.field.startswith(ENV_FIELD_PREFIX):
            tally.refuse(change, "is not a function's environment variable")
        else:
            by_function.setdefault(change.resource.removeprefix(_FUNCTION_PREFIX), []).append(change)
    unsettled: str | None = None
    for name, group in by_function.items():
        got = call_with_retries(
            partial(client.get_function_configuration, FunctionName=name),
            what=f"GetFunctionConfiguration({name})",
            clock=clock,
            backoff=backoff,
        )
        tally.attempts += got.attempts
        if got.response is None:
            tally.fail(got.status, got.detail)
            break
        revision_id = got.response.get("RevisionId") or None
        variables = dict(got.response.get("Environment", {}).get("Variables", {}))
        restoring = []
        for change in group:
            variable = change.field.removeprefix(ENV_FIELD_PREFIX)
            if tally.needs_restore(change, variables.get(variable)):
                restoring.append(change)
                if change.before is None:
                    variables.pop(variable, None)
                else:
                    variables[variable] = str(change.before)
        if not restoring:
            continue
        result = call_with_retries(
            _update(client, name, variables, revision_id),
            what=f"UpdateFunctionConfiguration({name})",
            clock=clock,
            backoff=backoff,
        )
        if not tally.record(result, restoring):
            break
        settled, detail = wait_until(function_settled(client, name), clock=clock, timeout=settle_timeout)
        if not settled:
            unsettled = detail
    return tally.outcome(watch, unsettled)
