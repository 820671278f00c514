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

from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from healer.actions.calls import Restoration, Stopwatch, call_with_retries, read, unrunnable, wait_until
from healer.actions.model import ActionOutcome, Backoff, Change, Plan, Target
from healer.clock import Clock

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


def _states(client: LambdaClient, uuids: Iterable[str]) -> Callable[[], tuple[bool | None, str]]:
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


class DisableEventSource:
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
        """Disable each planned mapping, then wait until they read ``Disabled``; never raises."""
        watch = Stopwatch(clock)
        stopped = unrunnable(plan, self.name, watch)
        if stopped is not None:
            return stopped
        done: list[Change] = []
        attempts = 0
        for change in plan.changes:
            uuid = change.resource.removeprefix(_PREFIX)
            result = call_with_retries(
                partial(lambda_client.update_event_source_mapping, UUID=uuid, Enabled=False),
                what=f"UpdateEventSourceMapping({uuid})",
                clock=clock,
                backoff=backoff or Backoff(),
                before_update=before_update,
            )
            attempts += result.attempts
            if not result.ok:
                detail = f"{result.detail} (disabled {len(done)} of {len(plan.changes)} first)"
                return watch.outcome(result.status, detail, tuple(done), attempts)
            done.append(change)
        uuids = [change.resource.removeprefix(_PREFIX) for change in done]
        settled, detail = wait_until(_states(lambda_client, uuids), clock=clock, timeout=settle_timeout)
        detail = f"disabled {', '.join(uuids)}: {detail}"
        return watch.outcome("applied" if settled else "not_settled", detail, tuple(done), attempts)

    def undo(
        self,
        lambda_client: LambdaClient,
        changes: Sequence[Change],
        *,
        clock: Clock,
        backoff: Backoff | None = None,
        settle_timeout: float = 30.0,
    ) -> ActionOutcome:
        """Re-enable each mapping that is still disabled; never raises."""
        watch = Stopwatch(clock)
        backoff = backoff or Backoff()
        tally = Restoration(len(changes))
        enabled: list[str] = []
        for change in changes:
            uuid = change.resource.removeprefix(_PREFIX)
            if not change.resource.startswith(_PREFIX) or change.field != FIELD or change.before != "Enabled":
                tally.refuse(change, "is not an event source mapping that was disabled")
                continue
            got = call_with_retries(
                partial(lambda_client.get_event_source_mapping, UUID=uuid),
                what=f"GetEventSourceMapping({uuid})",
                clock=clock,
                backoff=backoff,
            )
            tally.attempts += got.attempts
            if got.code == "ResourceNotFoundException":
                tally.refuse(change, "no longer exists")
                continue
            if got.response is None:
                tally.fail(got.status, got.detail)
                break
            state = got.response.get("State", "")
            if not tally.needs_restore(change, _SETTLED.get(state, state)):
                continue
            result = call_with_retries(
                partial(lambda_client.update_event_source_mapping, UUID=uuid, Enabled=True),
                what=f"UpdateEventSourceMapping({uuid})",
                clock=clock,
                backoff=backoff,
            )
            if not tally.record(result, [change]):
                break
            enabled.append(uuid)
        unsettled = None
        if enabled:
            settled, detail = wait_until(_states(lambda_client, enabled), clock=clock, timeout=settle_timeout)
            unsettled = None if settled else detail
        return tally.outcome(watch, unsettled)
