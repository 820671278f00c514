"""The local cloud's CloudWatch alarm engine (moto never evaluates alarms): a component on the cloud clock.

While started, it

- evaluates every metric alarm in moto's CloudWatch backend at each boundary of the alarm's period in cloud
  time (every 10 cloud seconds for sub-minute periods), with :mod:`.alarm_evaluation`, over statistics it
  reads from moto's stored datums (:mod:`.alarm_datapoints`);
- makes a new alarm start ``INSUFFICIENT_DATA`` (moto starts it ``OK``) and keeps the state of an alarm that
  ``PutMetricAlarm`` updates, as CloudWatch does;
- indexes moto's datums by metric and time (:mod:`.metric_index`, kept current through a wrapped
  ``put_metric_data``), so one evaluation reads only its own metric's window, and expires datums older than
  :meth:`AlarmScheduler.retention` in cloud time from the index and from moto, every
  :data:`EXPIRE_EVERY` cloud seconds;
- on a transition — evaluated, or asked for by ``SetAlarmState`` — updates moto's alarm (state, reason,
  reason data, timestamp in cloud time), records history (served by ``DescribeAlarmHistory``) and, when
  actions are enabled, publishes AWS's notification to each SNS action of the new state through moto's SNS
  backend (so SNS delivery applies).

The patches are on the one CloudWatch backend of the cloud's account and region (instance attributes) plus
``DescribeAlarmHistory`` added to moto's CloudWatch response class, all in one
:class:`~selfheal.cloud.moto_patches.MotoPatches` registry: :meth:`AlarmScheduler.start` fails loudly if moto
changed them (or implements ``DescribeAlarmHistory`` itself), :meth:`AlarmScheduler.stop` removes them.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from .alarm_datapoints import MetricSelector, period_datapoints
from .alarm_evaluation import AlarmRule, AlarmState, Statistic, TreatMissingData, evaluate, evaluation_range
from .alarm_history import AlarmHistory
from .alarm_notification import AlarmSnapshot, build_notification
from .metric_index import MetricIndex
from .moto_patches import MotoPatches, parameters

if TYPE_CHECKING:
    from .server import LocalCloud

__all__ = [
    "EXPIRE_EVERY",
    "HIGH_RESOLUTION_INTERVAL",
    "RETENTION_FLOOR",
    "RETENTION_MARGIN",
    "AlarmScheduler",
    "AlarmTransition",
]

log = logging.getLogger("selfheal.cloud.alarms")

HIGH_RESOLUTION_INTERVAL = 10
INITIAL_REASON = "Unchecked: Initial alarm creation"
# Datums are kept for the longest alarm window in use plus a margin, and never less than 3 cloud hours
# (CloudWatch keeps high-resolution data 3 hours; GetMetricStatistics over recent windows keeps working).
RETENTION_FLOOR = 3 * 3600.0
RETENTION_MARGIN = 3600.0
EXPIRE_EVERY = 60.0  # cloud seconds between expiry passes
_MAX_WAIT = 10.0  # real seconds the thread sleeps at most, so that expiry runs when no alarm is due


@dataclass(frozen=True)
class AlarmTransition:
    """One state change: ``timestamp`` in cloud time, ``real_time`` when it happened on this machine."""

    alarm_name: str
    old_state: AlarmState
    new_state: AlarmState
    reason: str
    timestamp: float
    real_time: float
    boundary: float | None
    actions: tuple[str, ...]


def _naive(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC).replace(tzinfo=None)


def _epoch(moment: datetime) -> float:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _interval(period: int) -> int:
    return period if period >= 60 else HIGH_RESOLUTION_INTERVAL


def _rule(alarm: Any) -> AlarmRule | None:
    """The evaluable rule of a moto alarm; None for metric-math, percentile or composite alarms."""
    if alarm.rule is not None or alarm.metric_data_queries or not alarm.statistic or not alarm.metric_name:
        return None
    return AlarmRule(
        comparison_operator=alarm.comparison_operator,
        threshold=float(alarm.threshold),
        period=int(alarm.period),
        evaluation_periods=int(alarm.evaluation_periods),
        datapoints_to_alarm=None if alarm.datapoints_to_alarm is None else int(alarm.datapoints_to_alarm),
        treat_missing_data=cast(TreatMissingData, alarm.treat_missing_data or "missing"),
        statistic=cast(Statistic, alarm.statistic),
    )


def _snapshot(alarm: Any) -> AlarmSnapshot:
    return AlarmSnapshot(
        name=alarm.name,
        arn=alarm.alarm_arn,
        description=alarm.description or None,
        configuration_updated=_epoch(alarm.configuration_updated_timestamp),
        namespace=alarm.namespace or "",
        metric_name=alarm.metric_name or "",
        statistic=alarm.statistic or "",
        unit=alarm.unit,
        dimensions=tuple((d.name, d.value) for d in alarm.dimensions),
        period=int(alarm.period or 0),
        evaluation_periods=int(alarm.evaluation_periods),
        datapoints_to_alarm=alarm.datapoints_to_alarm,
        comparison_operator=alarm.comparison_operator,
        threshold=float(alarm.threshold or 0.0),
        treat_missing_data=alarm.treat_missing_data,
        evaluate_low_sample_count_percentile=alarm.evaluate_low_sample_count_percentile,
        ok_actions=tuple(alarm.ok_actions),
        alarm_actions=tuple(alarm.alarm_actions),
        insufficient_data_actions=tuple(alarm.insufficient_data_actions),
    )


def _describe_alarm_history(response: Any) -> Any:
    """moto response method: DescribeAlarmHistory from the scheduler's history."""
    from moto.core.responses import ActionResult

    backend = response.cloudwatch_backend
    history: Callable[..., list[dict[str, Any]]] | None = getattr(backend, "selfheal_alarm_history", None)
    if history is None:
        raise NotImplementedError("DescribeAlarmHistory is served only while the alarm scheduler runs")

    def moment(name: str) -> float | None:
        value = response._get_param(name)
        if value is None:
            return None
        if isinstance(value, datetime):
            return _epoch(value)
        return _epoch(datetime.fromisoformat(str(value).replace("Z", "+00:00")))

    items = history(
        alarm_name=response._get_param("AlarmName"),
        item_type=response._get_param("HistoryItemType"),
        start=moment("StartDate"),
        end=moment("EndDate"),
        newest_first=response._get_param("ScanBy", "TimestampDescending") != "TimestampAscending",
        alarm_types=response._get_param("AlarmTypes"),
    )
    limit = response._get_param("MaxRecords")
    if limit:
        items = items[: int(limit)]
    return ActionResult({"AlarmHistoryItems": items})


