"""Operator commands, sent as a direct Invoke of the healer: ``approve`` and ``restore`` an incident.

``{"selfheal_command": "approve" | "restore", "incident_id": "inc-…", "operator": "<who>"}``
(docs/platform.md). ``approve`` lets an incident ``AWAITING_APPROVAL`` run its playbook, under the same
rails and claims as an automatic action. ``restore`` undoes what the incident's steps changed, newest
first, each change only where the current value is still the one the healer set (``healer.actions``),
and records the restore as its own ledger item. A command that does not apply is rejected with a
one-line reason and changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from healer import policy, setbacks
from healer.actions import ACTIONS, Change
from healer.clients import RoleUnavailable
from healer.decisions import Decision, IncidentStatus
from healer.ledger import Incident
from healer.log import logger
from healer.playbook import Run, Steps, Summary, seen_of
from healer.policy import Situation
from healer.registry import Protection, RegistryInvalid, RegistryUnavailable

__all__ = ["COMMANDS", "handle", "is_command"]

COMMANDS = ("approve", "restore")
_INCIDENT_ID = re.compile(r"^inc-[0-9a-f]{20}$")
_OPERATOR = re.compile(r"^[\w.@+=,:/ -]{1,128}$")


class Rejected(ValueError):
    """The command does not apply; nothing was changed."""


def is_command(event: object) -> bool:
    """True when ``event`` is an operator command rather than an alarm delivery."""
    return isinstance(event, Mapping) and "selfheal_command" in event


def _rejected(error: str, reason: str) -> Summary:
    logger.warning("operator command rejected", extra={"rejected": error, "why": reason})
    return {"results": [], "rejected": [{"error": error, "reason": reason}]}


def _parse(event: Mapping[str, Any]) -> tuple[str, str, str]:
    command = event.get("selfheal_command")
    if command not in COMMANDS:
        raise Rejected(f"selfheal_command must be one of {', '.join(COMMANDS)}, got {command!r}")
    incident_id = event.get("incident_id")
    if not isinstance(incident_id, str) or not _INCIDENT_ID.match(incident_id):
        raise Rejected(f"incident_id must look like inc-<20 hex digits>, got {incident_id!r}")
    operator = event.get("operator", "operator")
    if not isinstance(operator, str) or not _OPERATOR.match(operator):
        raise Rejected(f"operator must be 1-128 printable characters, got {operator!r}")
    return command, incident_id, operator


def handle(
    steps: Steps, event: object, remaining: Callable[[], float] | None, request_id: str | None
) -> Summary:
    """Run one operator command; never raises."""
    assert isinstance(event, Mapping)
    try:
        command, incident_id, operator = _parse(event)
        incident = steps.ledger.find(incident_id)
        if incident is None:
            raise Rejected(f"no incident {incident_id} in the ledger")
        try:
            protection = steps.registry.lookup(incident.alarm_name)
        except (RegistryInvalid, RegistryUnavailable) as exc:
            raise Rejected(f"the registry entry of {incident.alarm_name} cannot be read: {exc}") from None
        if protection is None:
            raise Rejected(f"alarm {incident.alarm_name} is no longer in the registry")
    except Rejected as exc:
        return _rejected("Rejected", str(exc))
    except Exception as exc:  # the ledger failing, or a bug: the operator sees it, nothing was changed
        logger.exception("operator command failed", extra={"command": event.get("selfheal_command")})
        return _rejected(type(exc).__name__, str(exc))
    run = Run(
        steps.clock,
        request_id,
        {"command": command, "operator": operator, "alarm": incident.alarm_name, "function": incident.target},
    )
    run.summary["incident_id"] = incident.incident_id
    run.seen = seen_of(incident.alarm_name, "OK", "ALARM", incident.alarm_time, f"{command} by {operator}")
    try:
        if command == "approve":
            _approve(steps, incident, protection, operator, run, remaining)
        else:
            _restore(steps, incident, protection, operator, run)
    except Rejected as exc:
        return _rejected("Rejected", str(exc))
    except Exception as exc:  # a bug must not leave the operator without an answer
        logger.exception("operator command failed", extra={"incident_id": incident.incident_id})
        run.decided(setbacks.internal_error(exc))
    return {"results": [run.finish()], "rejected": []}


def _approve(
    steps: Steps,
    incident: Incident,
    protection: Protection,
    operator: str,
    run: Run,
    remaining: Callable[[], float] | None,
) -> None:
    if incident.status != IncidentStatus.AWAITING_APPROVAL:
        raise Rejected(f"incident {incident.incident_id} is {incident.status}, not AWAITING_APPROVAL")

    def judge(situation: Situation) -> Decision:
        return policy.decide_approval(situation, operator)

    tried = steps.attempt(protection, incident, IncidentStatus.AWAITING_APPROVAL, run, judge)
    run.decided(tried.decision)
    if tried.decision.kind == "skip":
        raise Rejected(tried.decision.reason)
    if tried.lost:
        raise Rejected(f"incident {incident.incident_id} was decided meanwhile (approved twice, or OK)")
    if tried.claimed and tried.plan is not None and tried.planned.step is not None:
        steps.run(protection, incident, tried.plan, tried.planned.step.index, run, remaining)
        return
    recorded = steps.ledger.record_decision(
        incident,
        setbacks.recorded_status(tried.decision),
        tried.decision,
        steps.clock.now(),
        expect=IncidentStatus.AWAITING_APPROVAL,
    )
    if recorded and tried.decision.kind == "escalate":
        steps.escalate(incident.alarm_name, run, tried.decision)


def _restore(steps: Steps, incident: Incident, protection: Protection, operator: str, run: Run) -> None:
    applied = [r for r in incident.steps if r.status in ("applied", "already_applied") and r.changes]
    if not applied:
        raise Rejected(f"incident {incident.incident_id} changed nothing; there is nothing to restore")
    if incident.status == IncidentStatus.ACTING:
        raise Rejected(f"a step of incident {incident.incident_id} is being applied; restore once it ends")
    try:
        acting = steps.acting(protection)
    except RoleUnavailable as exc:
        raise Rejected(f"cannot act on {protection.function_name}: {exc}") from None
    if not steps.ledger.mark_restored(incident, steps.clock.now()):
        raise Rejected(f"incident {incident.incident_id} was restored already")
    results: list[str] = []
    restored = 0
    for record in reversed(applied):
        changes = [Change.from_json(change) for change in record.changes]
        outcome = ACTIONS[record.action].undo(
            acting.lambda_,
            changes,
            clock=steps.clock,
            backoff=steps.limits.backoff,
            settle_timeout=steps.limits.settle_timeout,
        )
        restored += outcome.applied
        results.append(f"step {record.index + 1} {record.action}: {outcome.status}: {outcome.detail}")
    outcome_text = (
        "restored" if restored == len(applied) else "partly restored" if restored else "not restored"
    )
    detail = "; ".join(results)
    steps.ledger.record_restore(incident, operator, outcome_text, detail, steps.clock.now())
    run.summary.update(
        action_taken=f"restore by {operator}: {outcome_text}", restore=outcome_text, detail=detail
    )
