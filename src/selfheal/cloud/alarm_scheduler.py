"""The local cloud's CloudWatch alarm engine (moto never evaluates alarms): a component on the cloud clock.

While started, it

- evaluates every metric alarm in moto's CloudWatch backend at each boundary of the alarm's period in cloud
  time (every 10 cloud seconds for sub-minute periods), with :mod:`.alarm_evaluation`, over statistics it
  reads from moto's stored datums (:mod:`.alarm_datapoints`; percentiles too) or over a metric-math
  expression's values (:mod:`.alarm_math`, :mod:`.metric_math`); an alarm it cannot evaluate (an unsupported
  function, ``SEARCH``, …) goes ``INSUFFICIENT_DATA`` with a reason naming what is unsupported, logged once;
- evaluates composite alarms (:mod:`.alarm_composite`) whenever another alarm changes state and on every
  cycle;
- indexes moto's datums by metric and time (:mod:`.metric_index`, kept current through a wrapped
  ``put_metric_data``), so one evaluation reads only its own metric's window, and expires datums older than
  :meth:`AlarmScheduler.retention` in cloud time from the index and from moto, every
  :data:`EXPIRE_EVERY` cloud seconds;
- hands each transition — evaluated, or asked for by ``SetAlarmState`` — to :mod:`.alarm_transitions`
  (history, SNS actions, waiters);
- keeps the last :data:`CYCLES_KEPT` evaluation cycles (:attr:`AlarmScheduler.cycles`: how many alarms were
  due and the real time their evaluation took), so that a fleet's evaluation cost can be measured.

How moto's alarms are read and patched (a new alarm starts ``INSUFFICIENT_DATA``, an updated one keeps its
state, ``DescribeAlarmHistory``) is in :mod:`.alarm_moto`; the patches are on the one CloudWatch backend of
the cloud's account and region (instance attributes) plus moto's CloudWatch response class, all in one
:class:`~selfheal.cloud.moto_patches.MotoPatches` registry: :meth:`AlarmScheduler.start` fails loudly if moto
changed them (or implements ``DescribeAlarmHistory`` itself), :meth:`AlarmScheduler.stop` removes them.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .alarm_composite import composite_evaluation
from .alarm_evaluation import AlarmState, evaluate, evaluation_range
from .alarm_history import AlarmHistory
from .alarm_math import alarm_period, alarm_plan
from .alarm_moto import AlarmState3, adopt_state, cloudwatch_patches, mark_transition, naive
from .alarm_transitions import AlarmTransition, AlarmTransitions
from .gateway import WSGIApplication
from .lambda_functions import backend_in_region
from .metric_index import MetricIndex
from .moto_patches import MotoPatches
from .protocol import Cloud, CloudComponent, Lambdas
from .worker_thread import WorkerThread

__all__ = [
    "CYCLES_KEPT",
    "EXPIRE_EVERY",
    "HIGH_RESOLUTION_INTERVAL",
    "RETENTION_FLOOR",
    "RETENTION_MARGIN",
    "AlarmScheduler",
    "AlarmTransition",
    "EvaluationCycle",
]

log = logging.getLogger("selfheal.cloud.alarms")

HIGH_RESOLUTION_INTERVAL = 10
# Datums are kept for the longest alarm window in use plus a margin, and never less than 3 cloud hours
# (CloudWatch keeps high-resolution data 3 hours; GetMetricStatistics over recent windows keeps working).
RETENTION_FLOOR = 3 * 3600.0
RETENTION_MARGIN = 3600.0
EXPIRE_EVERY = 60.0  # cloud seconds between expiry passes
_MAX_WAIT = 10.0  # real seconds the thread sleeps at most, so that expiry runs when no alarm is due
_DISCOVERY_WAIT = 1.0  # real seconds the cloud region's thread sleeps at most, to find regions with alarms
UNSUPPORTED_REASON = "Unsupported in the local cloud: {}"
CYCLES_KEPT = 1000


@dataclass(frozen=True)
class EvaluationCycle:
    """One pass over the due alarms: at cloud time ``at``, ``alarms`` evaluated in ``seconds`` real seconds,
    of which ``cpu_seconds`` on the scheduler's thread (the rest: waiting for the CPU, the GIL, a lock)."""

    at: float
    alarms: int
    seconds: float
    cpu_seconds: float


