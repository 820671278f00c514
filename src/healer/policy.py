"""The healer's policy: pure functions from what it knows to what it should do, and why.

Nothing here reads or writes; the ledger makes the inputs consistent and records the output, and
``healer.lifecycle`` holds the transitions a decision may cause. Every ``Decision`` the healer logs or
records comes from here or from ``healer.setbacks`` (codes in ``healer.decisions``).

A notification is routed by its alarm's name through the registry (``healer.registry``); an alarm that is
not registered is skipped. ``decide`` then: ``OK`` closes the alarm's open incident; ``INSUFFICIENT_DATA``
is skipped; for ``ALARM``: a transition whose step was claimed (``ACTING``) but has no recorded outcome is
skipped while the claim's lease is live and taken over once it has expired (unless the function is
observed now: then it is escalated); any other transition already decided is a duplicate; the
per-function rails (cooldown, cap) escalate; a playbook with no runnable step (the function unreadable,
every step refused or with nothing to change) is escalated; an observed function (its mode, the kill
switch, or ``DRY_RUN``) only records the plan; in approve mode the plan waits for ``selfheal approve``;
the fleet rails escalate; otherwise the healer runs the step.

``decide_approval`` judges ``selfheal approve`` on an incident awaiting it, ``decide_next_step`` whether a
playbook goes on after its step was not verified in time. Each of the three reads one ``Situation``: the
ledger's state, the protection, the playbook's plan, the time, the configuration and the kill switch.
``effective_mode`` folds the kill switch and ``DRY_RUN`` into the registered mode.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from healer.config import HealerConfig
from healer.decisions import (
    ActionCode,
    CloseCode,
    Decision,
    EscalationCode,
    IncidentStatus,
    ObserveCode,
    SkipCode,
)
from healer.notification import AlarmNotification
from healer.rails import FleetLimits, RailState, fleet_check, function_check
from healer.registry import KillSwitch, Mode, Protection

__all__ = [
    "LedgerState",
    "PlaybookPlan",
    "Situation",
    "StepPlan",
    "decide",
    "decide_approval",
    "decide_next_step",
    "decide_state_change",
    "effective_mode",
    "fleet_limits",
    "lease_expiry",
    "unregistered",
]


@dataclass(frozen=True)
class StepPlan:
    """What one step of the playbook would change, as the catalogue planned it just before deciding."""

    index: int
    action: str
    summary: str
    has_changes: bool
    landed: bool = False
    """This incident's own change is already in place (an interrupted run's update landed)."""
    refusal: str | None = None

    @property
    def runnable(self) -> bool:
        """True when the step can run: not refused, and something to change (or already landed)."""
        return self.refusal is None and (self.has_changes or self.landed)

    def why_not(self) -> str:
        """Why the step cannot run."""
        return self.refusal or self.summary


@dataclass(frozen=True)
class PlaybookPlan:
    """The first runnable step from the incident's next one on, and the steps passed over to reach it."""

    step: StepPlan | None
    passed_over: tuple[StepPlan, ...] = ()
    unreadable: str | None = None
    """Why the function could not be read (then there is no step)."""

    def no_step(self, function: str) -> Decision:
        """The escalation when no step can run."""
        if self.unreadable is not None:
            return Decision(
                EscalationCode.TARGET_UNREADABLE, f"could not read {function!r}: {self.unreadable}"
            )
        reasons = "; ".join(plan.why_not() for plan in self.passed_over) or "the playbook has no step left"
        refused = any(plan.refusal is not None for plan in self.passed_over)
        code = EscalationCode.ACTION_REFUSED if refused else EscalationCode.NOTHING_TO_CHANGE
        return Decision(code, f"no step of the playbook can help {function}: {reasons}")


