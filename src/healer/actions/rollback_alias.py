"""``rollback_alias``: point the target's alias at the newest published version below its current one.

The plan reads the alias (``GetAlias``) and the function's versions (``ListVersionsByFunction``). It
refuses when the target has no alias, while the alias shifts traffic (``RoutingConfig``'s
``AdditionalVersionWeights``: someone else is deploying), when the alias points at ``$LATEST``, and when
there is no published version below the current one. The write (``UpdateAlias``) is guarded by the
alias's ``RevisionId`` and records the rollback in the alias's ``Description``
(``selfheal <incident>: rolled back from version 3 to 2``): an alias still at the version that
description names has landed, so a retried run never rolls back twice. An undo puts the version back
where the alias still points where the rollback left it and is not shifting traffic; the description
stays, as history.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING

from healer.actions.calls import Action, Restoration, Run, read
from healer.actions.model import ActionOutcome, Change, Plan, Target

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

__all__ = ["FIELD", "RollbackAlias", "alias_resource", "rollback_description"]

FIELD = "FunctionVersion"
_PREFIX = "alias:"
_MARKER = re.compile(
    r"^selfheal (?P<incident>\S+): rolled back from version (?P<before>\d+) to (?P<after>\d+)$"
)
_DESCRIPTION_LIMIT = 256


def alias_resource(function_name: str, alias_name: str) -> str:
    """The resource name of an alias in a ``Change``."""
    return f"{_PREFIX}{function_name}:{alias_name}"


def rollback_description(incident_id: str, before: str, after: str) -> str:
    """The alias description that records a rollback (at most 256 characters, Lambda's limit)."""
    return f"selfheal {incident_id}: rolled back from version {before} to {after}"[:_DESCRIPTION_LIMIT]


def _shifting(weights: Mapping[str, float]) -> str:
    return " and ".join(
        f"version {version} (weight {weight:g})" for version, weight in sorted(weights.items())
    )


class RollbackAlias(Action):
    """Roll the alias back one published version."""

    name = "rollback_alias"

    def plan(self, lambda_client: LambdaClient, target: Target, incident_id: str) -> Plan:
        """Read the alias and the versions, and pick the version to roll back to; may raise
        ``TargetUnreadable``."""
        alias = target.alias_name
        function = target.function_name
        if not alias:
            return Plan(self.name, target, incident_id, refusal="the target has no alias to roll back")
        got = read(
            f"GetAlias({function}:{alias})",
            partial(lambda_client.get_alias, FunctionName=function, Name=alias),
        )
        current = got["FunctionVersion"]
        guard = got.get("RevisionId") or None
        weights = dict(got.get("RoutingConfig", {}).get("AdditionalVersionWeights", {}))
        resource = alias_resource(function, alias)

        def refused(reason: str) -> Plan:
            return Plan(self.name, target, incident_id, refusal=reason, guard=guard)

        if weights:
            return refused(
                f"alias {alias} is shifting traffic to {_shifting(weights)}: someone else is deploying; "
                "not rolling back"
            )
        marker = _MARKER.match(got.get("Description", ""))
        if marker and marker["incident"] == incident_id and marker["after"] == current:
            change = Change(resource, FIELD, marker["before"], current)
            return Plan(self.name, target, incident_id, (change,), landed=True, guard=guard)
        if not current.isdigit():
            return refused(
                f"alias {alias} points at {current}, not a published version: nothing to roll back"
            )
        paginator = lambda_client.get_paginator("list_versions_by_function")
        versions = read(
            f"ListVersionsByFunction({function})",
            lambda: [
                v["Version"] for page in paginator.paginate(FunctionName=function) for v in page["Versions"]
            ],
        )
        older = [int(v) for v in versions if v.isdigit() and int(v) < int(current)]
        if not older:
            return refused(f"alias {alias} is at version {current}: there is no published version below it")
        change = Change(resource, FIELD, current, str(max(older)))
        return Plan(self.name, target, incident_id, (change,), guard=guard)

    def _apply(self, client: LambdaClient, plan: Plan, run: Run) -> ActionOutcome:
        """Point the alias at the older version (RevisionId-guarded). An alias update takes effect at once:
        nothing to wait for."""
        if plan.landed:
            return run.outcome(
                "already_applied", "the alias already points where this incident left it", plan.changes
            )
        (change,) = plan.changes
        function, alias = plan.target.function_name, str(plan.target.alias_name)
        description = rollback_description(plan.incident_id, str(change.before), str(change.after))

        def update() -> object:
            if plan.guard:
                return client.update_alias(
                    FunctionName=function,
                    Name=alias,
                    FunctionVersion=str(change.after),
                    Description=description,
                    RevisionId=plan.guard,
                )
            return client.update_alias(
                FunctionName=function, Name=alias, FunctionVersion=str(change.after), Description=description
            )

        result = run.call(update, f"UpdateAlias({function}:{alias})")
        if not result.ok:
            return run.failed(result)
        detail = f"alias {alias} rolled back from version {change.before} to {change.after}"
        return run.outcome("applied", detail, plan.changes, result.attempts)

    def _undo(self, client: LambdaClient, changes: Sequence[Change], tally: Restoration) -> ActionOutcome:
        """Point each alias back at its recorded version where it still points at the rolled-back one and
        is not shifting traffic."""
        for change in changes:
            function, _, alias = change.resource.removeprefix(_PREFIX).rpartition(":")
            if not change.resource.startswith(_PREFIX) or not function or change.field != FIELD:
                tally.refuse(change, "is not an alias's version")
                continue
            got = tally.read(
                partial(client.get_alias, FunctionName=function, Name=alias),
                f"GetAlias({function}:{alias})",
                change,
            )
            if tally.stopped:
                break
            if got is None:
                continue
            weights = dict(got.get("RoutingConfig", {}).get("AdditionalVersionWeights", {}))
            if weights:
                tally.refuse(change, f"is shifting traffic to {_shifting(weights)}")
                continue
            if not tally.needs_restore(change, got["FunctionVersion"]):
                continue
            revision_id = got.get("RevisionId") or None
            update = partial(
                client.update_alias, FunctionName=function, Name=alias, FunctionVersion=str(change.before)
            )
            restore = partial(update, RevisionId=revision_id) if revision_id else update
            if not tally.restore(restore, f"UpdateAlias({function}:{alias})", [change]):
                break
        return tally.outcome()