class AlarmScheduler:
    """Evaluate CloudWatch alarms on the cloud clock and run their actions; a LocalCloud component."""

    def __init__(self, *, grace_seconds: float = 0.02) -> None:
        if not math.isfinite(grace_seconds) or grace_seconds < 0:
            raise ValueError(f"grace must be a non-negative number of seconds, got {grace_seconds!r}")
        # Real seconds to wait past a boundary so that a metrics flush stamped just before it has landed.
        self._grace = grace_seconds
        self.history = AlarmHistory()
        self.transitions: list[AlarmTransition] = []
        self._cloud: LocalCloud | None = None
        self._backend: Any = None
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._due: dict[str, float] = {}
        self._skipped: set[str] = set()
        self._patches = MotoPatches()
        self._index: MetricIndex | None = None
        self._next_expiry = -math.inf
        self.expired = 0

    @classmethod
    def of(cls, cloud: LocalCloud) -> AlarmScheduler:
        """The scheduler among ``cloud``'s components."""
        for component in cloud.components:
            if isinstance(component, cls):
                return component
        raise LookupError("this LocalCloud runs no AlarmScheduler")

    # -- lifecycle ---------------------------------------------------------------------------------------

    def start(self, cloud: LocalCloud) -> None:
        """Patch moto's CloudWatch backend and start the evaluation thread."""
        if self._thread is not None:
            raise RuntimeError("the alarm scheduler is already started")
        from moto.cloudwatch.responses import CloudWatchResponse

        backend = cloud.backend("cloudwatch")
        index = MetricIndex(backend)
        patches = MotoPatches()
        patches.replace(
            backend,
            "put_metric_alarm",
            self._put_metric_alarm,
            reason="start a new alarm INSUFFICIENT_DATA, keep an updated alarm's state, schedule it",
            expect=parameters("name"),
        )
        patches.replace(
            backend,
            "set_alarm_state",
            self._set_alarm_state,
            reason="stamp SetAlarmState in cloud time, record its history and run its actions",
            expect=parameters("alarm_name", "reason", "reason_data", "state_value"),
        )
        patches.replace(
            backend,
            "delete_alarms",
            self._delete_alarms,
            reason="unschedule deleted alarms",
            expect=parameters("alarm_names"),
        )
        index.patch(patches)
        patches.add(
            backend,
            "selfheal_alarm_history",
            lambda **query: [i.as_api() for i in self.history.query(**query)],
            reason="give DescribeAlarmHistory this scheduler's history",
        )
        patches.add(
            CloudWatchResponse,
            "describe_alarm_history",
            _describe_alarm_history,
            reason="serve DescribeAlarmHistory (moto lacks it) from the scheduler's history",
        )
        patches.install()
        self._cloud = cloud
        self._backend = backend
        self._index = index
        self._patches = patches
        self._next_expiry = -math.inf
        with self._lock:
            now = cloud.clock.now()
            for alarm in backend.alarms.values():
                self._adopt(alarm, now, existing=None)
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="alarm-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and undo every patch."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stopping.set()
            self._wake.set()
            thread.join(timeout=10)
        self._patches.restore()
        self._index = None
        self._backend = None

    # -- moto patches ------------------------------------------------------------------------------------

    def _put_metric_alarm(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def put_metric_alarm(name: str, *args: Any, **kwargs: Any) -> Any:
            with self._lock:
                existing = self._backend.alarms.get(name)
                alarm = original(name, *args, **kwargs)
                self._adopt(alarm, self._clock_now(), existing=existing)
            self._wake.set()
            return alarm

        return put_metric_alarm

    def _set_alarm_state(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def set_alarm_state(alarm_name: str, reason: str, reason_data: str, state_value: str) -> None:
            with self._lock:
                alarm = self._backend.alarms.get(alarm_name)
                old = (
                    None
                    if alarm is None
                    else (alarm.state_value, alarm.state_reason, alarm.state_reason_data)
                )
                original(alarm_name, reason, reason_data, state_value)
                if alarm is None or old is None:
                    return
                alarm.state_updated_timestamp = _naive(self._clock_now())
                if old[0] != state_value:
                    self._after_transition(alarm, old, boundary=None)

        return set_alarm_state

    def _delete_alarms(self, original: Callable[[list[str]], None]) -> Callable[[list[str]], None]:
        def delete_alarms(alarm_names: list[str]) -> None:
            with self._lock:
                original(alarm_names)
                for name in alarm_names:
                    self._due.pop(name, None)

        return delete_alarms

    def _adopt(self, alarm: Any, now: float, existing: Any) -> None:
        """Give a created or updated moto alarm CloudWatch's initial state and schedule it."""
        alarm.configuration_updated_timestamp = _naive(now)
        if existing is not None and existing is not alarm:
            alarm.state_value = existing.state_value
            alarm.state_reason = existing.state_reason
            alarm.state_reason_data = existing.state_reason_data
            alarm.state_updated_timestamp = existing.state_updated_timestamp
            alarm.history = existing.history
        elif existing is None and alarm.state_reason == INITIAL_REASON:
            alarm.state_value = "INSUFFICIENT_DATA"
            alarm.state_updated_timestamp = _naive(now)
        self.history.configuration(alarm.name, now, created=existing is None)
        self._skipped.discard(alarm.name)
        if alarm.period:
            interval = _interval(int(alarm.period))
            self._due[alarm.name] = (math.floor(now / interval) + 1) * interval

    # -- evaluation ----------------------------------------------------------------------------------------

    def _clock_now(self) -> float:
        assert self._cloud is not None
        return self._cloud.clock.now()

    def _run(self) -> None:
        assert self._cloud is not None
        clock = self._cloud.clock
        while not self._stopping.is_set():
            try:
                self.expire_if_due(clock.now())
            except Exception:
                log.exception("metric expiry failed")
            with self._lock:
                due = min(self._due.values(), default=None)
            if due is None:
                self._wake.wait(1.0)
                self._wake.clear()
                continue
            delay = clock.to_real(due) - time.time() + self._grace
            if delay > 0:
                woken = self._wake.wait(min(delay, _MAX_WAIT))
                self._wake.clear()
                if woken or delay > _MAX_WAIT:
                    continue
            try:
                self.evaluate_due(clock.now())
            except Exception:
                log.exception("alarm evaluation failed")

    def retention(self) -> float:
        """Cloud seconds of data kept: the longest alarm window plus a margin, at least 3 hours."""
        longest = 0.0
        with self._lock:
            for alarm in self._backend.alarms.values():
                if not alarm.period:
                    continue
                try:
                    rule = _rule(alarm)
                except ValueError:
                    rule = None
                periods = evaluation_range(rule) if rule is not None else int(alarm.evaluation_periods)
                longest = max(longest, float(alarm.period) * periods)
        return max(RETENTION_FLOOR, longest + RETENTION_MARGIN)

    def expire_metrics(self, now: float) -> int:
        """Drop datums stamped before ``now`` minus :meth:`retention` (cloud time); return how many."""
        assert self._index is not None
        dropped = self._index.expire(now - self.retention())
        self.expired += dropped
        return dropped

    def expire_if_due(self, now: float) -> int:
        """Run :meth:`expire_metrics` if :data:`EXPIRE_EVERY` cloud seconds passed since the last run."""
        if now < self._next_expiry:
            return 0
        self._next_expiry = now + EXPIRE_EVERY
        return self.expire_metrics(now)

    def evaluate_due(self, now: float) -> list[AlarmTransition]:
        """Evaluate every alarm whose boundary has passed at cloud time ``now``; return the transitions."""
        made: list[AlarmTransition] = []
        with self._lock:
            for name, due in list(self._due.items()):
                if due > now:
                    continue
                alarm = self._backend.alarms.get(name)
                if alarm is None:
                    self._due.pop(name, None)
                    continue
                interval = _interval(int(alarm.period))
                boundary = math.floor(now / interval) * interval
                self._due[name] = boundary + interval
                transition = self._evaluate(alarm, boundary, now)
                if transition is not None:
                    made.append(transition)
        return made

    def _evaluate(self, alarm: Any, boundary: float, now: float) -> AlarmTransition | None:
        try:
            rule = _rule(alarm)
        except ValueError as exc:
            rule = None
            if alarm.name not in self._skipped:
                log.warning("alarm %s is not evaluated: %s", alarm.name, exc)
        if rule is None:
            self._skipped.add(alarm.name)
            return None
        selector = MetricSelector(
            alarm.namespace,
            alarm.metric_name,
            frozenset((d.name, d.value) for d in alarm.dimensions),
            alarm.unit,
        )
        end = math.floor(boundary / rule.period) * rule.period
        periods = evaluation_range(rule)
        assert self._index is not None
        points = period_datapoints(
            self._index.window(selector, end - rule.period * periods, end),
            selector,
            rule.statistic,
            rule.period,
            end,
            periods,
        )
        result = evaluate(rule, points, alarm.state_value, now)
        if result.state == alarm.state_value:
            return None
        old = (alarm.state_value, alarm.state_reason, alarm.state_reason_data)
        alarm.update_state(result.reason, json.dumps(result.reason_data, separators=(",", ":")), result.state)
        alarm.state_updated_timestamp = _naive(now)
        return self._after_transition(alarm, old, boundary=boundary)

    def _after_transition(
        self, alarm: Any, old: tuple[str, str, str], boundary: float | None
    ) -> AlarmTransition:
        """Record a transition moto's alarm already shows, then run the new state's actions."""
        assert self._cloud is not None
        changed_at = _epoch(alarm.state_updated_timestamp)
        new_state = cast(AlarmState, alarm.state_value)
        self.history.state_update(
            alarm.name, changed_at, old, (new_state, alarm.state_reason, alarm.state_reason_data or "")
        )
        snapshot = _snapshot(alarm)
        actions = snapshot.actions_for(new_state) if alarm.actions_enabled else ()
        transition = AlarmTransition(
            alarm.name,
            cast(AlarmState, old[0]),
            new_state,
            alarm.state_reason,
            changed_at,
            time.time(),
            boundary,
            actions,
        )
        log.info("alarm %s: %s -> %s: %s", alarm.name, old[0], new_state, alarm.state_reason)
        if actions:
            notification = build_notification(
                snapshot,
                old_state=cast(AlarmState, old[0]),
                new_state=new_state,
                reason=alarm.state_reason,
                change_time=changed_at,
                account_id=self._cloud.account_id,
                region=self._cloud.region,
            )
            for action in actions:
                error = self._publish(action, notification.subject, notification.message)
                self.history.action(alarm.name, changed_at, action, error)
        self.transitions.append(transition)
        self._changed.notify_all()
        return transition

    def _publish(self, action: str, subject: str, message: str) -> str | None:
        """Publish to an SNS action ARN; return an error text instead of raising."""
        parts = action.split(":")
        if len(parts) < 6 or parts[2] != "sns":
            log.warning("alarm action %s is not an SNS topic; only SNS actions run locally", action)
            return "only SNS actions run in the local cloud"
        from moto.sns.models import sns_backends

        try:
            sns_backends[parts[4]][parts[3]].publish(message, arn=action, subject=subject)
        except Exception as exc:
            log.warning("alarm action %s failed: %s", action, exc)
            return str(exc)
        return None

    # -- waiting -------------------------------------------------------------------------------------------

    def wait_for(
        self, alarm_name: str, state: AlarmState, timeout: float, *, after: int = 0
    ) -> AlarmTransition | None:
        """Wait up to ``timeout`` real seconds for a transition of ``alarm_name`` into ``state``.

        Only transitions from index ``after`` of :attr:`transitions` on count. Return it, or None.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for transition in self.transitions[after:]:
                    if transition.alarm_name == alarm_name and transition.new_state == state:
                        return transition
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._changed.wait(remaining)