@dataclass(frozen=True)
class LedgerState:
    """What the ledger knew when the decision was made."""

    incident_status: IncidentStatus | None = None
    """Status of the incident for this very transition; None or NEW while undecided."""
    open_incident_id: str | None = None
    """The alarm's latest incident that is still waiting for ``OK``, if any."""
    incident_id: str | None = None
    claimed_by: str | None = None
    """Who holds the incident's action claim (status ``ACTING``)."""
    lease_expires_at: float | None = None
    """When that claim lapses (epoch seconds); None when unknown, which never counts as expired."""
    rails: RailState = field(default_factory=RailState)

    @property
    def claim_without_outcome(self) -> bool:
        """True when a step was claimed and its outcome not recorded (its holder may have been killed)."""
        return self.incident_status == IncidentStatus.ACTING


def lease_expiry(
    status: IncidentStatus, lease_expires_at: float | None, decided_at: float | None, lease_seconds: float
) -> float | None:
    """When an incident's action claim lapses; a claim made before leases lapses one lease after it."""
    if lease_expires_at is not None or status != IncidentStatus.ACTING:
        return lease_expires_at
    if decided_at is None:
        return None
    return decided_at + lease_seconds


def fleet_limits(config: HealerConfig) -> FleetLimits:
    """The fleet rails of ``config``."""
    return FleetLimits(config.fleet_max_in_flight, config.fleet_max_actions_per_hour)


def effective_mode(registered: Mode, kill_switch: KillSwitch, dry_run: bool) -> tuple[Mode, str]:
    """The mode a decision runs in and why: the kill switch and ``DRY_RUN`` turn every function to observe."""
    if kill_switch.engaged:
        return "observe", kill_switch.reason
    if dry_run:
        return "observe", "DRY_RUN is set: observing only"
    return registered, f"mode {registered}"


@dataclass(frozen=True)
class Situation:
    """What a decision about one protected function reads, as ``Steps.attempt`` gathered it."""

    ledger: LedgerState
    protection: Protection
    planned: PlaybookPlan
    now: float
    config: HealerConfig
    kill_switch: KillSwitch

    @property
    def function(self) -> str:
        """The protected function's name."""
        return self.protection.function_name

    def mode(self) -> tuple[Mode, str]:
        """The mode the decision runs in, and why (see ``effective_mode``)."""
        return effective_mode(self.protection.mode, self.kill_switch, self.config.dry_run)

    def function_stop(self, *, cooldown: bool = True) -> Decision | None:
        """The escalation of the per-function rails (cooldown, cap), or None when they allow a step."""
        return function_check(self.ledger.rails, self.protection.rails, self.now, cooldown=cooldown)

    def fleet_stop(self) -> Decision | None:
        """The escalation of the fleet rails, or None when they allow a step."""
        return fleet_check(self.ledger.rails, fleet_limits(self.config), self.now)


def unregistered(notification: AlarmNotification) -> Decision:
    """The skip for an alarm the registry does not know."""
    return Decision(
        SkipCode.UNREGISTERED_ALARM,
        f"alarm {notification.alarm_name!r} is not in the registry; no protected function to act on",
    )


def _step_text(plan: StepPlan) -> str:
    return f"step {plan.index + 1}: {plan.summary}"


def _decide_take_over(situation: Situation) -> Decision:
    ledger, step = situation.ledger, situation.planned.step
    holder = ledger.claimed_by or "an earlier invocation"
    if step is not None and step.landed:
        return Decision(
            ActionCode.RECORD_LANDED_ACTION,
            f"the claim of {holder} expired without an outcome, but its change is in place "
            f"({_step_text(step)}); recording it without changing again",
        )
    if step is None:
        return situation.planned.no_step(situation.function)
    return Decision(
        ActionCode.TAKE_OVER, f"the claim of {holder} expired without an outcome; {_step_text(step)}"
    )