def _interval(period: int) -> int:
    return period if period >= 60 else HIGH_RESOLUTION_INTERVAL


class _RegionView:
    """The cloud as the scheduler of another of its regions sees it: that region's backends."""

    def __init__(self, cloud: Cloud, region: str) -> None:
        self._cloud, self._region = cloud, region

    @property
    def region(self) -> str:
        return self._region

    @property
    def account_id(self) -> str:
        return self._cloud.account_id

    @property
    def endpoint(self) -> str:
        return self._cloud.endpoint

    @property
    def clock(self) -> Any:
        return self._cloud.clock

    @property
    def lambdas(self) -> Lambdas:
        return self._cloud.lambdas

    @property
    def components(self) -> Any:
        return self._cloud.components

    def backend(self, service: str) -> Any:
        return backend_in_region(self._cloud.backend(service), service, self._region)

    def client(self, service: str, **options: Any) -> Any:
        raise NotImplementedError("a regional alarm scheduler makes no client calls")

    def mount(self, prefix: str, app: WSGIApplication) -> None:
        raise NotImplementedError("a regional alarm scheduler mounts nothing")


class AlarmScheduler(CloudComponent):
    """Evaluate CloudWatch alarms on the cloud clock and run their actions; a LocalCloud component.

    The alarms of the cloud's region are evaluated by this scheduler; those of every other region that has
    any, by one scheduler per region that it starts and stops (:meth:`in_region`; found within
    :data:`_DISCOVERY_WAIT` real seconds of the region's first alarm).
    """

    def __init__(self, *, grace_seconds: float = 0.02) -> None:
        if not math.isfinite(grace_seconds) or grace_seconds < 0:
            raise ValueError(f"grace must be a non-negative number of seconds, got {grace_seconds!r}")
        # Real seconds to wait past a boundary so that a metrics flush stamped just before it has landed.
        self._grace = grace_seconds
        self._cloud: Cloud | None = None
        self._backend: Any = None
        self._lock = threading.RLock()
        self._transitions = AlarmTransitions(self._lock)
        self._wake = threading.Event()
        self._worker = WorkerThread("alarm-scheduler", self._run)
        self._due: dict[str, float] = {}
        self._skipped: set[str] = set()
        self._in_composites = False
        self._patches = MotoPatches()
        self._index: MetricIndex | None = None
        self._next_expiry = -math.inf
        self.expired = 0
        #: The last :data:`CYCLES_KEPT` evaluation cycles that had an alarm due, oldest first.
        self.cycles: deque[EvaluationCycle] = deque(maxlen=CYCLES_KEPT)
        self._regional = False  # a scheduler of another region (started by the cloud region's)
        self._regions: dict[str, AlarmScheduler] = {}
        self._regions_lock = threading.Lock()

    @property
    def history(self) -> AlarmHistory:
        """Every alarm's history (configuration updates, state updates, actions)."""
        return self._transitions.history

    @property
    def transitions(self) -> list[AlarmTransition]:
        """Every transition so far, oldest first."""
        return self._transitions.transitions

    # -- lifecycle ---------------------------------------------------------------------------------------

    def start(self, cloud: Cloud) -> None:
        """Patch moto's CloudWatch backend and start the evaluation thread."""
        if self._worker.started:
            raise RuntimeError("the alarm scheduler is already started")
        backend = cloud.backend("cloudwatch")
        index = MetricIndex(backend)
        patches = cloudwatch_patches(
            backend,
            index,
            lock=self._lock,
            now=cloud.clock.now,
            adopted=self._adopt,
            state_set=lambda alarm, old: self._record(alarm, old, boundary=None),
            deleted=self._unschedule,
            wake=self._wake.set,
            history=lambda **query: [i.as_api() for i in self.history.query(**query)],
            classes=not self._regional,
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
                self._adopt(alarm, now, None)
        self._worker.start()

    def stop(self) -> None:
        """Stop the thread (and other regions' schedulers) and undo every patch."""
        with self._regions_lock:
            regional, self._regions = list(self._regions.values()), {}
        for scheduler in regional:
            scheduler.stop()
        self._worker.stop(wake=self._wake)
        self._patches.restore()
        self._index = None
        self._backend = None

    def in_region(self, region: str) -> AlarmScheduler:
        """The scheduler of ``region``'s alarms (this one for the cloud's region), started if need be."""
        cloud = self._cloud
        if cloud is None or self._regional:
            raise RuntimeError("in_region needs the started scheduler of the cloud's region")
        if region == cloud.region:
            return self
        with self._regions_lock:
            scheduler = self._regions.get(region)
            if scheduler is None:
                scheduler = AlarmScheduler(grace_seconds=self._grace)
                scheduler._regional = True
                scheduler.start(_RegionView(cloud, region))
                self._regions[region] = scheduler
        return scheduler

    def _discover_regions(self) -> None:
        """Start the scheduler of every other region of the account that has an alarm."""
        from moto.cloudwatch.models import cloudwatch_backends

        cloud = self._cloud
        if cloud is None or self._regional:
            return
        for region, backend in list(cloudwatch_backends[cloud.account_id].items()):
            if region != cloud.region and region not in self._regions and backend.alarms:
                self.in_region(str(region))

    def _adopt(self, alarm: Any, now: float, existing: Any) -> None:
        """Give a created or updated moto alarm CloudWatch's initial state and schedule it."""
        adopt_state(alarm, existing, now)
        self.history.configuration(alarm.name, now, created=existing is None)
        self._skipped.discard(alarm.name)
        period = alarm_period(alarm)
        if period:
            interval = _interval(period)
            self._due[alarm.name] = (math.floor(now / interval) + 1) * interval
            try:
                alarm_plan(alarm)
            except ValueError as exc:  # say so at once, not only at the first boundary
                if self._cloud is not None:
                    self._unsupported(alarm, str(exc), None, now)
        elif alarm.rule is not None and self._cloud is not None:
            self._due.pop(alarm.name, None)
            self._evaluate_composites(now)

    def _unschedule(self, alarm_names: list[str]) -> None:
        for name in alarm_names:
            self._due.pop(name, None)

    # -- evaluation ----------------------------------------------------------------------------------------

    def _run(self) -> None:
        assert self._cloud is not None
        clock = self._cloud.clock
        max_wait = _MAX_WAIT if self._regional else _DISCOVERY_WAIT
        while not self._worker.stopping.is_set():
            try:
                self.expire_if_due(clock.now())
                self._discover_regions()
            except Exception:
                log.exception("metric expiry or region discovery failed")
            with self._lock:
                due = min(self._due.values(), default=None)
            if due is None:
                try:
                    with self._lock:
                        self._evaluate_composites(clock.now())
                except Exception:
                    log.exception("composite alarm evaluation failed")
                self._wake.wait(1.0)
                self._wake.clear()
                continue
            delay = clock.to_real(due) - time.time() + self._grace
            if delay > 0:
                woken = self._wake.wait(min(delay, max_wait))
                self._wake.clear()
                if woken or delay > max_wait:
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
                period = alarm_period(alarm)
                if not period:
                    continue
                try:
                    plan = alarm_plan(alarm)
                except ValueError:
                    plan = None
                periods = (
                    evaluation_range(plan.rule) if plan is not None else int(alarm.evaluation_periods or 1)
                )
                longest = max(longest, float(period) * periods)
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
        evaluated = 0
        with self._lock:
            started, cpu = time.perf_counter(), time.thread_time()
            for name, due in list(self._due.items()):
                if due > now:
                    continue
                alarm = self._backend.alarms.get(name)
                if alarm is None:
                    self._due.pop(name, None)
                    continue
                period = alarm_period(alarm)
                if not period:
                    self._due.pop(name, None)
                    continue
                interval = _interval(period)
                boundary = math.floor(now / interval) * interval
                self._due[name] = boundary + interval
                evaluated += 1
                transition = self._evaluate(alarm, boundary, now)
                if transition is not None:
                    made.append(transition)
            made.extend(self._evaluate_composites(now))
            if evaluated:
                spent = time.perf_counter() - started
                self.cycles.append(EvaluationCycle(now, evaluated, spent, time.thread_time() - cpu))
        return made

    def _evaluate(self, alarm: Any, boundary: float, now: float) -> AlarmTransition | None:
        try:
            plan = alarm_plan(alarm)
        except ValueError as exc:
            return self._unsupported(alarm, str(exc), boundary, now)
        if plan is None:
            return None
        rule = plan.rule
        end = math.floor(boundary / rule.period) * rule.period
        periods = evaluation_range(rule)
        assert self._index is not None
        try:
            points = plan.datapoints(self._index.window, end, periods)
        except ValueError as exc:
            return self._unsupported(alarm, str(exc), boundary, now)
        self._skipped.discard(alarm.name)
        result = evaluate(rule, points, alarm.state_value, now)
        return self._set_state(
            alarm,
            result.state,
            result.reason,
            json.dumps(result.reason_data, separators=(",", ":")),
            now,
            boundary,
        )

    def _unsupported(
        self, alarm: Any, problem: str, boundary: float | None, now: float
    ) -> AlarmTransition | None:
        """Put an alarm the local cloud cannot evaluate in INSUFFICIENT_DATA, saying why; log it once."""
        if alarm.name not in self._skipped:
            log.warning("alarm %s cannot be evaluated in the local cloud: %s", alarm.name, problem)
            self._skipped.add(alarm.name)
        reason = UNSUPPORTED_REASON.format(problem)
        if alarm.state_value == "INSUFFICIENT_DATA":
            if alarm.state_reason != reason:
                alarm.state_reason, alarm.state_reason_data = reason, "{}"
                alarm.state_updated_timestamp = naive(now)
            return None
        return self._set_state(alarm, "INSUFFICIENT_DATA", reason, "{}", now, boundary)

    def _set_state(
        self, alarm: Any, state: str, reason: str, reason_data: str, now: float, boundary: float | None
    ) -> AlarmTransition | None:
        """Move moto's alarm to ``state`` and record the transition (None when the state is unchanged)."""
        if state == alarm.state_value:
            return None
        old = (alarm.state_value, alarm.state_reason, alarm.state_reason_data)
        alarm.update_state(reason, reason_data, state)
        alarm.state_updated_timestamp = naive(now)
        mark_transition(alarm, alarm.state_updated_timestamp)
        return self._record(alarm, old, boundary=boundary)

    def _evaluate_composites(self, now: float) -> list[AlarmTransition]:
        """Bring every composite alarm in line with its children (under the lock), until nothing changes."""
        if self._in_composites or self._backend is None:
            return []
        self._in_composites = True
        made: list[AlarmTransition] = []
        try:
            alarms = self._backend.alarms
            for _ in range(len(alarms) + 1):  # composites of composites settle within that many rounds
                changed = False
                for alarm in [a for a in alarms.values() if a.rule is not None]:
                    try:
                        result = composite_evaluation(alarm, alarms)
                    except ValueError as exc:
                        transition = self._unsupported(alarm, str(exc), None, now)
                    else:
                        transition = self._set_state(
                            alarm, result.state, result.reason, result.reason_data, now, None
                        )
                    if transition is not None:
                        made.append(transition)
                        changed = True
                if not changed:
                    break
        finally:
            self._in_composites = False
        return made

    def _record(self, alarm: Any, old: AlarmState3, boundary: float | None) -> AlarmTransition:
        """Record a transition moto's alarm already shows and run its actions (under the lock)."""
        assert self._cloud is not None
        transition = self._transitions.record(
            alarm, old, boundary, account_id=self._cloud.account_id, region=self._cloud.region
        )
        if not self._in_composites:
            self._evaluate_composites(transition.timestamp)
        return transition

    # -- waiting -------------------------------------------------------------------------------------------

    def wait_for(
        self, alarm_name: str, state: AlarmState, timeout: float, *, after: int = 0
    ) -> AlarmTransition | None:
        """Wait up to ``timeout`` real seconds for a transition of ``alarm_name`` into ``state``.

        Only transitions from index ``after`` of :attr:`transitions` on count. Return it, or None.
        """
        return self._transitions.wait_for(alarm_name, state, timeout, after=after)


if TYPE_CHECKING:
    # mypy checks that a region's view satisfies the protocol the scheduler is typed against.
    _REGION_VIEW_IS_CLOUD: type[Cloud] = _RegionView
