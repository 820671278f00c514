"""EventBridge Scheduler for the local cloud: schedules fire on the cloud clock and call their targets.

moto stores schedules and schedule groups (every region) and checks almost nothing. While started, this
component (one :class:`~selfheal.cloud.moto_patches.MotoPatches` registry) makes its API answer as AWS does
(:mod:`.scheduler_requests`): ``CreateSchedule``/``UpdateSchedule`` refuse what AWS refuses and targets the
local cloud cannot run, a missing group is ``ResourceNotFoundException``, ``UpdateSchedule`` keeps
``ActionAfterCompletion`` and defaults ``State`` to ``ENABLED``; ``CreateScheduleGroup`` refuses an existing
name (``ConflictException``), ``DeleteScheduleGroup`` an unknown one and the ``default`` group.

A thread fires every enabled schedule of the cloud's account when due in cloud time
(:mod:`.scheduler_expressions`: ``at``, ``rate``, ``cron`` in its time zone, ``StartDate``/``EndDate``); a
disabled one lets its firings pass. A ``FLEXIBLE`` time window fires at the window's start, which is within
AWS's contract (any time in the window). Each firing calls the target as the execution role
(:mod:`.scheduler_delivery`); a failed call is retried, 1, 2, 4 ... cloud seconds apart (at most 5 minutes),
while ``RetryPolicy`` allows (``MaximumRetryAttempts``, ``MaximumEventAgeInSeconds``; AWS's defaults 185 and
86400), then dropped or sent to the ``DeadLetterConfig`` queue. After its last firing a schedule with
``ActionAfterCompletion: DELETE`` is deleted. Firings missed while the thread lagged are not caught up (one
per poll at most). :meth:`Scheduler.delivered` lists the latest 10,000 attempts.
"""

from __future__ import annotations

import logging
import math
import threading
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from .moto_patches import MotoPatches, parameters
from .protocol import Cloud, CloudComponent
from .scheduler_delivery import DEFAULT_INPUT, Invocation, InvocationError, dead_letter, invoke_target
from .scheduler_expressions import InvalidExpression, ScheduleTimes, parse_expression, zone
from .scheduler_requests import InvalidRequest, validate_group_name, validate_schedule
from .worker_thread import WorkerThread, fire_until_stopped

__all__ = ["ScheduleDelivery", "Scheduler"]

log = logging.getLogger("selfheal.cloud.scheduler")
_SERVICE = "EventBridge Scheduler"  # what its log lines call it

_KEPT_DELIVERIES = 10_000  # the latest attempts delivered() lists
_MAX_BACKOFF = 300.0  # cloud seconds between two retries at most
# The keyword arguments of moto's create_schedule/update_schedule, in order (the wrappers pass them on).
_SCHEDULE_ARGUMENTS = (
    "description", "end_date", "flexible_time_window", "group_name", "kms_key_arn", "name",
    "schedule_expression", "schedule_expression_timezone", "start_date", "state", "target",
)  # fmt: skip
_DEFAULT_RETRY = {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}


@dataclass(frozen=True)
class ScheduleDelivery:
    """One call of a schedule's target: ``time`` is the firing's (cloud) time, ``retry`` 0 for the first
    attempt; ``error`` when it failed."""

    schedule_arn: str
    target_arn: str
    input: str
    time: float
    retry: int = 0
    request_id: str | None = None
    error: str | None = None


@dataclass
class _Entry:
    fingerprint: tuple[Any, ...]
    times: ScheduleTimes | None
    due: float


