"""Decisions about what goes wrong later in a run: races, failed steps, broken collaborators.

Pure functions like ``healer.policy``: a race lost to another invocation (``decided_elsewhere``,
``taken_over_elsewhere``), a claim that could not be made (``contention``), a step that failed
(``after_failed_action``), the registry or the ledger failing (``registry_invalid``,
``registry_unavailable``, ``ledger_unavailable``), the healer itself failing (``internal_error``);
``recorded_status`` is the incident status a decision leaves in the ledger.
"""

from __future__ import annotations

from typing import assert_never

from healer.decisions import (
    ActionCode,
    CloseCode,
    Decision,
    EscalationCode,
    IncidentStatus,
    ObserveCode,
    OutcomeStatus,
    SkipCode,
)

__all__ = [
    "after_failed_action",
    "contention",
    "decided_elsewhere",
    "internal_error",
    "ledger_unavailable",
    "recorded_status",
    "registry_invalid",
    "registry_unavailable",
    "taken_over_elsewhere",
]


def decided_elsewhere() -> Decision:
    """Another invocation recorded its decision about this transition first."""
    return Decision(SkipCode.DUPLICATE, "another invocation decided this transition")


def taken_over_elsewhere() -> Decision:
    """Another invocation took the expired claim over, or its holder finished, first."""
    return Decision(SkipCode.DUPLICATE, "another invocation took over or finished the claim")


def contention() -> Decision:
    """The function's or the fleet's control item changed under every attempt to claim a step."""
    return Decision(
        EscalationCode.CONTENTION, "the function's or the fleet's action record kept changing; not acting"
    )


def after_failed_action(status: OutcomeStatus, detail: str) -> Decision:
    """What follows a step that did not apply: a lost claim is left alone, anything else is escalated.

    ``revision_changed`` is final only once re-planning on the changed function stopped helping.
    """
    match status:
        case "lease_lost":
            return Decision(SkipCode.CLAIM_LOST, f"stopped before acting: {detail}")
        case "permanent_error":
            return Decision(EscalationCode.PERMANENT_ERROR, f"remediation failed: {detail}")
        case "retries_exhausted":
            return Decision(EscalationCode.RETRIES_EXHAUSTED, f"remediation failed: {detail}")
        case "not_settled":
            return Decision(EscalationCode.NOT_SETTLED, f"remediation failed: {detail}")
        case "revision_changed":
            return Decision(EscalationCode.REVISION_CHANGED, "the function kept changing while acting")
        case "applied" | "already_applied":
            raise ValueError(f"{status!r} is not a failed action")
        case unreachable:
            assert_never(unreachable)


def registry_invalid(detail: str) -> Decision:
    """The alarm's registry parameter does not parse: nothing is changed, people are told."""
    return Decision(EscalationCode.REGISTRY_INVALID, detail)


def registry_unavailable(detail: str) -> Decision:
    """The registry could not be read: no action (fail closed)."""
    return Decision(EscalationCode.REGISTRY_UNAVAILABLE, f"registry unavailable ({detail}); no action taken")


def ledger_unavailable(error: str, *, acted: bool) -> Decision:
    """The ledger failed: no action (fail closed), or an action that could not be recorded."""
    return Decision(
        EscalationCode.LEDGER_UNAVAILABLE,
        f"ledger unavailable ({error}); "
        + ("the action was taken but could not be recorded" if acted else "no action taken"),
    )


def internal_error(exc: BaseException) -> Decision:
    """The healer itself failed unexpectedly."""
    return Decision(EscalationCode.INTERNAL_ERROR, f"the healer failed: {type(exc).__name__}: {exc}")


def recorded_status(decision: Decision) -> IncidentStatus:
    """The status an incident takes when ``decision`` is recorded: a failed step leaves it ``FAILED``."""
    match decision.code:
        case (
            EscalationCode.PERMANENT_ERROR
            | EscalationCode.RETRIES_EXHAUSTED
            | EscalationCode.NOT_SETTLED
            | EscalationCode.REVISION_CHANGED
        ):
            return IncidentStatus.FAILED
        case EscalationCode.VERIFY_TIMEOUT:
            return IncidentStatus.UNVERIFIED
        case EscalationCode.AWAITING_APPROVAL:
            return IncidentStatus.AWAITING_APPROVAL
        case EscalationCode():
            return IncidentStatus.ESCALATED
        case ObserveCode():
            return IncidentStatus.OBSERVED
        case ActionCode():
            return IncidentStatus.ACTING
        case CloseCode():
            return IncidentStatus.RECOVERED
        case SkipCode():
            raise ValueError(f"a skip ({decision.code}) leaves the incident as it is")
        case unreachable:
            assert_never(unreachable)
