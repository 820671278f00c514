"""EventBridge delivery for the local cloud: rules match events and scheduled rules fire, on the cloud clock.

moto stores buses, rules and targets, and its PutEvents hands each event to every rule of the bus
(``Rule.send_to_targets``) with its own pattern matcher, no rule state, real time, and no Lambda or SNS
target (``NotImplementedError``). While started, this component (one
:class:`~selfheal.cloud.moto_patches.MotoPatches` registry) takes over, for the rules of the cloud's account
in every region (a rule's targets get events of its own region's buses; an alarm's event goes to its region's
default bus):

- ``PutEvents`` (moto's, wrapped on moto's events backend class): an entry without ``Time`` is stamped in
  cloud time; each event goes once to each *enabled* rule whose pattern matches
  (:mod:`.eventbridge_patterns`; a rule with only a schedule matches no event);
- targets get the event, or what their ``Input``/``InputPath``/``InputTransformer`` make of it
  (:mod:`.eventbridge_input`): Lambda functions an Event invoke through ``cloud.lambdas.invoke_async``
  (Lambda's async retries and dead-letter queue apply), SQS queues a message, SNS topics a Publish (so SNS
  delivery applies); other targets (log groups, archives, buses, API destinations) are left to moto;
- rules with a ``ScheduleExpression`` (:mod:`.eventbridge_schedule`) fire a "Scheduled Event" on the cloud
  clock: ``rate`` from when the rule was first seen, ``cron`` in UTC; firings missed while the clock ran
  ahead of the thread are not caught up (one event per poll at most);
- every alarm transition puts a "CloudWatch Alarm State Change" event on the default bus, and an alarm
  action naming a Lambda function invokes it with CloudWatch's payload (:mod:`.eventbridge_alarms`, through
  the hook of :mod:`.alarm_transitions`).

Every delivery is recorded in :meth:`EventBridge.delivered`. :meth:`EventBridge.put_event` puts an event
from inside the cloud. Resource-based policies (``lambda:InvokeFunction`` for ``events.amazonaws.com`` or
``lambda.alarms.cloudwatch.amazonaws.com``) are not checked, as for SNS (README: Limits of local IAM).
"""

from __future__ import annotations

import copy
import json
import logging
import math
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .alarm_transitions import StateChange, observe_transitions
from .eventbridge_alarms import event_time, lambda_action_payload, state_change_event
from .eventbridge_input import target_input
from .eventbridge_patterns import InvalidEventPattern, matches, parse_pattern
from .eventbridge_schedule import InvalidSchedule, Schedule, parse_schedule
from .lambda_functions import backend_in_region
from .moto_patches import MotoPatches, parameters
from .protocol import Cloud, CloudComponent
from .worker_thread import WorkerThread, fire_until_stopped

__all__ = ["EventBridge", "TargetDelivery"]

log = logging.getLogger("selfheal.cloud.events")

_ENABLED = ("ENABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS")


@dataclass(frozen=True)
class TargetDelivery:
    """One event handed to one target (``request_id``: the Lambda async invoke's)."""

    rule_arn: str
    target_id: str
    target_arn: str
    event_id: str
    input: str
    request_id: str | None = None
    error: str | None = None


@dataclass
class _Scheduled:
    expression: str
    schedule: Schedule | None
    start: float
    due: float


