"""``disable_event_source``: stop the target's event source mappings from feeding it (queues, streams).

The plan finds the mappings: those named in ``target.event_source_mapping_uuids`` (``GetEventSourceMapping``;
each must belong to the function), or else every mapping of the function and, with an alias, of the
alias's ARN (``ListEventSourceMappings``). Each one ``Enabled``, ``Enabling`` or ``Updating`` is a change
(field ``State``, ``Enabled`` → ``Disabled``); none → refusal. Apply disables them one by one
(``UpdateEventSourceMapping(Enabled=False)``) and waits until they read ``Disabled``; a failure part-way
reports the mappings already disabled as its changes. Mappings carry no revision and no marker, so this
action never reports ``landed``. An undo re-enables the mappings that are still disabled.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from healer.actions.calls import Action, Probe, Restoration, Run, read
from healer.actions.model import ActionOutcome, Change, Plan, Target

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

__all__ = ["ACTIVE_STATES", "FIELD", "DisableEventSource", "mapping_resource"]

FIELD = "State"
ACTIVE_STATES = frozenset({"Enabled", "Enabling", "Updating"})
_PREFIX = "event-source-mapping:"
_SETTLED = {"Disabling": "Disabled", "Enabling": "Enabled"}  # where a transition is heading


def mapping_resource(uuid: str) -> str:
    """The resource name of an event source mapping in a ``Change``."""
    return f"{_PREFIX}{uuid}"


def _function_of(arn: str) -> str:
    """The function name in a function ARN (qualified or not); the input itself when it is a name."""
    parts = arn.split(":")
    return parts[6] if len(parts) >= 7 and parts[5] == "function" else arn


def _mappings(client: LambdaClient, target: Target) -> list[Mapping[str, Any]]:
    function = target.function_name
    if target.event_source_mapping_uuids:
        return [
            read(f"GetEventSourceMapping({uuid})", partial(client.get_event_source_mapping, UUID=uuid))
            for uuid in target.event_source_mapping_uuids
        ]
    owners = [function]
    if target.alias_name:
        got = read(
            f"GetAlias({function}:{target.alias_name})",
            partial(client.get_alias, FunctionName=function, Name=target.alias_name),
        )
        owners.append(got["AliasArn"])
    found: list[Mapping[str, Any]] = []
    for owner in owners:
        found.extend(read(f"ListEventSourceMappings({owner})", partial(_listed, client, owner)))
    return found


def _listed(client: LambdaClient, owner: str) -> list[Mapping[str, Any]]:
    paginator = client.get_paginator("list_event_source_mappings")
    return [
        mapping for page in paginator.paginate(FunctionName=owner) for mapping in page["EventSourceMappings"]
    ]


def _states(client: LambdaClient, uuids: Iterable[str]) -> Probe:
    """A probe: have all ``uuids`` reached the state they are heading for (not ``…ing``)?"""

    def probe() -> tuple[bool | None, str]:
        waiting = []
        for uuid in uuids:
            try:
                state = client.get_event_source_mapping(UUID=uuid).get("State", "")
            except (ClientError, BotoCoreError) as exc:
                return None, f"could not read mapping {uuid}: {exc}"
            if state.endswith("ing"):
                waiting.append(f"{uuid} is {state}")
        return (None, "; ".join(waiting)) if waiting else (True, "mappings settled")

    return probe


class DisableEventSource(Action):
    """Disable every enabled event source mapping of the function (and of its alias)."""

    name = "disable_event_source"

    def plan(self, lambda_client: LambdaClient, target: Target, incident_id: str) -> Plan:
        """Find the enabled mappings; may raise ``TargetUnreadable``."""
        function = _function_of(target.function_name)
        changes: list[Change] = []
        foreign: list[str] = []
        for mapping in _mappings(lambda_client, target):
            uuid, owner = mapping["UUID"], _function_of(mapping.get("FunctionArn", ""))
            if owner != function:
                foreign.append(f"{uuid} (of {owner})")
            elif mapping.get("State") in ACTIVE_STATES and all(
                c.resource != mapping_resource(uuid) for c in changes
            ):
                changes.append(Change(mapping_resource(uuid), FIELD, "Enabled", "Disabled"))
        if foreign:
            refusal = f"event source mappings not of {function}: {', '.join(foreign)}"
            return Plan(self.name, target, incident_id, refusal=refusal)
        if not changes:
            where = f"{function} or its alias {target.alias_name}" if target.alias_name else function
            return Plan(self.name, target, incident_id, refusal=f"no enabled event source mapping on {where}")
        return Plan(self.name, target, incident_id, tuple(changes))

    def _apply(self, client: LambdaClient, plan: Plan, run: Run) -> ActionOutcome:
        """Disable each planned mapping, then wait until they read ``Disabled``."""
        done: list[Change] = []
        attempts = 0
        for change in plan.changes:
            uuid = change.resource.removeprefix(_PREFIX)
            result = run.call(
                partial(client.update_event_source_mapping, UUID=uuid, Enabled=False),
                f"UpdateEventSourceMapping({uuid})",
            )
            attempts += result.attempts
            if not result.ok:
                detail = f"{result.detail} (disabled {len(done)} of {len(plan.changes)} first)"
                return run.outcome(result.status, detail, tuple(done), attempts)
            done.append(change)
        uuids = [change.resource.removeprefix(_PREFIX) for change in done]
        settled, detail = run.settle(_states(client, uuids))
        detail = f"disabled {', '.join(uuids)}: {detail}"
        return run.outcome("applied" if settled else "not_settled", detail, tuple(done), attempts)

    def _undo(self, client: LambdaClient, changes: Sequence[Change], tally: Restoration) -> ActionOutcome:
        """Re-enable each mapping that is still disabled, then wait until they read ``Enabled``."""
        enabled: list[str] = []
        for change in changes:
            uuid = change.resource.removeprefix(_PREFIX)
            if not change.resource.startswith(_PREFIX) or change.field != FIELD or change.before != "Enabled":
                tally.refuse(change, "is not an event source mapping that was disabled")
                continue
            got = tally.read(
                partial(client.get_event_source_mapping, UUID=uuid), f"GetEventSourceMapping({uuid})", change
            )
            if tally.stopped:
                break
            if got is None:
                continue
            state = got.get("State", "")
            if not tally.needs_restore(change, _SETTLED.get(state, state)):
                continue
            enable = partial(client.update_event_source_mapping, UUID=uuid, Enabled=True)
            if not tally.restore(enable, f"UpdateEventSourceMapping({uuid})", [change]):
                break
            enabled.append(uuid)
        unsettled = None
        if enabled:
            settled, detail = tally.run.settle(_states(client, enabled))
            unsettled = None if settled else detail
        return tally.outcome(unsettled)
