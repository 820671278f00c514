"""The healer's policy: pure functions from what it knows to what it should do, and why.

Nothing here reads or writes; the ledger makes the inputs consistent and records the output. Every
``Decision`` the healer logs or records comes from here (codes in ``healer.decisions``).

``decide`` rules, in order: foreign alarms are skipped (``screen``); ``OK`` closes the alarm's open
incident; ``INSUFFICIENT_DATA`` is skipped; for ``ALARM``: a transition whose action was claimed
(``ACTING``) but has no recorded outcome is skipped while the claim's lease is live, and taken over once it
has expired (see "Taking over" below); any other transition already decided is a duplicate; a new
``ALARM`` within the cooldown of the last action, or beyond the cap of actions per window, is escalated
(the last remediation did not hold); a target whose ``FAILURE_RATE`` is already 0 (or absent) is
escalated (this remediation cannot fix it); in dry-run mode the healer only records what it would
have done; otherwise it acts.

Taking over: the invocation that held the claim was killed before it recorded an outcome (Lambda then
retries the message). The claim already passed the cooldown and the cap and is counted in them, so they are
not applied again. If the target carries this incident's own marker (``HEALED_INCIDENT``) with
``FAILURE_RATE`` 0, the killed run's update landed: the healer records it without updating again
(``record_landed_action``); otherwise the usual rules about the target apply (unreadable or already 0 →
escalate; dry run) and it acts (``take_over``). ``lease_expiry`` says when a claim lapses.

What happens later in a run is decided here too: a race lost to another invocation (``decided_elsewhere``,
``taken_over_elsewhere``), a claim that could not be made (``contention``), an action that failed
(``after_failed_action``), a recovery not seen in time (``verify_timed_out``), the ledger or the healer
failing (``ledger_unavailable``, ``internal_error``); ``recorded_status`` is the incident status a
decision leaves in the ledger.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import assert_never

from healer.config import HealerConfig
from healer.decisions import (
    ActionCode,
    CloseCode,
    Decision,
    DryRunCode,
    EscalationCode,
    IncidentStatus,
    OutcomeStatus,
    SkipCode,
)
from healer.notification import AlarmNotification

__all__ = [
    "LAMBDA_NAMESPACE",
    "FunctionState",
    "LedgerState",
    "actions_in_window",
    "after_failed_action",
    "contention",
    "decide",
    "decided_elsewhere",
    "internal_error",
    "lease_expiry",
    "ledger_unavailable",
    "parse_failure_rate",
    "recorded_status",
    "screen",
    "taken_over_elsewhere",
    "verify_timed_out",
]

LAMBDA_NAMESPACE = "AWS/Lambda"


@dataclass(frozen=True)
class FunctionState:
    """The target function's configuration as read just before deciding."""

    revision_id: str | None
    variables: Mapping[str, str] = field(default_factory=dict)
    last_update_status: str | None = None

    @property
    def failure_rate(self) -> str | None:
        """The raw ``FAILURE_RATE`` variable, or None when absent."""
        return self.variables.get("FAILURE_RATE")

    def remediated_for(self, incident_id: str) -> bool:
        """True when this incident's remediation is in place: its marker, and ``FAILURE_RATE`` 0."""
        return (
            self.variables.get("HEALED_INCIDENT") == incident_id
            and parse_failure_rate(self.failure_rate) == 0.0
        )


@dataclass(frozen=True)
class LedgerState:
    """What the ledger knew when the decision was made."""

    incident_status: IncidentStatus | None = None
    """Status of the incident for this very transition; None or NEW while undecided."""
    open_incident_id: str | None = None
    """The alarm's latest incident that is still waiting for ``OK``, if any."""
    last_action_at: float | None = None
    action_times: tuple[float, ...] = ()
    incident_id: str | None = None
    """Id of the incident for this transition (to recognise its marker on the target)."""
    claimed_by: str | None = None
    """Who holds the incident's action claim (status ``ACTING``)."""
    lease_expires_at: float | None = None
    """When that claim lapses (epoch seconds); None when unknown, which never counts as expired."""
    action_recorded: bool = False
    """True once the outcome of the claimed action is in the ledger."""

    @property
    def claim_without_outcome(self) -> bool:
        """True when an action was claimed and no outcome recorded (its holder may have been killed)."""
        return self.incident_status == IncidentStatus.ACTING and not self.action_recorded


