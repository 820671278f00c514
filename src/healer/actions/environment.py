"""What the two environment actions (``set_env``, ``restart``) share: ``EnvironmentAction`` reads, plans,
writes and undoes variables; ``set_env`` and ``restart`` say which variables (and ``set_env`` when it
refuses).

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

from abc import abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, ClassVar

from healer.actions.calls import Action, Restoration, Run, function_settled, read
from healer.actions.model import ActionOutcome, Change, Plan, Target
from healer.clock import iso_utc

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

__all__ = [
    "ENV_FIELD_PREFIX",
    "MARKER_PREFIXES",
    "EnvironmentAction",
    "FunctionEnvironment",
    "env_field",
    "function_resource",
    "previous_value",
    "read_environment",
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


class EnvironmentAction(Action):
    """An action that sets variables of the function: a subclass says which (``wanted``) and why it
    refuses (``refusal``). ``incident_marker`` is the variable a write sets to the incident id (``None``:
    none); the change has landed when it names the incident and every variable has its wanted value."""

    incident_marker: ClassVar[str | None] = None

    @abstractmethod
    def wanted(self, target: Target, incident_id: str) -> Mapping[str, str]:
        """The variables to set, and their values."""

    def refusal(self, wanted: Mapping[str, str]) -> str | None:
        """Why the action will not set ``wanted`` (``None``: it will)."""
        return None

    def plan(self, lambda_client: LambdaClient, target: Target, incident_id: str) -> Plan:
        """Read the variables and say which of ``wanted`` differ, or, when the change landed, what the
        earlier run changed; may raise ``TargetUnreadable``."""
        environment = read_environment(lambda_client, target.function_name)
        wanted = self.wanted(target, incident_id)
        refusal = self.refusal(wanted)
        current = environment.variables
        marker = self.incident_marker
        landed = (marker is None or current.get(marker) == incident_id) and all(
            current.get(name) == value for name, value in wanted.items()
        )
        resource = function_resource(target.function_name)
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
            action=self.name,
            target=target,
            incident_id=incident_id,
            changes=changes,
            landed=landed and refusal is None,
            refusal=refusal,
            guard=environment.revision_id,
            environment=dict(current),
        )

    def _apply(self, client: LambdaClient, plan: Plan, run: Run) -> ActionOutcome:
        """Write the plan's variables with the markers, guarded by ``plan.guard``, then wait for the
        update (a landed plan: only wait)."""
        name = plan.target.function_name
        if plan.landed:
            settled, detail = run.settle(function_settled(client, name))
            return run.outcome(
                "already_applied" if settled else "not_settled", f"earlier update: {detail}", plan.changes
            )
        variables = dict(plan.environment)
        for change in plan.changes:
            variable = change.field.removeprefix(ENV_FIELD_PREFIX)
            variables[variable] = str(change.after)
            variables[f"PREVIOUS_{variable}"] = "" if change.before is None else str(change.before)
        variables["HEALED_AT"] = iso_utc(datetime.fromtimestamp(run.clock.now(), UTC))
        variables["HEALED_BY"] = plan.target.healer_name
        if self.incident_marker is not None:
            variables[self.incident_marker] = plan.incident_id
        result = run.call(
            _update(client, name, variables, plan.guard), f"UpdateFunctionConfiguration({name})"
        )
        if not result.ok:
            return run.failed(result)
        settled, detail = run.settle(function_settled(client, name))
        return run.outcome("applied" if settled else "not_settled", detail, plan.changes, result.attempts)

    def _undo(self, client: LambdaClient, changes: Sequence[Change], tally: Restoration) -> ActionOutcome:
        """Put each variable back (absent → removed) where it still has the recorded value, one guarded
        write per function, then wait for the update."""
        by_function: dict[str, list[Change]] = {}
        for change in changes:
            if not change.resource.startswith(_FUNCTION_PREFIX) or not change.field.startswith(
                ENV_FIELD_PREFIX
            ):
                tally.refuse(change, "is not a function's environment variable")
            else:
                by_function.setdefault(change.resource.removeprefix(_FUNCTION_PREFIX), []).append(change)
        unsettled: str | None = None
        for name, group in by_function.items():
            got = tally.read(
                partial(client.get_function_configuration, FunctionName=name),
                f"GetFunctionConfiguration({name})",
            )
            if got is None:
                break
            variables = dict(got.get("Environment", {}).get("Variables", {}))
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
            restore = _update(client, name, variables, got.get("RevisionId") or None)
            if not tally.restore(restore, f"UpdateFunctionConfiguration({name})", restoring):
                break
            settled, detail = tally.run.settle(function_settled(client, name))
            if not settled:
                unsettled = detail
        return tally.outcome(unsettled)
