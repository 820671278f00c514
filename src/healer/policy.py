"""The healer's policy: a pure function from what it knows to what it should do, and why.

``decide`` reads nothing and writes nothing; the ledger makes its inputs consistent and records its
output. Rules, in order: foreign alarms are skipped; ``OK`` closes the alarm's open incident;
``INSUFFICIENT_DATA`` is skipped; for ``ALARM``: a transition whose action was claimed (``ACTING``) but
has no recorded outcome is skipped while the claim's lease is live, and taken over once it has expired
(see "Taking over" below); any other transition already decided is a duplicate; a new
``ALARM`` within the cooldown of the last action, or beyond the cap of actions per window, is escalated
(the last remediation did not hold); a target whose ``FAILURE_RATE`` is already 0 (or absent) is
escalated (this remediation cannot fix it); in dry-run mode the healer only records what it would
have done; otherwise it acts.

Taking over: the invocation that held the claim was killed before it recorded an outcome (Lambda then
retries the message). The claim already passed the cooldown and the cap and is counted in them, so they are
not applied again. If the target carries this incident's own marker (``HEALED_INCIDENT``) with
``FAILURE_RATE`` 0, the killed run's update landed: the healer records it without updating again
(``record_landed_action``); otherwise the usual rules about the target apply (unreadable or already 0 →
escalate; dry run) and it acts (``take_over``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from healer.config import HealerConfig
from healer.notification import AlarmNotification

__all__ = [
    "LAMBDA_NAMESPACE",
    "Decision",
    "DecisionKind",
    "FunctionState",
    "LedgerState",
    "actions_in_window",
    "decide",
    "parse_failure_rate",
]

LAMBDA_NAMESPACE = "AWS/Lambda"
DecisionKind = Literal["act", "skip", "escalate", "close", "dry_run"]


@dataclass(frozen=True)
class Decision:
    """What to do about one notification: ``kind``, a short machine ``code`` and a human ``reason``."""

    kind: DecisionKind
    code: str
    reason: str


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

    incident_status: str | None = None
    """Status of the incident for this very transition; None or "NEW" while undecided."""
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
        return self.incident_status == "ACTING" and not self.action_recorded


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


def _skip(code: str, reason: str) -> Decision:
    return Decision("skip", code, reason)


def _escalate(code: str, reason: str) -> Decision:
    return Decision("escalate", code, reason)


def _reset(function: FunctionState, config: HealerConfig, code: str, context: str) -> Decision:
    """The rules about the target itself: escalate if FAILURE_RATE is already 0, else (dry-)act."""
    rate = parse_failure_rate(function.failure_rate)
    if rate == 0.0:
        return _escalate(
            "failure_rate_zero",
            f"{config.target_function_name} is failing but FAILURE_RATE is already "
            f"{function.failure_rate or 'absent'}; resetting it cannot help",
        )
    shown = function.failure_rate if rate is not None else f"{function.failure_rate!r} (not a number)"
    if config.dry_run:
        return Decision("dry_run", "dry_run", f"dry run: would set FAILURE_RATE from {shown} to 0")
    return Decision("act", code, f"{context}FAILURE_RATE is {shown}; set it to 0")


def _decide_take_over(ledger: LedgerState, function: FunctionState | None, config: HealerConfig) -> Decision:
    target = config.target_function_name
    holder = ledger.claimed_by or "an earlier invocation"
    if function is None:
        return _escalate("target_unreadable", f"could not read the configuration of {target!r}")
    if ledger.incident_id is not None and function.remediated_for(ledger.incident_id):
        return Decision(
            "act",
            "record_landed_action",
            f"the claim of {holder} expired without an outcome, but its update is in place "
            f"(FAILURE_RATE 0, HEALED_INCIDENT {ledger.incident_id}); recording it without updating again",
        )
    return _reset(function, config, "take_over", f"the claim of {holder} expired without an outcome; ")


def decide(
    notification: AlarmNotification,
    ledger: LedgerState,
    function: FunctionState | None,
    now: float,
    config: HealerConfig,
) -> Decision:
    """Decide what to do about ``notification``; ``function`` None means its configuration is unreadable."""
    trigger = notification.trigger
    target = config.target_function_name
    if trigger.namespace != LAMBDA_NAMESPACE:
        return _skip("foreign_namespace", f"alarm watches namespace {trigger.namespace!r}, not AWS/Lambda")
    watched = trigger.dimension("FunctionName")
    if watched != target:
        return _skip("foreign_function", f"alarm watches function {watched!r}, not the target {target!r}")
    if notification.new_state == "OK":
        if ledger.open_incident_id is None:
            return _skip("no_open_incident", "alarm is OK and no incident is waiting for it")
        return Decision(
            "close", "recovered", f"alarm is OK again: incident {ledger.open_incident_id} recovered"
        )
    if notification.new_state == "INSUFFICIENT_DATA":
        return _skip("not_alarm", "alarm has insufficient data; the healer acts only on ALARM")
    if ledger.claim_without_outcome and ledger.lease_expires_at is not None:
        if now < ledger.lease_expires_at:
            return _skip(
                "claim_held",
                f"{ledger.claimed_by or 'another invocation'} holds the action claim for another "
                f"{ledger.lease_expires_at - now:.0f}s",
            )
        return _decide_take_over(ledger, function, config)
    if ledger.incident_status not in (None, "NEW"):
        return _skip(
            "duplicate", f"this transition was already handled (incident is {ledger.incident_status})"
        )
    if function is None:
        return _escalate("target_unreadable", f"could not read the configuration of {target!r}")
    if ledger.last_action_at is not None and now - ledger.last_action_at < config.cooldown_seconds:
        since = now - ledger.last_action_at
        return _escalate(
            "cooldown",
            f"last action was {since:.0f}s ago, inside the {config.cooldown_seconds:g}s cooldown; "
            "the remediation did not hold",
        )
    recent = actions_in_window(ledger.action_times, now, config.action_window_seconds)
    if len(recent) >= config.max_actions_per_window:
        return _escalate(
            "action_cap",
            f"{len(recent)} actions in the last {config.action_window_seconds:g}s reach the cap of "
            f"{config.max_actions_per_window}",
        )
    return _reset(function, config, "reset_failure_rate", "")