def _epoch(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


class Scheduler(CloudComponent):
    """Validate EventBridge Scheduler requests, fire schedules on the cloud clock; a LocalCloud component."""

    def __init__(self) -> None:
        self.deliveries: deque[ScheduleDelivery] = deque(maxlen=_KEPT_DELIVERIES)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._patches = MotoPatches()
        self._cloud: Cloud | None = None
        self._entries: dict[str, _Entry] = {}
        self._created: dict[str, float] = {}
        self._retries: list[Invocation] = []
        self._worker = WorkerThread("scheduler", self._run)

    # -- lifecycle ---------------------------------------------------------------------------------------

    def start(self, cloud: Cloud) -> None:
        """Patch moto's Scheduler API and start the thread that fires schedules."""
        from moto.scheduler.models import EventBridgeSchedulerBackend
        from moto.scheduler.responses import EventBridgeSchedulerResponse

        if self._patches.installed:
            raise RuntimeError("Scheduler is already started")
        self._cloud = cloud
        patches = MotoPatches()
        patches.replace(
            EventBridgeSchedulerBackend,
            "create_schedule",
            self._creating,
            reason="refuse what CreateSchedule refuses and targets the cloud cannot run; note the cloud time",
            expect=parameters(*_SCHEDULE_ARGUMENTS, "action_after_completion"),
        )
        patches.replace(
            EventBridgeSchedulerBackend,
            "update_schedule",
            self._updating,
            reason="refuse what UpdateSchedule refuses; State defaults to ENABLED, as on AWS",
            expect=parameters(*_SCHEDULE_ARGUMENTS),
        )
        patches.replace(
            EventBridgeSchedulerResponse,
            "update_schedule",
            _keeping_action_after_completion,
            reason="moto's UpdateSchedule drops ActionAfterCompletion",
        )
        patches.replace(
            EventBridgeSchedulerBackend,
            "create_schedule_group",
            _creating_group,
            reason="refuse an existing or invalid group name (moto replaces the group and its schedules)",
            expect=parameters("name", "tags"),
        )
        patches.replace(
            EventBridgeSchedulerBackend,
            "delete_schedule_group",
            _deleting_group,
            reason="refuse an unknown group (moto: KeyError, HTTP 500) and the default group; drop its tags",
            expect=parameters("name"),
        )
        patches.install()
        self._patches = patches
        self._worker.start()

    def stop(self) -> None:
        """Stop the thread and restore moto."""
        self._worker.stop(self._wake)
        self._patches.restore()

    def delivered(self, schedule_arn: str | None = None) -> list[ScheduleDelivery]:
        """Target calls so far (of ``schedule_arn`` only, when given)."""
        with self._lock:
            return [d for d in self.deliveries if schedule_arn is None or d.schedule_arn == schedule_arn]

    def _require_cloud(self) -> Cloud:
        if self._cloud is None:
            raise RuntimeError("Scheduler is not started")
        return self._cloud

    # -- the API -----------------------------------------------------------------------------------------

    def _creating(self, original: Callable[..., Any]) -> Callable[..., Any]:
        component = self

        def create_schedule(backend: Any, **kwargs: Any) -> Any:
            from moto.scheduler.exceptions import ScheduleGroupNotFound

            _validated(kwargs, component._require_cloud().clock.now())
            group = kwargs.get("group_name") or "default"
            if group not in backend.schedule_groups:
                raise ScheduleGroupNotFound(group)
            schedule = original(backend, **kwargs)
            component._noted(schedule, created=True)
            return schedule

        return create_schedule

    def _updating(self, original: Callable[..., Any]) -> Callable[..., Any]:
        component = self

        def update_schedule(backend: Any, **kwargs: Any) -> Any:
            _validated(kwargs, component._require_cloud().clock.now())
            kwargs["state"] = kwargs.get("state") or "ENABLED"
            schedule = original(backend, **kwargs)
            component._noted(schedule, created=False)
            return schedule

        return update_schedule

    def _noted(self, schedule: Any, *, created: bool) -> None:
        """Remember when (cloud time) ``schedule`` was created or its times changed (a rate without
        ``StartDate`` starts again there; other updates keep its times), and wake the thread."""
        if self._cloud is not None:
            with self._lock:
                entry = self._entries.get(schedule.arn)
                if created or entry is None or entry.fingerprint != _fingerprint(schedule):
                    self._created[schedule.arn] = self._cloud.clock.now()
                    self._entries.pop(schedule.arn, None)
        self._wake.set()

    # -- firing ------------------------------------------------------------------------------------------

    def _run(self) -> None:
        fire_until_stopped(self._worker, self.fire_due, self._require_cloud, log, _SERVICE, self._wake)

    def fire_due(self) -> float:
        """Fire the schedules and retries due at cloud time now; return the next due time (or inf)."""
        from moto.scheduler.models import scheduler_backends

        cloud = self._require_cloud()
        now = cloud.clock.now()
        earliest = math.inf
        seen: set[str] = set()
        for backend in list(scheduler_backends[cloud.account_id].values()):
            for group in list(backend.schedule_groups.values()):
                for schedule in list(group.schedules.values()):
                    seen.add(schedule.arn)
                    due = self._check(group, schedule, now)
                    earliest = min(earliest, due)
        with self._lock:
            for arn in set(self._entries) - seen:
                del self._entries[arn]
            for arn in set(self._created) - seen:
                del self._created[arn]
            due_now = [r for r in self._retries if r.due <= now]
            self._retries = [r for r in self._retries if r.due > now]
        for retry in due_now:
            self._attempt(retry, now)
        with self._lock:
            return min([earliest, *(r.due for r in self._retries)])

    def _check(self, group: Any, schedule: Any, now: float) -> float:
        """Fire ``schedule`` if it is due; return its next due time."""
        entry = self._entry(schedule, now)
        if entry.times is None:
            return math.inf
        if entry.due <= now:
            if schedule.state == "ENABLED":
                self._fire(schedule, entry.due)
            entry.due = entry.times.after(max(now, entry.due))
            completed = not math.isfinite(entry.due) and schedule.state == "ENABLED"
            if completed and schedule.action_after_completion == "DELETE":
                group.schedules.pop(schedule.name, None)
                return math.inf
        return entry.due

    def _entry(self, schedule: Any, now: float) -> _Entry:
        fingerprint = _fingerprint(schedule)
        with self._lock:
            entry = self._entries.get(schedule.arn)
            created = self._created.setdefault(schedule.arn, now)
        if entry is not None and entry.fingerprint == fingerprint:
            return entry
        try:
            times: ScheduleTimes | None = ScheduleTimes(
                parse_expression(schedule.schedule_expression, schedule.schedule_expression_timezone),
                zone(schedule.schedule_expression_timezone),
                _epoch(schedule.start_date),
                _epoch(schedule.end_date),
                created,
            )
        except InvalidExpression:
            log.warning(
                "schedule %s: %r is not valid; it never fires", schedule.arn, schedule.schedule_expression
            )
            times = None
        entry = _Entry(fingerprint, times, times.first() if times is not None else math.inf)
        with self._lock:
            self._entries[schedule.arn] = entry
        return entry

    def _fire(self, schedule: Any, due: float) -> None:
        target = dict(schedule.target)
        text = target.get("Input")
        text = text if isinstance(text, str) else DEFAULT_INPUT
        invocation = Invocation(schedule.arn, target, text, due, str(uuid.uuid4()), 0, due)
        self._attempt(invocation, self._require_cloud().clock.now())

    def _attempt(self, retry: Invocation, now: float) -> None:
        cloud = self._require_cloud()
        request_id: str | None = None
        error: InvocationError | None = None
        try:
            request_id = invoke_target(cloud, retry.schedule_arn, retry.target, retry.text)
        except InvocationError as exc:
            error = exc
        with self._lock:
            self.deliveries.append(
                ScheduleDelivery(
                    retry.schedule_arn,
                    str(retry.target.get("Arn", "")),
                    retry.text,
                    retry.fired,
                    retry.retries,
                    request_id,
                    None if error is None else str(error),
                )
            )
        if error is None:
            return
        log.warning("schedule %s: target call failed: %s", retry.schedule_arn, error)
        policy = {**_DEFAULT_RETRY, **(retry.target.get("RetryPolicy") or {})}
        delay = min(_MAX_BACKOFF, 2.0**retry.retries)
        condition = ""
        if retry.retries >= int(policy["MaximumRetryAttempts"]):
            condition = "MaximumRetryAttempts"
        elif now + delay - retry.fired > int(policy["MaximumEventAgeInSeconds"]):
            condition = "MaximumEventAgeInSeconds"
        if not condition:
            with self._lock:
                self._retries.append(replace(retry, retries=retry.retries + 1, due=now + delay))
            self._wake.set()
            return
        try:
            dead_letter(cloud, retry, error, condition)
        except InvocationError as exc:
            log.warning("schedule %s: dead-letter event dropped: %s", retry.schedule_arn, exc)


def _fingerprint(schedule: Any) -> tuple[Any, ...]:
    """What a schedule's firing times depend on."""
    return (
        schedule.schedule_expression,
        schedule.schedule_expression_timezone,
        schedule.start_date,
        schedule.end_date,
    )


def _validated(kwargs: Mapping[str, Any], now: float) -> None:
    from moto.scheduler.exceptions import ValidationException

    try:
        validate_schedule(kwargs, now)
    except InvalidRequest as exc:
        raise ValidationException(str(exc)) from None


def _keeping_action_after_completion(original: Callable[..., str]) -> Callable[..., str]:
    def update_schedule(response: Any) -> str:
        from moto.scheduler.exceptions import ValidationException

        action = response._get_param("ActionAfterCompletion")
        if action is not None and action not in ("NONE", "DELETE"):
            raise ValidationException(
                f"1 validation error detected: Value '{action}' at 'actionAfterCompletion' failed to satisfy "
                "constraint: Member must satisfy enum value set: [NONE, DELETE]"
            )
        result = original(response)
        name = response.uri.split("?")[0].split("/")[-1]
        schedule = response.scheduler_backend.get_schedule(response._get_param("GroupName"), name)
        schedule.action_after_completion = action or "NONE"
        return result

    return update_schedule


def _creating_group(original: Callable[..., Any]) -> Callable[..., Any]:
    def create_schedule_group(backend: Any, name: str, tags: Any) -> Any:
        from moto.core.exceptions import JsonRESTError
        from moto.scheduler.exceptions import ValidationException

        try:
            validate_group_name(name)
        except InvalidRequest as exc:
            raise ValidationException(str(exc)) from None
        if name in backend.schedule_groups:
            conflict = JsonRESTError("ConflictException", f"Schedule group {name} already exists.")
            conflict.code = 409
            raise conflict
        return original(backend, name, tags or [])

    return create_schedule_group


def _deleting_group(original: Callable[..., None]) -> Callable[..., None]:
    def delete_schedule_group(backend: Any, name: str | None) -> None:
        from moto.scheduler.exceptions import ScheduleGroupNotFound, ValidationException

        group = backend.schedule_groups.get(name or "default")
        if group is None:
            raise ScheduleGroupNotFound(name or "default")
        if group.name == "default":
            raise ValidationException("The default schedule group cannot be deleted.")
        original(backend, name)
        backend.tagger.delete_all_tags_for_resource(group.arn)

    return delete_schedule_group
