"""The healer's vocabulary: decision codes, incident statuses, action outcomes, and advice for people.

Every string here goes verbatim into the ledger and the logs (docs/internals.md lists them). A decision's
code says what it is; its kind follows from the code's class: ``SkipCode`` → ``skip``, ``EscalationCode``
→ ``escalate``, ``ActionCode`` → ``act``, ``CloseCode`` → ``close``, ``DryRunCode`` → ``dry_run``. Only
an ``EscalationCode`` can escalate, and ``advice_for`` has advice for each of them (mypy checks that the
``match`` is exhaustive).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, TypeAlias, assert_never

__all__ = [
    "OPEN_STATUSES",
    "ActionCode",
    "CloseCode",
    "Decision",
    "DecisionCode",
    "DecisionKind",
    "DryRunCode",
    "EscalationCode",
    "IncidentStatus",
    "OutcomeStatus",
    "SkipCode",
    "advice_for",
]

DecisionKind = Literal["act", "skip", "escalate", "close", "dry_run"]
OutcomeStatus = Literal[
    "applied",
    "already_applied",
    "revision_changed",
    "permanent_error",
    "retries_exhausted",
    "not_settled",
    "lease_lost",
]
"""How one remediation attempt ended (``healer.remediation.RemediationOutcome.status``)."""


class SkipCode(StrEnum):
    """Why the healer did nothing about a notification."""

    FOREIGN_NAMESPACE = "foreign_namespace"
    FOREIGN_FUNCTION = "foreign_function"
    NO_OPEN_INCIDENT = "no_open_incident"
    NOT_ALARM = "not_alarm"
    CLAIM_HELD = "claim_held"
    DUPLICATE = "duplicate"
    CLAIM_LOST = "claim_lost"


class EscalationCode(StrEnum):
    """Why the healer told people instead of acting, or after its action failed or did not hold."""

    FAILURE_RATE_ZERO = "failure_rate_zero"
    TARGET_UNREADABLE = "target_unreadable"
    COOLDOWN = "cooldown"
    ACTION_CAP = "action_cap"
    CONTENTION = "contention"
    PERMANENT_ERROR = "permanent_error"
    RETRIES_EXHAUSTED = "retries_exhausted"
    NOT_SETTLED = "not_settled"
    REVISION_CHANGED = "revision_changed"
    VERIFY_TIMEOUT = "verify_timeout"
    LEDGER_UNAVAILABLE = "ledger_unavailable"
    INTERNAL_ERROR = "internal_error"


class ActionCode(StrEnum):
    """Why the healer acted: a fresh action, a take-over of an expired claim, or recording one that landed."""

    RESET_FAILURE_RATE = "reset_failure_rate"
    TAKE_OVER = "take_over"
    RECORD_LANDED_ACTION = "record_landed_action"


class CloseCode(StrEnum):
    """The alarm is OK again and closes its open incident."""

    RECOVERED = "recovered"


class DryRunCode(StrEnum):
    """The healer would have acted but runs in dry-run mode."""

    DRY_RUN = "dry_run"


DecisionCode: TypeAlias = SkipCode | EscalationCode | ActionCode | CloseCode | DryRunCode


class IncidentStatus(StrEnum):
    """Where an incident (one ALARM transition of the target) stands in the ledger."""

    NEW = "NEW"
    ACTING = "ACTING"
    ACTED = "ACTED"
    RECOVERED = "RECOVERED"
    UNVERIFIED = "UNVERIFIED"
    ESCALATED = "ESCALATED"
    DRY_RUN = "DRY_RUN"
    FAILED = "FAILED"


OPEN_STATUSES = (IncidentStatus.ACTING, IncidentStatus.ACTED, IncidentStatus.UNVERIFIED)
"""The statuses of an incident that waits for the alarm's ``OK``."""


@dataclass(frozen=True)
class Decision:
    """What to do about one notification: a machine ``code`` (which fixes the kind) and a human ``reason``."""

    code: DecisionCode
    reason: str

    @property
    def kind(self) -> DecisionKind:
        """``act``, ``skip``, ``escalate``, ``close`` or ``dry_run``, from the class of the code."""
        match self.code:
            case SkipCode():
                return "skip"
            case EscalationCode():
                return "escalate"
            case ActionCode():
                return "act"
            case CloseCode():
                return "close"
            case DryRunCode():
                return "dry_run"
            case unreachable:
                assert_never(unreachable)


def advice_for(code: EscalationCode) -> str:
    """The recommended human action for an escalation."""
    match code:
        case EscalationCode.FAILURE_RATE_ZERO:
            return (
                "The errors are not caused by injected failures (FAILURE_RATE is 0), so the healer cannot "
                "help. Read the function's logs and recent deployments and fix the cause."
            )
        case EscalationCode.TARGET_UNREADABLE:
            return (
                "The healer could not read the function's configuration. Check that it exists and that the "
                "healer's role may call lambda:GetFunctionConfiguration on it."
            )
        case EscalationCode.COOLDOWN:
            return (
                "A remediation was applied recently and the alarm fired again: something keeps breaking "
                "the function. Find what raises FAILURE_RATE (a deploy, an operator, a script) before "
                "resetting it."
            )
        case EscalationCode.ACTION_CAP:
            return (
                "The healer reached its cap of automatic actions for the window. The problem keeps coming "
                "back: investigate it; the next terraform apply restores the baseline configuration."
            )
        case EscalationCode.CONTENTION:
            return (
                "Other alarm transitions kept claiming actions on the function while the healer tried to, so "
                "it took no action. Look at the recent incidents (selfheal status) and the function's "
                "FAILURE_RATE; reset it by hand if the function still fails."
            )
        case EscalationCode.PERMANENT_ERROR:
            return (
                "The remediation call was refused. Check the healer's IAM permissions "
                "(lambda:UpdateFunctionConfiguration) and the function's state, then reset FAILURE_RATE "
                "by hand."
            )
        case EscalationCode.RETRIES_EXHAUSTED:
            return (
                "The function stayed busy or throttled. Reset FAILURE_RATE by hand once its update finishes, "
                "and check for competing deployments."
            )
        case EscalationCode.NOT_SETTLED:
            return "The configuration update did not finish. Check the function's LastUpdateStatus."
        case EscalationCode.REVISION_CHANGED:
            return (
                "The function kept changing while the healer tried to act. Someone else is changing it: "
                "coordinate before remediating by hand."
            )
        case EscalationCode.VERIFY_TIMEOUT:
            return (
                "FAILURE_RATE was reset but the alarm is still not OK. The failure has another cause: read "
                "the function's logs and metrics."
            )
        case EscalationCode.LEDGER_UNAVAILABLE:
            return (
                "The healer could not use its ledger, so it took no action (fail closed). Check the DynamoDB "
                "table and the healer's permissions, then remediate by hand if needed."
            )
        case EscalationCode.INTERNAL_ERROR:
            return (
                "The healer itself failed while handling this alarm (see its logs). Check the function and "
                "remediate by hand if needed."
            )
        case unreachable:
            assert_never(unreachable)
