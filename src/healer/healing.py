"""One healer run: Detect → Decide → Act → Verify for each notification of an SNS event.

``Healer`` wires the pure policy to its collaborators (ledger, claims, Lambda, CloudWatch, SNS, clock);
every decision it logs, records or escalates comes from ``healer.policy``. Every notification ends in
exactly one structured log line (alarm, decision, reason, action taken, durations), and its summary is
returned. Nothing here raises for bad input or AWS failures: a poison message must not make Lambda retry it,
and a failing ledger means no action and an escalation (fail closed).

If the execution environment is killed between claiming an action and recording its outcome, Lambda retries
the message; the retry finds the claim's lease expired and takes the claim over (see ``healer.claims`` and
``RunLimits.lease_seconds``), so the action happens exactly once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from healer import policy
from healer.claims import Claims
from healer.clients import Clients
from healer.clock import Clock, iso_utc
from healer.config import HealerConfig
from healer.decisions import Decision, EscalationCode, IncidentStatus
from healer.escalation import Escalation, publish_escalation
from healer.ledger import Incident, Ledger, LedgerUnavailable
from healer.log import SERVICE_NAME, logger
from healer.notification import AlarmNotification, MalformedNotification, NotAnSnsEvent, parse_event
from healer.policy import FunctionState, LedgerState
from healer.remediation import Backoff, TargetUnreadable, read_function, remediate
from healer.verification import emit_time_to_recover, wait_for_ok

__all__ = ["Healer", "RunLimits"]

Summary = dict[str, Any]


@dataclass(frozen=True)
class RunLimits:
    """Bounds of one run's loops.

    The defaults fit the Terraform module's healer timeout (verify timeout + 60 s): retries back off for at
    most 15 s and settling waits at most 30 s; verification itself stops short of the remaining time.

    ``lease_seconds`` (cloud seconds) is how long an action claim lasts without renewal. The holder renews
    it before every UpdateFunctionConfiguration attempt, so it must cover one attempt and the settling wait
    after it (backoff sleeps ≤ 15 s + settle ≤ 30 s = 45 s bounds a whole action; one boto3 call gives up
    after 3 tries of ≤ 13 s). It must also stay below Lambda's delay before the first async retry (about
    60 s after the failed invocation ended, which is after the last renewal; the local cloud waits 60 cloud
    seconds): that retry then finds the lease of a killed run expired and takes over. A retry that still
    found it live would skip and succeed, so Lambda would not retry again and the incident would stay
    ``ACTING`` (visible to operators) until a later redelivery: hence the lease stays below that delay.
    """

    max_redecisions: int = 3
    backoff: Backoff = field(default_factory=Backoff)
    settle_timeout: float = 30.0
    verify_poll: float = 10.0
    margin_real_seconds: float = 5.0
    lease_seconds: float = 50.0


class _Run:
    """The summary of one notification, filled in as the run goes; logged once at the end."""

    def __init__(self, notification: AlarmNotification, clock: Clock, request_id: str | None) -> None:
        self.clock = clock
        self.started = clock.now()
        self.owner = f"{request_id or 'run'}/{uuid.uuid4().hex[:12]}"
        """Who this run is when it holds an action claim: unique even when Lambda retries keep the id."""
        self.summary: Summary = {
            "alarm": notification.alarm_name,
            "alarm_arn": notification.alarm_arn,
            "transition": f"{notification.old_state}->{notification.new_state}",
            "state_change_time": iso_utc(notification.state_change_time),
            "message_id": notification.message_id,
            "incident_id": None,
            "decision": None,
            "code": None,
            "reason": None,
            "action_taken": "none",
            "escalated": False,
        }

    def decided(self, decision: Decision) -> None:
        self.summary.update(decision=decision.kind, code=decision.code, reason=decision.reason)

    def finish(self) -> Summary:
        self.summary["duration_seconds"] = round(self.clock.now() - self.started, 3)
        logger.info("healer decision", extra={"healer": self.summary})
        return self.summary


class Healer:
    """Handles SNS events carrying CloudWatch alarm notifications for one target function."""

    def __init__(
        self,
        config: HealerConfig,
        clients: Clients,
        clock: Clock,
        limits: RunLimits | None = None,
    ) -> None:
        self.config = config
        self.clients = clients
        self.clock = clock
        self.limits = limits or RunLimits()
        self.ledger = Ledger(config.ledger_table_name, clients.dynamodb)
        self.claims = Claims(config.ledger_table_name, clients.dynamodb)

    def handle_event(
        self,
        event: object,
        remaining_real_seconds: Callable[[], float] | None = None,
        request_id: str | None = None,
    ) -> Summary:
        """Handle every record of ``event``; return a summary per record."""
        try:
            parsed = parse_event(event)
        except NotAnSnsEvent as exc:
            logger.warning("ignored event", extra={"rejected": type(exc).__name__, "why": str(exc)})
            return {"results": [], "rejected": [{"error": type(exc).__name__, "reason": str(exc)}]}
        results: list[Summary] = []
        rejected: list[Summary] = []
        for index, item in enumerate(parsed):
            if isinstance(item, MalformedNotification):
                logger.warning(
                    "ignored malformed record",
                    extra={"record": index, "rejected": type(item).__name__, "why": str(item)},
                )
                rejected.append({"record": index, "error": type(item).__name__, "reason": str(item)})
            else:
                results.append(self.handle(item, remaining_real_seconds, request_id))
        return {"results": results, "rejected": rejected}

    def handle(
        self,
        notification: AlarmNotification,
        remaining_real_seconds: Callable[[], float] | None = None,
        request_id: str | None = None,
    ) -> Summary:
        """Decide about one notification, act and verify if the policy says so; log one line."""
        run = _Run(notification, self.clock, request_id)
        foreign = policy.screen(notification, self.config)
        try:
            if foreign is not None:
                run.decided(foreign)
            elif notification.new_state == "ALARM":
                self._on_alarm(notification, run, remaining_real_seconds)
            else:
                self._on_other_state(notification, run)
        except LedgerUnavailable as exc:
            self._fail_closed(notification, run, exc)
        except Exception as exc:  # a bug must not turn into Lambda retries of a half-handled message
            logger.exception("healer failed unexpectedly", extra={"alarm": notification.alarm_name})
            failure = policy.internal_error(exc)
            run.decided(failure)
            if foreign is None and notification.new_state == "ALARM":
                self._escalate(notification, run, failure)
        return run.finish()

    def _fail_closed(self, notification: AlarmNotification, run: _Run, exc: LedgerUnavailable) -> None:
        decision = policy.ledger_unavailable(str(exc), acted=run.summary["action_taken"] != "none")
        run.decided(decision)
        logger.error("ledger unavailable: failing closed", extra={"ledger_error": str(exc)})
        if notification.new_state == "ALARM":
            self._escalate(notification, run, decision)

    def _on_other_state(self, notification: AlarmNotification, run: _Run) -> None:
        latest = self.ledger.latest_incident(notification.alarm_arn)
        waiting = (
            latest is not None and latest.is_open and latest.alarm_time <= notification.state_change_time
        )
        open_id = latest.incident_id if waiting and latest is not None else None
        decision = policy.decide(
            notification, LedgerState(open_incident_id=open_id), None, self.clock.now(), self.config
        )
        run.decided(decision)
        if latest is None or not waiting:
            return
        run.summary["incident_id"] = latest.incident_id
        if decision.kind != "close":
            self.ledger.add_transition(
                latest, notification.new_state, notification.state_change_time, self.clock.now()
            )
            return
        self._close(latest, notification.state_change_time, run, via="OK notification")

    def _close(self, incident: Incident, ok_time: datetime, run: _Run, *, via: str) -> None:
        ttr = self.ledger.close(incident, ok_time, self.clock.now(), via=f"verified by {via}")
        if ttr is None:
            run.summary["verification"] = "already closed"
            return
        run.summary["verification"] = f"verified by {via}"
        run.summary["time_to_recover_seconds"] = ttr
        emit_time_to_recover(ttr, self.config.metrics_namespace, incident.alarm_name, SERVICE_NAME)

    def _read_target(self) -> tuple[FunctionState | None, str | None]:
        try:
            return read_function(self.clients.lambda_, self.config.target_function_name), None
        except TargetUnreadable as exc:
            return None, str(exc)

    def _on_alarm(
        self, notification: AlarmNotification, run: _Run, remaining: Callable[[], float] | None
    ) -> None:
        cfg = self.config
        incident = self.ledger.open_incident(notification, cfg.target_function_name, self.clock.now())
        run.summary["incident_id"] = incident.incident_id
        for _ in range(self.limits.max_redecisions):
            # The function before the control item: a concurrent run claims in the ledger before it
            # updates the function, so if this read already sees its FAILURE_RATE=0 the control read
            # below sees its claim, and the decision is "cooldown" rather than "nothing to heal".
            function, read_error = self._read_target()
            control = self.claims.read_control(cfg.target_function_name)
            now = self.clock.now()
            state = LedgerState(
                incident_status=incident.status,
                last_action_at=control.last_action_at,
                action_times=control.action_times,
                incident_id=incident.incident_id,
                claimed_by=incident.claimed_by,
                lease_expires_at=policy.lease_expiry(
                    incident.status,
                    incident.lease_expires_at,
                    incident.decided_at.timestamp() if incident.decided_at else None,
                    self.limits.lease_seconds,
                ),
                action_recorded=incident.action is not None,
            )
            decision = policy.decide(notification, state, function, now, cfg, read_error=read_error)
            run.decided(decision)
            if decision.kind == "skip":
                return
            if incident.status == IncidentStatus.ACTING:
                self._take_over(notification, incident, state, function, decision, run, remaining)
                return
            if decision.kind != "act":
                if not self.ledger.record_decision(incident, policy.recorded_status(decision), decision, now):
                    run.decided(policy.decided_elsewhere())
                    return
                if decision.kind == "escalate":
                    self._escalate(notification, run, decision)
                return
            assert function is not None  # "act" is only decided on a readable function
            keep = policy.actions_in_window(control.action_times, now, cfg.action_window_seconds)
            claim = self.claims.claim_action(
                incident,
                cfg.target_function_name,
                control,
                keep,
                decision,
                now,
                owner=run.owner,
                lease_expires_at=now + self.limits.lease_seconds,
            )
            if claim == "already_decided":
                run.decided(policy.decided_elsewhere())
                return
            if claim == "claimed":
                run.summary["claimed_by"] = run.owner
                self._act(notification, incident, state, function, run, remaining)
                return
            # control_changed: another incident acted meanwhile; re-read and decide again.
        contention = policy.contention()
        run.decided(contention)
        if self.ledger.record_decision(
            incident, policy.recorded_status(contention), contention, self.clock.now()
        ):
            self._escalate(notification, run, contention)

    def _take_over(
        self,
        notification: AlarmNotification,
        incident: Incident,
        state: LedgerState,
        function: FunctionState | None,
        decision: Decision,
        run: _Run,
        remaining: Callable[[], float] | None,
    ) -> None:
        """Take over an expired claim whose holder recorded no outcome, then act on ``decision``."""
        now = self.clock.now()
        if not self.claims.take_over(incident, run.owner, now + self.limits.lease_seconds, now):
            run.decided(policy.taken_over_elsewhere())
            return
        run.summary["claimed_by"] = run.owner
        run.summary["took_over_from"] = incident.claimed_by
        if decision.kind == "act":
            assert function is not None  # "act" is only decided on a readable function
            self._act(notification, incident, state, function, run, remaining)
            return
        recorded = self.ledger.record_decision(
            incident,
            policy.recorded_status(decision),
            decision,
            self.clock.now(),
            expect=IncidentStatus.ACTING,
            owner=run.owner,
        )
        if recorded and decision.kind == "escalate":
            self._escalate(notification, run, decision)

    def _act(
        self,
        notification: AlarmNotification,
        incident: Incident,
        state: LedgerState,
        function: FunctionState,
        run: _Run,
        remaining: Callable[[], float] | None,
    ) -> None:
        """Act under a held claim; ``state`` is what the decision to act was based on (to re-decide)."""
        cfg = self.config

        def renew() -> bool:
            now = self.clock.now()
            return self.claims.renew_lease(incident, run.owner, now + self.limits.lease_seconds, now)

        for attempt in range(1, self.limits.max_redecisions + 1):
            outcome = remediate(
                self.clients.lambda_,
                function,
                target=cfg.target_function_name,
                incident_id=incident.incident_id,
                healer_name=cfg.healer_name,
                clock=self.clock,
                backoff=self.limits.backoff,
                settle_timeout=self.limits.settle_timeout,
                before_update=renew,
            )
            run.summary["action_attempts"] = run.summary.get("action_attempts", 0) + outcome.attempts
            run.summary["action_seconds"] = round(outcome.seconds, 3)
            if outcome.applied:
                run.summary["action_taken"] = (
                    "FAILURE_RATE reset to 0"
                    if outcome.status == "applied"
                    else "FAILURE_RATE reset to 0 by an interrupted earlier run (recorded, not repeated)"
                )
                run.summary["previous_failure_rate"] = outcome.previous_failure_rate
                if self.ledger.record_action(
                    incident, outcome.previous_failure_rate, self.clock.now(), owner=run.owner
                ):
                    self._verify(notification, incident, run, remaining)
                else:
                    run.summary["verification"] = "incident already closed or its claim taken over"
                return
            if outcome.status != "revision_changed":
                self._give_up(
                    notification, incident, run, policy.after_failed_action(outcome.status, outcome.detail)
                )
                return
            # The function changed under us: decide again on its new configuration (our claim stands).
            fresh, read_error = self._read_target()
            redecision = policy.decide(
                notification, state, fresh, self.clock.now(), cfg, read_error=read_error
            )
            run.summary["redecisions"] = attempt
            if redecision.kind != "act" or fresh is None:
                self._give_up(notification, incident, run, redecision, context="after a concurrent change: ")
                return
            run.decided(redecision)
            function = fresh
        self._give_up(notification, incident, run, policy.after_failed_action("revision_changed", ""))

    def _give_up(
        self,
        notification: AlarmNotification,
        incident: Incident,
        run: _Run,
        decision: Decision,
        context: str = "",
    ) -> None:
        """End a held claim without an applied action: record ``decision`` (unless a skip), escalate it."""
        run.decided(decision)
        if decision.kind == "skip":
            return
        self.ledger.record_decision(
            incident,
            policy.recorded_status(decision),
            decision,
            self.clock.now(),
            expect=IncidentStatus.ACTING,
            owner=run.owner,
            context=context,
        )
        if decision.kind == "escalate":
            self._escalate(notification, run, decision)

    def _verify(
        self,
        notification: AlarmNotification,
        incident: Incident,
        run: _Run,
        remaining: Callable[[], float] | None,
    ) -> None:
        result = wait_for_ok(
            self.clients.cloudwatch,
            notification.alarm_name,
            clock=self.clock,
            timeout=self.config.verify_timeout_seconds,
            remaining_real_seconds=remaining,
            poll=self.limits.verify_poll,
            margin_real_seconds=self.limits.margin_real_seconds,
        )
        run.summary["verify_seconds"] = round(result.seconds, 3)
        run.summary["verification"] = result.status
        if result.status == "verified" and result.ok_time is not None:
            self._close(incident, result.ok_time, run, via="DescribeAlarms")
        elif result.status == "timed_out":
            timeout = policy.verify_timed_out(result.detail, self.config)
            if self.ledger.mark_unverified(incident, timeout.reason, self.clock.now()):
                self._escalate(notification, run, timeout)
        else:
            logger.warning(
                "verification stopped: invocation running out of time; the incident stays open "
                "until the alarm's OK notification closes it",
                extra={"incident_id": incident.incident_id, "detail": result.detail},
            )

    def _escalate(self, notification: AlarmNotification, run: _Run, decision: Decision) -> None:
        code = decision.code
        assert isinstance(code, EscalationCode), code  # only escalations are sent to people
        action = run.summary["action_taken"]
        escalation = Escalation(
            alarm_name=notification.alarm_name,
            code=code,
            seen=(
                f"{notification.alarm_name} went {notification.old_state} -> {notification.new_state} at "
                f"{iso_utc(notification.state_change_time)} ({notification.reason or 'no reason given'})"
            ),
            decided=(f"{action}; " if action != "none" else "no automatic action; ") + f"escalated ({code})",
            why=decision.reason,
            incident_id=run.summary["incident_id"],
        )
        run.summary["escalated"] = True
        run.summary["escalation_delivered"] = publish_escalation(
            self.clients.sns, self.config.escalation_topic_arn, escalation
        )
