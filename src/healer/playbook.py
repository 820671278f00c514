"""Running a playbook under a held claim: plan the steps, apply one, verify, and go on or stop.

``Steps`` is shared by the notification handler (``healer.healing``) and the operator commands
(``healer.commands``). It plans the playbook with the action catalogue (``plan_from``), claims a step in
one transaction over the incident, the function's control item and the fleet item (``claim``), applies
it under the claim's lease and records its changes (``apply_step``), waits for the alarm's ``OK``, and
when the verify deadline passes takes the next step the policy allows (``run``) — or records the incident
``UNVERIFIED`` and escalates. Every decision comes from ``healer.policy`` / ``healer.setbacks``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from healer import policy, setbacks
from healer.actions import ACTIONS, Backoff, Change, Plan, Target, TargetUnreadable
from healer.claims import ClaimResult, Claims, Control, Fleet
from healer.clients import Clients, RoleUnavailable
from healer.clock import Clock, iso_utc
from healer.config import HealerConfig
from healer.decisions import Decision, EscalationCode, IncidentStatus
from healer.escalation import Escalation, publish_escalation
from healer.incident import StepRecord
from healer.ledger import Incident, Ledger
from healer.log import SERVICE_NAME, logger
from healer.policy import LedgerState, PlaybookPlan, Situation, StepPlan
from healer.rails import FLEET_WINDOW_SECONDS, RailState, actions_in_window
from healer.registry import Protection, Registry
from healer.verification import emit_time_to_recover, wait_for_ok

__all__ = ["Attempt", "Judge", "Run", "RunLimits", "Steps", "Summary"]

Summary = dict[str, Any]
Remaining = Callable[[], float] | None


@dataclass(frozen=True)
class RunLimits:
    """Bounds of one run's loops.

    ``lease_seconds`` (cloud seconds) is how long an action claim lasts without renewal. The holder renews
    it before every write attempt, so it must cover one attempt and the settling wait after it (backoff
    sleeps ≤ 15 s + settle ≤ 30 s = 45 s bounds a whole step; one boto3 call gives up after 3 tries of
    ≤ 13 s). It must also stay below Lambda's delay before the first async retry (about 60 s after the
    failed invocation ended; the local cloud waits 60 cloud seconds): that retry then finds the lease of a
    killed run expired and takes over.
    """

    max_redecisions: int = 3
    backoff: Backoff = field(default_factory=Backoff)
    settle_timeout: float = 30.0
    verify_poll: float = 10.0
    margin_real_seconds: float = 5.0
    lease_seconds: float = 50.0


Judge = Callable[[Situation], Decision]
"""A policy decision over what ``Steps.attempt`` read (``healer.policy.Situation``)."""


@dataclass(frozen=True)
class Attempt:
    """What ``Steps.attempt`` came to: the decision, the plan, and whether the step is claimed for the run
    (``claimed``) or another invocation decided first (``lost``)."""

    decision: Decision
    planned: PlaybookPlan
    plan: Plan | None
    claimed: bool = False
    lost: bool = False


class Run:
    """The summary of one notification or command, filled in as the run goes; logged once at the end."""

    def __init__(self, clock: Clock, request_id: str | None, summary: Summary) -> None:
        self.clock = clock
        self.started = clock.now()
        self.owner = f"{request_id or 'run'}/{uuid.uuid4().hex[:12]}"
        """Who this run is when it holds an action claim: unique even when Lambda retries keep the id."""
        self.summary: Summary = {
            **summary,
            "incident_id": None,
            "decision": None,
            "code": None,
            "reason": None,
            "action_taken": "none",
            "escalated": False,
        }
        self.seen = ""
        """What was seen, for an escalation's message."""

    def decided(self, decision: Decision) -> None:
        """Note the latest decision of the run."""
        self.summary.update(decision=decision.kind, code=decision.code, reason=decision.reason)

    def finish(self) -> Summary:
        """Log the run's one line and return its summary."""
        self.summary["duration_seconds"] = round(self.clock.now() - self.started, 3)
        logger.info("healer decision", extra={"healer": self.summary})
        return self.summary


def _short(change: Change) -> str:
    """``NAME=after (was before)`` for people: the ledger's ``action`` and the decision's reason."""
    name = change.field.removeprefix("Environment.Variables.")
    if change.resource.startswith("event-source-mapping:"):
        name = f"{change.resource} {name}"
    after = "unset" if change.after is None else change.after
    before = "unset" if change.before is None else change.before
    return f"{name}={after} (was {before})"