def decide(notification: AlarmNotification, situation: Situation) -> Decision:
    """Decide what to do about an ``ALARM`` of a registered alarm, given the playbook's plan."""
    if notification.new_state != "ALARM":
        return decide_state_change(notification, None)
    ledger, planned, now = situation.ledger, situation.planned, situation.now
    function = situation.function
    if ledger.claim_without_outcome and ledger.lease_expires_at is not None:
        if now < ledger.lease_expires_at:
            return Decision(
                SkipCode.CLAIM_HELD,
                f"{ledger.claimed_by or 'another invocation'} holds the action claim for another "
                f"{ledger.lease_expires_at - now:.0f}s",
            )
        taken = _decide_take_over(situation)
        mode, why = situation.mode()
        if taken.code == ActionCode.TAKE_OVER and mode == "observe":
            return Decision(
                EscalationCode.ACTION_REFUSED, f"{why}: not finishing the expired claim ({taken.reason})"
            )
        return taken
    if ledger.incident_status not in (None, IncidentStatus.NEW):
        return Decision(
            SkipCode.DUPLICATE, f"this transition was already handled (incident is {ledger.incident_status})"
        )
    # The rails before the plan: a concurrent run claims (and counts) before it changes the function, so a
    # plan that already sees its change has a control read that sees its claim: cooldown, not "no step".
    stop = situation.function_stop()
    if stop is not None:
        return stop
    if planned.step is None:
        return planned.no_step(function)
    mode, why = situation.mode()
    if mode == "observe":
        return Decision(ObserveCode.OBSERVE, f"{why}: would run {_step_text(planned.step)} on {function}")
    if mode == "approve":
        return Decision(
            EscalationCode.AWAITING_APPROVAL,
            f"{function} is in approve mode: the healer would run {_step_text(planned.step)}; "
            f"approve with: selfheal approve {ledger.incident_id}",
        )
    stop = situation.fleet_stop()
    if stop is not None:
        return stop
    return Decision(ActionCode.RUN_STEP, f"{_step_text(planned.step)} on {function}")


def decide_state_change(notification: AlarmNotification, open_incident_id: str | None) -> Decision:
    """``OK`` closes the open incident; ``INSUFFICIENT_DATA``, or ``OK`` with none open, is skipped."""
    if notification.new_state == "OK":
        if open_incident_id is None:
            return Decision(SkipCode.NO_OPEN_INCIDENT, "alarm is OK and no incident is waiting for it")
        return Decision(CloseCode.RECOVERED, f"alarm is OK again: incident {open_incident_id} recovered")
    return Decision(SkipCode.NOT_ALARM, f"alarm is {notification.new_state}; the healer acts only on ALARM")


def decide_approval(situation: Situation, operator: str) -> Decision:
    """Judge ``selfheal approve`` of an incident awaiting approval (the caller checked its status)."""
    planned, function = situation.planned, situation.function
    mode, why = situation.mode()
    if mode == "observe":
        return Decision(SkipCode.KILL_SWITCH, f"{why}; the approval waits until the function may act")
    if planned.step is None:
        return planned.no_step(function)
    stop = situation.function_stop() or situation.fleet_stop()
    if stop is not None:
        return stop
    return Decision(ActionCode.APPROVED, f"approved by {operator}: {_step_text(planned.step)} on {function}")


def decide_next_step(situation: Situation, not_ok: str) -> Decision:
    """After a step was not verified in time (``not_ok`` says how): the next step, or an escalation.

    The cooldown does not apply between steps of one incident; the cap and the fleet rails do.
    """
    planned, function = situation.planned, situation.function
    mode, why = situation.mode()
    if planned.step is None:
        if planned.unreadable is not None:
            return planned.no_step(function)
        passed = "; ".join(plan.why_not() for plan in planned.passed_over)
        verify_timeout = situation.protection.rails.verify_timeout_seconds
        return Decision(
            EscalationCode.VERIFY_TIMEOUT,
            f"alarm not OK within {verify_timeout:g}s of the last step ({not_ok}); "
            "the playbook is exhausted" + (f" ({passed})" if passed else ""),
        )
    if mode == "observe":
        return Decision(
            EscalationCode.VERIFY_TIMEOUT, f"alarm not OK ({not_ok}); {why}: not running the next step"
        )
    stop = situation.function_stop(cooldown=False) or situation.fleet_stop()
    if stop is not None:
        return Decision(stop.code, f"alarm not OK ({not_ok}); the next step is held back: {stop.reason}")
    return Decision(
        ActionCode.NEXT_STEP, f"alarm not OK ({not_ok}); {_step_text(planned.step)} on {function}"
    )
