"""The healer's vocabulary: decision codes, incident statuses, action outcomes, and advice for people.

Every string here goes verbatim into the ledger and the logs (docs/platform.md lists them). A decision's
code says what it is; its kind follows from the code's class: ``SkipCode`` → ``skip``, ``EscalationCode``
→ ``escalate``, ``ActionCode`` → ``act``, ``CloseCode`` → ``close``, ``ObserveCode`` → ``observe``. Only
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
    "EscalationCode",
    "IncidentStatus",
    "ObserveCode",
    "OutcomeStatus",
    "SkipCode",
    "advice_for",
]

DecisionKind = Literal["act", "skip", "escalate", "close", "observe"]
OutcomeStatus = Literal[
    "applied",
    "already_applied",
    "revision_changed",
    "permanent_error",
    "retries_exhausted",
    "not_settled",
    "lease_lost",
]
"""How one action attempt ended (``healer.actions.ActionOutcome.status``)."""


class SkipCode(StrEnum):
    """Why the healer did nothing about a notification."""

    UNREGISTERED_ALARM = "unregistered_alarm"
    NO_OPEN_INCIDENT = "no_open_incident"
    NOT_ALARM = "not_alarm"
    CLAIM_HELD = "claim_held"
    DUPLICATE = "duplicate"
    CLAIM_LOST = "claim_lost"
    KILL_SWITCH = "kill_switch"


class EscalationCode(StrEnum):
    """Why the healer told people instead of acting, or after its action failed or did not hold."""

    NOTHING_TO_CHANGE = "nothing_to_change"
    ACTION_REFUSED = "action_refused"
    TARGET_UNREADABLE = "target_unreadable"
    COOLDOWN = "cooldown"
    ACTION_CAP = "action_cap"
    FLEET_IN_FLIGHT = "fleet_in_flight"
    FLEET_RATE = "fleet_rate"
    CONTENTION = "contention"
    PERMANENT_ERROR = "permanent_error"
    RETRIES_EXHAUSTED = "retries_exhausted"
    NOT_SETTLED = "not_settled"
    REVISION_CHANGED = "revision_changed"
    VERIFY_TIMEOUT = "verify_timeout"
    AWAITING_APPROVAL = "awaiting_approval"
    REGISTRY_INVALID = "registry_invalid"
    REGISTRY_UNAVAILABLE = "registry_unavailable"
    LEDGER_UNAVAILABLE = "ledger_unavailable"
    INTERNAL_ERROR = "internal_error"


class ActionCode(StrEnum):
    """Why the healer acted: a playbook's first or next step, an approval, a take-over, a landed action."""

    RUN_STEP = "run_step"
    NEXT_STEP = "next_step"
    APPROVED = "approved"
    TAKE_OVER = "take_over"
    RECORD_LANDED_ACTION = "record_landed_action"


class CloseCode(StrEnum):
    """The alarm is OK again and closes its open incident."""

    RECOVERED = "recovered"


class ObserveCode(StrEnum):
    """The healer would have acted but the function is observed (its mode, the kill switch or DRY_RUN)."""

    OBSERVE = "observe"


DecisionCode: TypeAlias = SkipCode | EscalationCode | ActionCode | CloseCode | ObserveCode


class IncidentStatus(StrEnum):
    """Where an incident (one ALARM transition of a registered alarm) stands; see ``healer.lifecycle``."""

    NEW = "NEW"
    OBSERVED = "OBSERVED"
    AWAITING_APPROVAL = "AWAITING_APPROVAL"
    ACTING = "ACTING"
    ACTED = "ACTED"
    RECOVERED = "RECOVERED"
    UNVERIFIED = "UNVERIFIED"
    ESCALATED = "ESCALATED"
    FAILED = "FAILED"


OPEN_STATUSES = (
    IncidentStatus.AWAITING_APPROVAL,
    IncidentStatus.ACTING,
    IncidentStatus.ACTED,
    IncidentStatus.UNVERIFIED,
)
"""The statuses of an incident that waits for the alarm's ``OK``."""


@dataclass(frozen=True)
class Decision:
    """What to do about one notification: a machine ``code`` (which fixes the kind) and a human ``reason``."""

    code: DecisionCode
    reason: str

    @property
    def kind(self) -> DecisionKind:
        """``act``, ``skip``, ``escalate``, ``close`` or ``observe``, from the class of the code."""
        match self.code:
            case SkipCode():
                return "skip"
            case EscalationCode():
                return "escalate"
            case ActionCode():
                return "act"
            case CloseCode():
                return "close"
            case ObserveCode():
                return "observe"
            case unreachable:
                assert_never(unreachable)


def advice_for(code: EscalationCode) -> str:
    """The recommended human action for an escalation."""
    match code:
        case EscalationCode.NOTHING_TO_CHANGE:
            return (
                "Every step of the playbook finds its change already in place (for the seed: FAILURE_RATE is "
                "already 0), so the healer cannot help. Read the function's logs and recent deployments."
            )
        case EscalationCode.ACTION_REFUSED:
            return (
                "No step of the playbook could run (the reason is above: e.g. an alias being shifted by a "
                "deployment, no earlier version, no enabled event source). Remediate by hand."
            )
        case EscalationCode.TARGET_UNREADABLE:
            return (
                "The healer could not read the function. Check that it exists, that the healer's role may "
                "assume the function's remediation role and that this role may read it (the protect module "
                "creates the role and grants both, for this function only)."
            )
        case EscalationCode.COOLDOWN:
            return (
                "A remediation was applied recently and the alarm fired again: something keeps breaking "
                "the function (a deploy, an operator, a script). Find it before remediating again."
            )
        case EscalationCode.ACTION_CAP:
            return (
                "The healer reached its cap of automatic actions on this function for the window. The "
                "problem keeps coming back: investigate; the next terraform apply restores the baseline."
            )
        case EscalationCode.FLEET_IN_FLIGHT:
            return (
                "Too many functions are being remediated at once (the fleet's in-flight rail). A shared "
                "cause is likely (a dependency, a region, a bad release): look across the fleet."
            )
        case EscalationCode.FLEET_RATE:
            return (
                "The fleet reached its cap of automatic actions per hour. Something is wrong across many "
                "functions: investigate before raising the rail."
            )
        case EscalationCode.CONTENTION:
            return (
                "Other alarm transitions kept claiming actions on the function while the healer tried to, so "
                "it took no action. Look at the recent incidents (selfheal status) and remediate by hand "
                "if the function still fails."
            )
        case EscalationCode.PERMANENT_ERROR:
            return (
                "The remediation call was refused. Check the healer's IAM permissions on the function and "
                "the function's state, then remediate by hand."
            )
        case EscalationCode.RETRIES_EXHAUSTED:
            return (
                "The function stayed busy or throttled. Remediate by hand once its update finishes, and "
                "check for competing deployments."
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
                "The playbook ran but the alarm is still not OK. The failure has another cause: read the "
                "function's logs and metrics; selfheal restore undoes what the healer changed."
            )
        case EscalationCode.AWAITING_APPROVAL:
            return (
                "The function is protected in approve mode: the healer planned the step above and waits. "
                "Run the command above to let it act, or remediate by hand."
            )
        case EscalationCode.REGISTRY_INVALID:
            return (
                "The alarm's registry parameter does not parse (see above), so the healer did nothing. "
                "Fix the protect module's inputs and apply it again."
            )
        case EscalationCode.REGISTRY_UNAVAILABLE:
            return (
                "The healer could not read its registry (SSM), so it took no action (fail closed). Check "
                "the healer's ssm:GetParameter permission and SSM's health."
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