def describe_changes(action: str, changes: tuple[Change, ...]) -> str:
    """One line naming the action and what it changes."""
    return f"{action} " + (", ".join(_short(change) for change in changes) or "(no change)")


def _describe(plan: Plan) -> str:
    if plan.refusal is not None:
        return plan.refusal
    if not plan.changes and not plan.landed and plan.target.set_env and plan.action == "set_env":
        return "set_env finds " + ", ".join(f"{k} already {v!r}" for k, v in plan.target.set_env.items())
    return describe_changes(plan.action, plan.changes)


def target_of(protection: Protection, healer_name: str) -> Target:
    """The catalogue's view of a protected function."""
    return Target(
        function_name=protection.function_name,
        alias_name=protection.alias_name,
        set_env=protection.set_env,
        concurrency_limit=protection.concurrency_limit,
        allow_zero_concurrency=protection.allow_zero_concurrency,
        event_source_mapping_uuids=protection.event_source_mapping_uuids,
        healer_name=healer_name,
    )


class Steps:
    """Plans, claims, applies and verifies the steps of one protected function's playbook."""

    def __init__(
        self, config: HealerConfig, clients: Clients, clock: Clock, limits: RunLimits, registry: Registry
    ) -> None:
        self.config = config
        self.clients = clients
        self.clock = clock
        self.limits = limits
        self.registry = registry
        self.ledger = Ledger(config.ledger_table_name, clients.dynamodb)
        self.claims = Claims(config.ledger_table_name, clients.dynamodb)

    # --- reading ------------------------------------------------------------------------------------

    def acting(self, protection: Protection) -> Clients:
        """The clients that act on ``protection``'s function and alarms: through its remediation role when
        the registry names one (may raise ``RoleUnavailable``), else the healer's own."""
        return self.clients.acting_as(protection.role_arn, self.config.healer_name)

    def plan_from(
        self, protection: Protection, incident: Incident, start: int
    ) -> tuple[PlaybookPlan, Plan | None]:
        """The first runnable step from ``start`` on (and the steps passed over), with its catalogue plan."""
        target = target_of(protection, self.config.healer_name)
        try:
            acting = self.acting(protection)
        except RoleUnavailable as exc:
            return PlaybookPlan(None, (), unreadable=str(exc)), None
        passed: list[StepPlan] = []
        for index in range(start, len(protection.playbook)):
            name = protection.playbook[index]
            try:
                plan = ACTIONS[name].plan(acting.lambda_, target, incident.incident_id)
            except TargetUnreadable as exc:
                return PlaybookPlan(None, tuple(passed), unreadable=str(exc)), None
            view = StepPlan(index, name, _describe(plan), bool(plan.changes), plan.landed, plan.refusal)
            if view.runnable:
                return PlaybookPlan(view, tuple(passed)), plan
            passed.append(view)
        return PlaybookPlan(None, tuple(passed)), None

    def ledger_state(self, incident: Incident, control: Control, fleet: Fleet, now: float) -> LedgerState:
        """What the ledger says about ``incident`` and the rails, for the policy."""
        return LedgerState(
            incident_status=incident.status,
            incident_id=incident.incident_id,
            claimed_by=incident.claimed_by,
            lease_expires_at=policy.lease_expiry(
                incident.status,
                incident.lease_expires_at,
                incident.decided_at.timestamp() if incident.decided_at else None,
                self.limits.lease_seconds,
            ),
            rails=RailState(
                last_action_at=control.last_action_at,
                action_times=control.action_times,
                fleet_in_flight=tuple(fleet.in_flight_at(now, excluding=incident.incident_id)),
                fleet_action_times=fleet.action_times,
            ),
        )

    # --- claiming -----------------------------------------------------------------------------------

    def claim(
        self,
        incident: Incident,
        protection: Protection,
        control: Control,
        fleet: Fleet,
        decision: Decision,
        step: int,
        run: Run,
        expect: IncidentStatus,
    ) -> ClaimResult:
        """Claim step ``step`` of ``incident`` for this run (one transaction; see ``healer.claims``)."""
        now = self.clock.now()
        window = protection.rails.action_window_seconds
        result = self.claims.claim_action(
            incident,
            protection.function_name,
            control,
            actions_in_window(control.action_times, now, window),
            fleet,
            actions_in_window(fleet.action_times, now, FLEET_WINDOW_SECONDS),
            decision,
            now,
            owner=run.owner,
            lease_expires_at=now + self.limits.lease_seconds,
            in_flight_until=now + self.limits.lease_seconds + protection.rails.verify_timeout_seconds,
            step=step,
            expect=expect,
        )
        if result == "claimed":
            run.summary["claimed_by"] = run.owner
            run.summary["step"] = step
        return result

    def attempt(
        self, protection: Protection, incident: Incident, expect: IncidentStatus, run: Run, judge: Judge
    ) -> Attempt:
        """Plan, read the rails, let ``judge`` decide and, when it says act, claim the step (``expect`` →
        ACTING); read and decide again while another incident's claim moves the control items under it.

        The function is read before the control items: a concurrent run claims in the ledger before it
        changes the function, so a plan that already sees its change has a control read that sees its
        claim (and the decision is "cooldown" rather than "nothing to change"). An incident already
        ``ACTING`` (a claim to take over) is decided, never claimed here.
        """
        for _ in range(self.limits.max_redecisions):
            planned, plan = self.plan_from(protection, incident, incident.step)
            control = self.claims.read_control(protection.function_name)
            fleet = self.claims.read_fleet()
            now = self.clock.now()
            state = self.ledger_state(incident, control, fleet, now)
            switch = self.registry.kill_switch()
            decision = judge(Situation(state, protection, planned, now, self.config, switch))
            step = planned.step
            if (
                decision.kind != "act"
                or step is None
                or plan is None
                or incident.status == IncidentStatus.ACTING
            ):
                return Attempt(decision, planned, plan)
            result = self.claim(incident, protection, control, fleet, decision, step.index, run, expect)
            if result != "control_changed" and result != "fleet_changed":
                return Attempt(decision, planned, plan, claimed=result == "claimed", lost=result != "claimed")
        return Attempt(setbacks.contention(), PlaybookPlan(None), None)

    # --- acting -------------------------------------------------------------------------------------

    def apply_step(
        self, protection: Protection, incident: Incident, plan: Plan, index: int, run: Run
    ) -> bool:
        """Apply a claimed step and record it (ACTING → ACTED); True when recorded and to be verified.

        A function changed under the step (``revision_changed``) is planned again and, while the step
        still runs, applied again; any other failure is recorded and escalated.
        """

        def renew() -> bool:
            now = self.clock.now()
            return self.claims.renew_lease(incident, run.owner, now + self.limits.lease_seconds, now)

        action = ACTIONS[plan.action]
        for attempt in range(1, self.limits.max_redecisions + 1):
            outcome = action.apply(
                self.acting(protection).lambda_,
                plan,
                clock=self.clock,
                backoff=self.limits.backoff,
                settle_timeout=self.limits.settle_timeout,
                before_update=renew,
            )
            run.summary["action_attempts"] = run.summary.get("action_attempts", 0) + outcome.attempts
            run.summary["action_seconds"] = round(outcome.seconds, 3)
            record = StepRecord(
                index,
                plan.action,
                self.clock.now(),
                outcome.status,
                outcome.detail,
                tuple(change.to_json() for change in outcome.changes),
            )
            if outcome.applied:
                text = describe_changes(plan.action, outcome.changes)
                if outcome.status == "already_applied":
                    text += " (made by an interrupted earlier run; recorded, not repeated)"
                run.summary["action_taken"] = text
                previous = next(
                    (
                        "" if c.before is None else str(c.before)
                        for c in outcome.changes
                        if c.field == "Environment.Variables.FAILURE_RATE"
                    ),
                    None,
                )
                if previous is not None:
                    run.summary["previous_failure_rate"] = previous
                if self.ledger.record_step(incident, record, text, previous, owner=run.owner):
                    return True
                run.summary["verification"] = "incident already closed or its claim taken over"
                return False
            if outcome.status != "revision_changed":
                self.give_up(
                    incident, run, setbacks.after_failed_action(outcome.status, outcome.detail), record
                )
                return False
            fresh, fresh_plan = self.plan_from(protection, incident, index)
            run.summary["redecisions"] = attempt
            if fresh.step is None or fresh.step.index != index or fresh_plan is None:
                why = fresh.no_step(protection.function_name) if fresh.step is None else None
                self.give_up(
                    incident,
                    run,
                    why or setbacks.after_failed_action("revision_changed", ""),
                    record,
                    context="after a concurrent change: ",
                )
                return False
            plan = fresh_plan
        self.give_up(incident, run, setbacks.after_failed_action("revision_changed", ""), None)
        return False

    def give_up(
        self,
        incident: Incident,
        run: Run,
        decision: Decision,
        record: StepRecord | None,
        context: str = "",
    ) -> None:
        """End a held claim without an applied step: record ``decision`` (unless a skip), escalate it."""
        run.decided(decision)
        if decision.kind == "skip":
            return
        self.ledger.record_decision(
            incident,
            setbacks.recorded_status(decision),
            decision,
            self.clock.now(),
            expect=IncidentStatus.ACTING,
            owner=run.owner,
            context=context,
            step=record,
        )
        self.claims.release(incident.incident_id, self.clock.now())
        if decision.kind == "escalate":
            self.escalate(incident.alarm_name, run, decision)

    # --- verifying and going on ---------------------------------------------------------------------

    def run(
        self,
        protection: Protection,
        incident: Incident,
        plan: Plan,
        index: int,
        run: Run,
        remaining: Remaining,
    ) -> None:
        """Apply the claimed step ``index`` and verify; on a missed deadline take the next allowed step."""
        while self.apply_step(protection, incident, plan, index, run):
            result = wait_for_ok(
                self.acting(protection).cloudwatch,
                incident.alarm_name,
                clock=self.clock,
                timeout=protection.rails.verify_timeout_seconds,
                remaining_real_seconds=remaining,
                poll=self.limits.verify_poll,
                margin_real_seconds=self.limits.margin_real_seconds,
            )
            run.summary["verify_seconds"] = round(result.seconds, 3)
            run.summary["verification"] = result.status
            if result.status == "verified" and result.ok_time is not None:
                self.close(incident, result.ok_time, run, via="DescribeAlarms")
                return
            if result.status == "out_of_time":
                logger.warning(
                    "verification stopped: invocation running out of time; the incident stays open "
                    "until the alarm's OK notification closes it",
                    extra={"incident_id": incident.incident_id, "detail": result.detail},
                )
                return
            nxt = self._next_step(protection, incident, result.detail, run)
            if nxt is None:
                return
            incident, plan, index = nxt

    def _next_step(
        self, protection: Protection, incident: Incident, not_ok: str, run: Run
    ) -> tuple[Incident, Plan, int] | None:
        """Claim the next step after a missed verify deadline, or record UNVERIFIED and escalate."""
        fresh = self.ledger.get_incident(incident.sk)
        if fresh is None or fresh.status != IncidentStatus.ACTED:
            run.summary["verification"] = "incident closed meanwhile"
            return None

        def judge(situation: Situation) -> Decision:
            return policy.decide_next_step(situation, not_ok)

        tried = self.attempt(protection, fresh, IncidentStatus.ACTED, run, judge)
        decision = tried.decision
        # The run's decision stays the one about the notification; what followed is listed after it.
        run.summary.setdefault("then", []).append({"code": decision.code, "reason": decision.reason})
        if tried.claimed and tried.plan is not None and tried.planned.step is not None:
            return fresh, tried.plan, tried.planned.step.index
        if tried.lost:
            return None
        if self.ledger.mark_unverified(fresh, decision, self.clock.now()):
            self.claims.release(fresh.incident_id, self.clock.now())
            if decision.kind == "escalate":
                self.escalate(fresh.alarm_name, run, decision)
        return None

    def close(self, incident: Incident, ok_time: Any, run: Run, *, via: str) -> None:
        """Record the incident RECOVERED at ``ok_time`` and take it out of the fleet's in-flight set."""
        ttr = self.ledger.close(incident, ok_time, self.clock.now(), via=f"verified by {via}")
        self.claims.release(incident.incident_id, self.clock.now())
        if ttr is None:
            run.summary["verification"] = "already closed"
            return
        run.summary["verification"] = f"verified by {via}"
        run.summary["time_to_recover_seconds"] = ttr
        emit_time_to_recover(ttr, self.config.metrics_namespace, incident.alarm_name, SERVICE_NAME)

    def escalate(self, alarm_name: str, run: Run, decision: Decision) -> None:
        """Tell people about ``decision`` (an escalation) on the escalation topic."""
        code = decision.code
        assert isinstance(code, EscalationCode), code  # only escalations are sent to people
        action = run.summary["action_taken"]
        escalation = Escalation(
            alarm_name=alarm_name,
            code=code,
            seen=run.seen,
            decided=(f"{action}; " if action != "none" else "no automatic action; ") + f"escalated ({code})",
            why=decision.reason,
            incident_id=run.summary["incident_id"],
        )
        run.summary["escalated"] = True
        run.summary["escalation_delivered"] = publish_escalation(
            self.clients.sns, self.config.escalation_topic_arn, escalation
        )


def seen_of(alarm_name: str, old: str, new: str, when: Any, reason: str | None) -> str:
    """What was seen, for an escalation: the alarm's transition."""
    return f"{alarm_name} went {old} -> {new} at {iso_utc(when)} ({reason or 'no reason given'})"