def parse_failure_rate(raw: str | None) -> float | None:
    """Return ``FAILURE_RATE`` as a number (absent counts as 0), or None when it is not a number."""
    if raw is None or not raw.strip():
        return 0.0
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def actions_in_window(times: Iterable[float], now: float, window_seconds: float) -> list[float]:
    """Return the action times inside the window ``(now - window_seconds, now]``."""
    return sorted(t for t in times if now - window_seconds < t <= now)


def lease_expiry(
    status: IncidentStatus, lease_expires_at: float | None, decided_at: float | None, lease_seconds: float
) -> float | None:
    """When an incident's action claim lapses; a claim made before leases lapses one lease after it."""
    if lease_expires_at is not None or status != IncidentStatus.ACTING:
        return lease_expires_at
    if decided_at is None:
        return None
    return decided_at + lease_seconds


def _unreadable(target: str, read_error: str | None) -> Decision:
    reason = f"could not read the configuration of {target!r}"
    return Decision(EscalationCode.TARGET_UNREADABLE, f"{reason}: {read_error}" if read_error else reason)


def _reset(function: FunctionState, config: HealerConfig, code: ActionCode, context: str) -> Decision:
    """The rules about the target itself: escalate if FAILURE_RATE is already 0, else (dry-)act."""
    rate = parse_failure_rate(function.failure_rate)
    if rate == 0.0:
        return Decision(
            EscalationCode.FAILURE_RATE_ZERO,
            f"{config.target_function_name} is failing but FAILURE_RATE is already "
            f"{function.failure_rate or 'absent'}; resetting it cannot help",
        )
    shown = function.failure_rate if rate is not None else f"{function.failure_rate!r} (not a number)"
    if config.dry_run:
        return Decision(DryRunCode.DRY_RUN, f"dry run: would set FAILURE_RATE from {shown} to 0")
    return Decision(code, f"{context}FAILURE_RATE is {shown}; set it to 0")


def _decide_take_over(
    ledger: LedgerState, function: FunctionState | None, config: HealerConfig, read_error: str | None
) -> Decision:
    holder = ledger.claimed_by or "an earlier invocation"
    if function is None:
        return _unreadable(config.target_function_name, read_error)
    if ledger.incident_id is not None and function.remediated_for(ledger.incident_id):
        return Decision(
            ActionCode.RECORD_LANDED_ACTION,
            f"the claim of {holder} expired without an outcome, but its update is in place "
            f"(FAILURE_RATE 0, HEALED_INCIDENT {ledger.incident_id}); recording it without updating again",
        )
    return _reset(
        function, config, ActionCode.TAKE_OVER, f"the claim of {holder} expired without an outcome; "
    )


def screen(notification: AlarmNotification, config: HealerConfig) -> Decision | None:
    """The skip for an alarm that does not watch the target's AWS/Lambda metrics; None if it does."""
    trigger = notification.trigger
    target = config.target_function_name
    if trigger.kind == "composite":
        # Until a registry routes alarms by name, an alarm on other alarms names no function to act on.
        return Decision(SkipCode.FOREIGN_NAMESPACE, trigger.no_target_reason() or "composite alarm")
    if trigger.namespace != LAMBDA_NAMESPACE:
        return Decision(
            SkipCode.FOREIGN_NAMESPACE, f"alarm watches namespace {trigger.namespace!r}, not AWS/Lambda"
        )
    watched = trigger.dimension("FunctionName")
    if watched is None:
        return Decision(SkipCode.FOREIGN_FUNCTION, trigger.no_target_reason() or "alarm names no function")
    if watched != target:
        return Decision(
            SkipCode.FOREIGN_FUNCTION, f"alarm watches function {watched!r}, not the target {target!r}"
        )
    return None


