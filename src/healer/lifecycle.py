"""The incident lifecycle as one explicit state machine: its states, allowed transitions and their triggers.

``healer.policy`` decides which transition a notification or command calls for; ``healer.ledger`` and
``healer.claims`` persist it with a write conditional on the state being left, after ``require`` has
checked the transition is in this table. A claim taken over after its lease expired keeps ``ACTING``
(only the holder changes), so it is not a transition.
"""

from __future__ import annotations

from healer.decisions import OPEN_STATUSES, IncidentStatus

__all__ = ["TRANSITIONS", "IllegalTransition", "allowed", "is_open", "require", "terminal"]

_S = IncidentStatus

TRANSITIONS: dict[tuple[IncidentStatus, IncidentStatus], str] = {
    (_S.NEW, _S.OBSERVED): "ALARM while observed (mode, kill switch or DRY_RUN): the plan is recorded",
    (_S.NEW, _S.AWAITING_APPROVAL): "ALARM in approve mode: the plan is recorded and people are asked",
    (_S.NEW, _S.ACTING): "ALARM in auto mode within the rails: the first applicable step is claimed",
    (_S.NEW, _S.ESCALATED): "ALARM the healer cannot or may not act on (rails, nothing to change, refused)",
    (_S.AWAITING_APPROVAL, _S.ACTING): "selfheal approve within the rails: the step is claimed",
    (_S.AWAITING_APPROVAL, _S.ESCALATED): "selfheal approve refused by the rails or with nothing to change",
    (_S.AWAITING_APPROVAL, _S.RECOVERED): "OK before anyone approved",
    (_S.ACTING, _S.ACTED): "the step's change is in place",
    (_S.ACTING, _S.FAILED): "the step's change could not be made",
    (_S.ACTING, _S.ESCALATED): "the run that took over an expired claim decided not to act",
    (_S.ACTING, _S.RECOVERED): "OK while the step was being applied",
    (_S.ACTED, _S.ACTING): "not OK by the verify deadline and the playbook has a next step within the rails",
    (_S.ACTED, _S.RECOVERED): "OK, seen by the verify poll or the alarm's OK notification",
    (_S.ACTED, _S.UNVERIFIED): "not OK by the verify deadline; the playbook is exhausted or the rails refuse",
    (_S.UNVERIFIED, _S.RECOVERED): "OK after the verify deadline",
}
"""Every allowed (from, to) status change and what triggers it."""


class IllegalTransition(ValueError):
    """A status change the lifecycle does not allow (a bug in the caller, never bad input)."""


def allowed(current: IncidentStatus, target: IncidentStatus) -> bool:
    """True when ``current`` → ``target`` is a transition of the lifecycle."""
    return (current, target) in TRANSITIONS


def require(current: IncidentStatus, target: IncidentStatus) -> None:
    """Raise ``IllegalTransition`` unless ``current`` → ``target`` is allowed."""
    if not allowed(current, target):
        raise IllegalTransition(f"an incident cannot go from {current} to {target}")


def is_open(status: IncidentStatus) -> bool:
    """True while an incident waits for the alarm's OK."""
    return status in OPEN_STATUSES


def terminal(status: IncidentStatus) -> bool:
    """True when no transition leaves ``status``."""
    return not any(source == status for source, _ in TRANSITIONS)