class EventBridge(CloudComponent):
    """Deliver EventBridge events to rule targets and fire scheduled rules; a LocalCloud component."""

    def __init__(self) -> None:
        self.deliveries: list[TargetDelivery] = []
        self._lock = threading.Lock()
        self._patches = MotoPatches()
        self._cloud: Cloud | None = None
        self._patterns: dict[str, dict[str, Any] | None] = {}
        self._schedules: dict[str, _Scheduled] = {}
        self._worker = WorkerThread("eventbridge-schedules", self._run)
        self._unobserve: Callable[[], None] | None = None
        self._moto_send: Callable[..., None] | None = None

    # -- lifecycle ---------------------------------------------------------------------------------------

    def start(self, cloud: Cloud) -> None:
        """Take over moto's delivery, follow alarm transitions, start the schedule thread."""
        from moto.events.models import EventsBackend, Rule

        if self._patches.installed:
            raise RuntimeError("EventBridge is already started")
        component = self

        def delivering(original: Callable[..., None]) -> Callable[..., None]:
            component._moto_send = original

            def send_to_targets(rule: Any, event: Any, transform_input: bool = True) -> None:
                if component._owns(rule):
                    component._dispatch(rule, _aws_event(event))
                else:
                    original(rule, event, transform_input)

            return send_to_targets

        def stamping(original: Callable[..., Any]) -> Callable[..., Any]:
            def put_events(backend: Any, events: list[dict[str, Any]]) -> Any:
                now = cloud.clock.now()
                stamped = [entry if entry.get("Time") else {**entry, "Time": now} for entry in events]
                return original(backend, stamped)

            return put_events

        def validating(original: Callable[..., Any]) -> Callable[..., Any]:
            def put_rule(backend: Any, name: str, *args: Any, **kwargs: Any) -> Any:
                _validate_rule(kwargs.get("event_pattern"), kwargs.get("scheduled_expression"))
                return original(backend, name, *args, **kwargs)

            return put_rule

        patches = MotoPatches()
        patches.replace(
            Rule,
            "send_to_targets",
            delivering,
            reason="deliver this cloud's events once, with AWS's matching, to Lambda/SQS/SNS targets",
            expect=parameters("original_event"),
        )
        patches.replace(
            EventsBackend,
            "put_events",
            stamping,
            reason="stamp PutEvents entries without Time in cloud time",
            expect=parameters("events"),
        )
        patches.replace(
            EventsBackend,
            "put_rule",
            validating,
            reason="refuse event patterns and schedule expressions EventBridge refuses",
            expect=parameters(
                "name", "description", "event_bus_arn", "event_pattern", "role_arn", "scheduled_expression"
            ),
        )
        self._cloud = cloud
        patches.install()
        self._patches = patches
        self._unobserve = observe_transitions(self)
        self._worker.start()

    def stop(self) -> None:
        """Stop the schedule thread, stop following alarms, restore moto's delivery."""
        self._worker.stop()
        if self._unobserve is not None:
            self._unobserve()
            self._unobserve = None
        self._patches.restore()

    def delivered(self, target_arn: str | None = None) -> list[TargetDelivery]:
        """Deliveries so far (to ``target_arn`` only, when given)."""
        with self._lock:
            return [d for d in self.deliveries if target_arn is None or d.target_arn == target_arn]

    # -- events ------------------------------------------------------------------------------------------

    def put_event(self, event: Mapping[str, Any], bus: str = "default", region: str | None = None) -> str:
        """Put ``event`` (AWS's shape; ``id`` added when missing) on ``bus`` of ``region`` (None: the
        cloud's); return its id."""
        cloud = self._require_cloud()
        delivered = dict(event)
        delivered.setdefault("id", str(uuid.uuid4()))
        rules = backend_in_region(cloud.backend("events"), "events", region).event_buses[bus].rules
        for rule in list(rules.values()):
            self._dispatch(rule, delivered)
        return str(delivered["id"])

    def _require_cloud(self) -> Cloud:
        if self._cloud is None:
            raise RuntimeError("EventBridge is not started")
        return self._cloud

    def _owns(self, rule: Any) -> bool:
        cloud = self._cloud
        return cloud is not None and rule.account_id == cloud.account_id

    def _pattern(self, rule: Any) -> dict[str, Any] | None:
        raw = rule.event_pattern.dump()
        if not raw:
            return None  # a rule with only a schedule matches no event
        if raw not in self._patterns:
            try:
                self._patterns[raw] = parse_pattern(raw)
            except InvalidEventPattern as exc:
                log.warning("rule %s: %s", rule.arn, exc)
                self._patterns[raw] = None
        return self._patterns[raw]

    def _dispatch(self, rule: Any, event: dict[str, Any]) -> None:
        if rule.state not in _ENABLED:
            return
        pattern = self._pattern(rule)
        if pattern is None or not matches(pattern, event):
            return
        self._send(rule, event)

    def _send(self, rule: Any, event: dict[str, Any]) -> None:
        for target in list(rule.targets):
            self._deliver(rule, target, event)

    def _deliver(self, rule: Any, target: Mapping[str, Any], event: dict[str, Any]) -> None:
        cloud = self._require_cloud()
        arn = str(target.get("Arn", ""))
        parts = arn.split(":")
        service = parts[2] if len(parts) > 5 else ""
        request_id: str | None = None
        error: str | None = None
        text = ""
        try:
            text = target_input(
                target,
                event,
                rule_arn=rule.arn,
                rule_name=rule.name,
                ingestion_time=event_time(cloud.clock.now()),
            )
            if service == "lambda":
                request_id = cloud.lambdas.invoke_async(arn, text.encode())
            elif service == "sqs":
                group = (target.get("SqsParameters") or {}).get("MessageGroupId")
                sqs = backend_in_region(cloud.backend("sqs"), "sqs", parts[3] or None)
                sqs.send_message(queue_name=parts[5], message_body=text, group_id=group)
            elif service == "sns":
                backend_in_region(cloud.backend("sns"), "sns", parts[3] or None).publish(text, arn=arn)
            else:
                self._moto_target(rule, target, event)
        except Exception as exc:
            # EventBridge does not fail PutEvents because a target cannot take the event; it records it.
            error = str(exc) or type(exc).__name__
            log.warning("EventBridge delivery of %s to %s failed: %s", event.get("id"), arn, error)
        with self._lock:
            self.deliveries.append(
                TargetDelivery(
                    rule.arn,
                    str(target.get("Id", "")),
                    arn,
                    str(event.get("id", "")),
                    text,
                    request_id,
                    error,
                )
            )

    def _moto_target(self, rule: Any, target: Mapping[str, Any], event: dict[str, Any]) -> None:
        """Hand one target moto knows (log group, archive, bus, API destination) to moto's delivery."""
        from moto.events.models import EventPattern

        single = copy.copy(rule)
        single.targets = [dict(target)]
        single.event_pattern = EventPattern(None, {})  # already matched here
        assert self._moto_send is not None
        self._moto_send(single, dict(event, time=self._require_cloud().clock.now()))

    # -- alarms (the hook of alarm_transitions) --------------------------------------------------------

    def state_changed(self, change: StateChange) -> None:
        """Put the "CloudWatch Alarm State Change" event of ``change`` on the default bus."""
        cloud = self._cloud
        if cloud is None or change.account_id != cloud.account_id:
            return
        self.put_event(state_change_event(change), region=change.region)

    def lambda_action(self, action: str, change: StateChange) -> str | None:
        """Invoke the function ``action`` asynchronously with CloudWatch's alarm payload."""
        cloud = self._require_cloud()
        payload = lambda_action_payload(change)
        try:
            cloud.lambdas.invoke_async(action, json.dumps(payload).encode())
        except Exception as exc:
            log.warning("alarm action %s failed: %s", action, exc)
            return str(exc) or type(exc).__name__
        return None

    # -- schedules ---------------------------------------------------------------------------------------

    def _run(self) -> None:
        fire_until_stopped(self._worker, self.fire_due, self._require_cloud, log, "EventBridge schedules")

    def fire_due(self) -> float:
        """Fire the scheduled rules that are due at cloud time now; return the next due time (or inf)."""
        cloud = self._require_cloud()
        now = cloud.clock.now()
        seen: set[str] = set()
        earliest = math.inf
        from moto.events.models import events_backends

        buses = [
            bus for b in list(events_backends[cloud.account_id].values()) for bus in b.event_buses.values()
        ]
        for bus in buses:
            for rule in list(bus.rules.values()):
                expression = rule.scheduled_expression
                if not expression:
                    continue
                seen.add(rule.arn)
                entry = self._schedules.get(rule.arn)
                if entry is None or entry.expression != expression:
                    entry = self._schedule(rule.arn, expression, now)
                if entry.schedule is None:
                    continue
                if entry.due <= now:
                    if rule.state in _ENABLED:
                        self._fire(rule, entry.due)
                    entry.due = entry.schedule.next_after(max(now, entry.due), entry.start)
                earliest = min(earliest, entry.due)
        for arn in set(self._schedules) - seen:
            del self._schedules[arn]
        return earliest

    def _schedule(self, arn: str, expression: str, now: float) -> _Scheduled:
        try:
            schedule: Schedule | None = parse_schedule(expression)
        except InvalidSchedule:
            log.warning("rule %s: schedule expression %r is not valid; it never fires", arn, expression)
            schedule = None
        due = schedule.next_after(now, now) if schedule is not None else math.inf
        entry = _Scheduled(expression, schedule, now, due)
        self._schedules[arn] = entry
        return entry

    def _fire(self, rule: Any, due: float) -> None:
        cloud = self._require_cloud()
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": cloud.account_id,
            "time": event_time(due),
            "region": str(rule.region_name),
            "resources": [rule.arn],
            "detail": {},
        }
        self._send(rule, event)


def _validate_rule(pattern: str | None, schedule: str | None) -> None:
    """Raise moto's errors for what PutRule refuses (moto checks only the pattern's outline)."""
    from moto.events.exceptions import InvalidEventPatternException, ValidationException

    if pattern:
        try:
            parse_pattern(pattern)
        except InvalidEventPattern as exc:
            raise InvalidEventPatternException(str(exc).partition("Reason: ")[2] or str(exc)) from None
    if schedule:
        try:
            parse_schedule(schedule)
        except InvalidSchedule as exc:
            raise ValidationException(str(exc)) from None


def _aws_event(event: Mapping[str, Any]) -> dict[str, Any]:
    """moto's event as EventBridge delivers it: ``time`` as ISO text, no ``ingestion-time``."""
    out = {key: value for key, value in event.items() if key != "ingestion-time"}
    stamp = out.get("time")
    if isinstance(stamp, (int, float)) and not isinstance(stamp, bool):
        out["time"] = event_time(float(stamp))
    elif isinstance(stamp, datetime):
        out["time"] = event_time(stamp.timestamp())
    return out