def decide(
    notification: AlarmNotification,
    ledger: LedgerState,
    function: FunctionState | None,
    now: float,
    config: HealerConfig,
    *,
    read_error: str | None = None,
) -> Decision:
    """Decide what to do about ``notification``.

    ``function`` None means its configuration is unreadable, for the reason ``read_error`` when known.
    """
    foreign = screen(notification, config)
    if foreign is not None:
        return foreign
    if notification.new_state == "OK":
        if ledger.open_incident_id is None:
            return Decision(SkipCode.NO_OPEN_INCIDENT, "alarm is OK and no incident is waiting for it")
        return Decision(
            CloseCode.RECOVERED, f"alarm is OK again: incident {ledger.open_incident_id} recovered"
        )
    if notification.new_state == "INSUFFICIENT_DATA":
        return Decision(SkipCode.NOT_ALARM, "alarm has insufficient data; the healer acts only on ALARM")
    if ledger.claim_without_outcome and ledger.lease_expires_at is not None:
        if now < ledger.lease_expires_at:
            return Decision(
                SkipCode.CLAIM_HELD,
                f"{ledger.claimed_by or 'another invocation'} holds the action claim for another "
                f"{ledger.lease_expires_at - now:.0f}s",
            )
        return _decide_take_over(ledger, function, config, read_error)
    if ledger.incident_status not in (None, IncidentStatus.NEW):
        return Decision(
            SkipCode.DUPLICATE, f"this transition was already handled (incident is {ledger.incident_status})"
        )
    if function is None:
        return _unreadable(config.target_function_name, read_error)
    if ledger.last_action_at is not None and now - ledger.last_action_at < config.cooldown_seconds:
        since = now - ledger.last_action_at
        return Decision(
            EscalationCode.COOLDOWN,
            f"last action was {since:.0f}s ago, inside the {config.cooldown_seconds:g}s cooldown; "
            "the remediation did not hold",
        )
    recent = actions_in_window(ledger.action_times, now, config.action_window_seconds)
    if len(recent) >= config.max_actions_per_window:
        return Decision(
            EscalationCode.ACTION_CAP,
            f"{len(recent)} actions in the last {config.action_window_seconds:g}s reach the cap of "
            f"{config.max_actions_per_window}",
        )
    return _reset(function, config, ActionCode.RESET_FAILURE_RATE, "")


def decided_elsewhere() -> Decision:
    """Another invocation recorded its decision about this transition first."""
    return Decision(SkipCode.DUPLICATE, "another invocation decided this transition")


def taken_over_elsewhere() -> Decision:
    """Another invocation took the expired claim over, or its holder finished, first."""
    return Decision(SkipCode.DUPLICATE, "another invocation took over or finished the claim")


def contention() -> Decision:
    """The target's control item changed under every attempt to claim an action."""
    return Decision(EscalationCode.CONTENTION, "the target's action record kept changing; not acting")


def after_failed_action(status: OutcomeStatus, detail: str) -> Decision:
    """What follows an action that did not apply: a lost claim is left alone, anything else is escalated.

    ``revision_changed`` is final only once re-deciding on the changed function stopped helping.
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


def verify_timed_out(detail: str, config: HealerConfig) -> Decision:
    """The alarm was not OK again within the verify timeout after the action."""
    return Decision(
        EscalationCode.VERIFY_TIMEOUT,
        f"alarm not OK within {config.verify_timeout_seconds:g}s of the action: {detail}",
    )


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
    """The status an incident takes when ``decision`` is recorded: a failed action leaves it ``FAILED``."""
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
        case EscalationCode():
            return IncidentStatus.ESCALATED
        case DryRunCode():
            return IncidentStatus.DRY_RUN
        case ActionCode():
            return IncidentStatus.ACTING
        case CloseCode():
            return IncidentStatus.RECOVERED
        case SkipCode():
            raise ValueError(f"a skip ({decision.code}) leaves the incident as it is")
        case unreachable:
            assert_never(unreachable)
