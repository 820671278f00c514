"""One healer run: Detect → Decide → Act → Verify for each alarm notification of an event.

``Healer`` routes each notification by its alarm's name through the registry (``healer.registry``), asks
the pure policy what to do, and leaves acting and verifying to ``healer.playbook.Steps``; operator commands
(``selfheal approve`` / ``restore``) go to ``healer.commands``. Every notification ends in exactly one
structured log line (alarm, decision, reason, action taken, durations), and its summary is returned.
Nothing here raises for bad input or AWS failures: a poison message must not make Lambda retry it, and a
failing ledger or registry means no action and an escalation (fail closed).

If the execution environment is killed between claiming a step and recording its outcome, Lambda retries
the message; the retry finds the claim's lease expired and takes the claim over (see ``healer.claims`` and
``RunLimits.lease_seconds``), so the step happens exactly once.
"""

from __future__ import annotations

from collections.abc import Callable

from healer import commands, policy, setbacks
from healer.clients import Clients
from healer.clock import Clock, iso_utc
from healer.config import HealerConfig
from healer.decisions import Decision, IncidentStatus
from healer.ledger import Incident, LedgerUnavailable
from healer.log import logger
from healer.notification import AlarmNotification, MalformedNotification, NotAnSnsEvent, parse_event
from healer.playbook import Attempt, Run, RunLimits, Steps, Summary, seen_of
from healer.policy import Situation
from healer.registry import Protection, Registry, RegistryInvalid, RegistryUnavailable

__all__ = ["Healer", "RunLimits"]


class Healer:
    """Handles alarm notifications (SNS, direct or EventBridge) and operator commands for the fleet."""

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
        self.registry = Registry(config.registry_path, clients.ssm)
        self.steps = Steps(config, clients, clock, self.limits, self.registry)
        self.ledger = self.steps.ledger
        self.claims = self.steps.claims

    def handle_event(
        self,
        event: object,
        remaining_real_seconds: Callable[[], float] | None = None,
        request_id: str | None = None,
    ) -> Summary:
        """Handle every record of ``event`` (or the operator command it is); return a summary per record."""
        if commands.is_command(event):
            return commands.handle(self.steps, event, remaining_real_seconds, request_id)
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
        run = Run(
            self.clock,
            request_id,
            {
                "alarm": notification.alarm_name,
                "alarm_arn": notification.alarm_arn,
                "transition": f"{notification.old_state}->{notification.new_state}",
                "state_change_time": iso_utc(notification.state_change_time),
                "message_id": notification.message_id,
            },
        )
        run.seen = seen_of(
            notification.alarm_name,
            notification.old_state,
            notification.new_state,
            notification.state_change_time,
            notification.reason,
        )
        alarm = notification.new_state == "ALARM"
        protection: Protection | None = None
        try:
            protection = self.registry.lookup(notification.alarm_name)
            if protection is None:
                run.decided(policy.unregistered(notification))
                logger.info("alarm not in the registry", extra={"alarm": notification.alarm_name})
            else:
                run.summary["function"] = protection.function_name
                if alarm:
                    self._on_alarm(notification, protection, run, remaining_real_seconds)
                else:
                    self._on_other_state(notification, protection, run)
        except (RegistryInvalid, RegistryUnavailable) as exc:
            failed = (
                setbacks.registry_invalid(str(exc))
                if isinstance(exc, RegistryInvalid)
                else setbacks.registry_unavailable(str(exc))
            )
            self._escalate_without_incident(failed, run, alarm)
        except LedgerUnavailable as exc:
            failed = setbacks.ledger_unavailable(str(exc), acted=run.summary["action_taken"] != "none")
            logger.error("ledger unavailable: failing closed", extra={"ledger_error": str(exc)})
            self._escalate_without_incident(failed, run, alarm)
        except Exception as exc:  # a bug must not turn into Lambda retries of a half-handled message
            logger.exception("healer failed unexpectedly", extra={"alarm": notification.alarm_name})
            self._escalate_without_incident(
                setbacks.internal_error(exc), run, alarm and protection is not None
            )
        return run.finish()

    def _escalate_without_incident(self, decision: Decision, run: Run, escalate: bool) -> None:
        run.decided(decision)
        if escalate:
            self.steps.escalate(str(run.summary["alarm"]), run, decision)

    def _on_other_state(self, notification: AlarmNotification, protection: Protection, run: Run) -> None:
        latest = self.ledger.latest_incident(notification.alarm_arn)
        waiting = (
            latest is not None and latest.is_open and latest.alarm_time <= notification.state_change_time
        )
        open_id = latest.incident_id if waiting and latest is not None else None
        decision = policy.decide_state_change(notification, open_id)
        run.decided(decision)
        if latest is None or not waiting:
            return
        run.summary["incident_id"] = latest.incident_id
        if decision.kind != "close":
            self.ledger.add_transition(
                latest, notification.new_state, notification.state_change_time, self.clock.now()
            )
            return
        self.steps.close(latest, notification.state_change_time, run, via="OK notification")

    def _on_alarm(
        self,
        notification: AlarmNotification,
        protection: Protection,
        run: Run,
        remaining: Callable[[], float] | None,
    ) -> None:
        incident = self.ledger.open_incident(notification, protection, self.clock.now())
        run.summary["incident_id"] = incident.incident_id

        def judge(situation: Situation) -> Decision:
            return policy.decide(notification, situation)

        tried = self.steps.attempt(protection, incident, IncidentStatus.NEW, run, judge)
        run.decided(setbacks.decided_elsewhere() if tried.lost else tried.decision)
        if tried.claimed and tried.plan is not None and tried.planned.step is not None:
            self.steps.run(protection, incident, tried.plan, tried.planned.step.index, run, remaining)
        elif tried.lost or tried.decision.kind == "skip":
            return
        elif incident.status == IncidentStatus.ACTING:
            self._take_over(protection, incident, tried, run, remaining)
        else:
            self._record(incident, tried.decision, run, self.clock.now())

    def _record(self, incident: Incident, decision: Decision, run: Run, now: float) -> None:
        """Record a decision that takes no action on a NEW incident; escalate it if it is an escalation."""
        if not self.ledger.record_decision(incident, setbacks.recorded_status(decision), decision, now):
            run.decided(setbacks.decided_elsewhere())
            return
        if decision.kind == "escalate":
            self.steps.escalate(incident.alarm_name, run, decision)

    def _take_over(
        self,
        protection: Protection,
        incident: Incident,
        tried: Attempt,
        run: Run,
        remaining: Callable[[], float] | None,
    ) -> None:
        """Take over an expired claim whose holder recorded no outcome, then act on the decision."""
        now = self.clock.now()
        if not self.claims.take_over(incident, run.owner, now + self.limits.lease_seconds, now):
            run.decided(setbacks.taken_over_elsewhere())
            return
        run.summary["claimed_by"] = run.owner
        run.summary["took_over_from"] = incident.claimed_by
        step = tried.planned.step
        if tried.decision.kind == "act" and step is not None and tried.plan is not None:
            self.steps.run(protection, incident, tried.plan, step.index, run, remaining)
            return
        self.steps.give_up(incident, run, tried.decision, None)
