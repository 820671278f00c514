"""moto's CloudWatch alarms as the alarm scheduler reads and patches them.

- reading a moto alarm: its evaluable rule (:func:`alarm_rule`, single-metric alarms; the scheduler uses
  :func:`~selfheal.cloud.alarm_math.alarm_plan`, which also reads metric-math and percentile alarms), its
  notification snapshot (:func:`alarm_snapshot`: metric, metric-math or composite), timestamps in moto's
  naive UTC (:func:`naive`, :func:`epoch`);
- giving a created or updated alarm CloudWatch's state (:func:`adopt_state`: a new alarm starts
  ``INSUFFICIENT_DATA``, moto starts it ``OK``; ``PutMetricAlarm`` on an existing alarm keeps its state);
- the patches on the cloud's one CloudWatch backend (:func:`cloudwatch_patches`): ``put_metric_alarm``,
  ``set_alarm_state``, ``delete_alarms`` and ``put_metric_data`` (:mod:`.metric_index`) wrapped,
  ``selfheal_alarm_history`` added, ``DescribeAlarmHistory`` added to moto's CloudWatch response class
  (:func:`describe_alarm_history`, served from the scheduler's history), and ``state_transitioned_timestamp``
  added to moto's ``Alarm`` (rendered by ``DescribeAlarms`` as ``StateTransitionedTimestamp``, which moto
  lacks; :func:`mark_transition` sets it when the state value changes); ``PutCompositeAlarm`` added
  (:func:`~selfheal.cloud.alarm_composite.put_composite_alarm`) and ``alarm_rule`` on moto's ``Alarm``, so
  ``DescribeAlarms`` gives a composite alarm's ``AlarmRule``; ``GetMetricStatistics`` wrapped to answer
  ``ExtendedStatistics`` (:func:`wrap_get_metric_statistics`); the backend's ``get_metric_statistics``
  wrapped to match the exact dimension set (:func:`exact_dimensions`), as CloudWatch does, where moto sums
  every datum whose dimensions include the query's (a query by ``FunctionName`` alone would also count the
  datums published with ``FunctionName`` and ``Resource``).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from .alarm_composite import put_composite_alarm, triggering_children
from .alarm_datapoints import period_stats
from .alarm_evaluation import AlarmRule, Statistic, TreatMissingData
from .alarm_math import alarm_period
from .alarm_notification import AlarmSnapshot
from .metric_index import MetricIndex
from .moto_patches import MotoPatches, parameters

__all__ = [
    "INITIAL_REASON",
    "AlarmState3",
    "adopt_state",
    "alarm_rule",
    "alarm_snapshot",
    "cloudwatch_patches",
    "describe_alarm_history",
    "epoch",
    "exact_dimensions",
    "mark_transition",
    "naive",
    "state_transitioned_timestamp",
    "wrap_get_metric_statistics",
]

INITIAL_REASON = "Unchecked: Initial alarm creation"

#: (state value, reason, reason data) of a moto alarm.
AlarmState3 = tuple[str, str, str]


def naive(epoch_seconds: float) -> datetime:
    """``epoch_seconds`` as moto stores a moment: a naive UTC datetime."""
    return datetime.fromtimestamp(epoch_seconds, UTC).replace(tzinfo=None)


def epoch(moment: datetime) -> float:
    """A moto moment (naive means UTC) in epoch seconds."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def alarm_rule(alarm: Any) -> AlarmRule | None:
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


def _query_item(query: Any) -> dict[str, Any]:
    """A metric-math query as a notification's ``Trigger.Metrics`` lists it."""
    item: dict[str, Any] = {}
    if query.expression:
        item["Expression"] = query.expression
    item["Id"] = query.id
    if query.label:
        item["Label"] = query.label
    if query.metric_stat is not None:
        stat = query.metric_stat
        item["MetricStat"] = {
            "Metric": {
                "Dimensions": [{"value": d.value, "name": d.name} for d in stat.metric.dimensions],
                "MetricName": stat.metric.metric_name,
                "Namespace": stat.metric.namespace,
            },
            "Period": int(stat.period) if stat.period else None,
            "Stat": stat.stat,
        }
        if stat.unit:
            item["MetricStat"]["Unit"] = stat.unit
    returns = query.return_data
    item["ReturnData"] = (
        returns.strip().lower() == "true"
        if isinstance(returns, str)
        else (True if returns is None else bool(returns))
    )
    return item


def alarm_snapshot(alarm: Any) -> AlarmSnapshot:
    """What a notification about a moto alarm reports of it."""
    return AlarmSnapshot(
        name=alarm.name,
        arn=alarm.alarm_arn,
        description=alarm.description or None,
        configuration_updated=epoch(alarm.configuration_updated_timestamp),
        namespace=alarm.namespace or "",
        metric_name=alarm.metric_name or "",
        statistic=alarm.statistic or "",
        unit=alarm.unit,
        dimensions=tuple((d.name, d.value) for d in alarm.dimensions),
        period=int(alarm_period(alarm) or 0),
        evaluation_periods=int(alarm.evaluation_periods or 0),
        datapoints_to_alarm=alarm.datapoints_to_alarm,
        comparison_operator=alarm.comparison_operator or "",
        threshold=float(alarm.threshold or 0.0),
        treat_missing_data=alarm.treat_missing_data,
        evaluate_low_sample_count_percentile=alarm.evaluate_low_sample_count_percentile,
        ok_actions=tuple(alarm.ok_actions),
        alarm_actions=tuple(alarm.alarm_actions),
        insufficient_data_actions=tuple(alarm.insufficient_data_actions),
        extended_statistic=alarm.extended_statistic or None,
        metrics=tuple(_query_item(q) for q in alarm.metric_data_queries),
        alarm_rule=alarm.rule,
        triggering_children=triggering_children(alarm.state_reason_data) if alarm.rule is not None else (),
    )


_TRANSITIONED = "_selfheal_state_transitioned_timestamp"


def _transitioned(alarm: Any) -> datetime:
    return vars(alarm).get(_TRANSITIONED) or alarm.state_updated_timestamp  # type: ignore[no-any-return]


def _set_transitioned(alarm: Any, moment: datetime) -> None:
    vars(alarm)[_TRANSITIONED] = moment


#: Added to moto's ``Alarm`` while the scheduler runs. ``StateTransitionedTimestamp`` is "the date and time
#: that the alarm's StateValue most recently changed" (CloudWatch API reference, ``MetricAlarm``), unlike
#: ``StateUpdatedTimestamp``, which a new reason alone also moves. Until a transition is marked, the state
#: update time stands for it (an alarm moto created before the scheduler started).
state_transitioned_timestamp = property(_transitioned, _set_transitioned)


def mark_transition(alarm: Any, moment: datetime) -> None:
    """Record that ``alarm``'s state value changed at ``moment`` (moto's naive UTC)."""
    _set_transitioned(alarm, moment)


def adopt_state(alarm: Any, existing: Any, now: float) -> None:
    """Give a created (``existing`` None) or updated moto alarm CloudWatch's state at cloud time ``now``."""
    alarm.configuration_updated_timestamp = naive(now)
    if existing is not None and existing is not alarm:
        alarm.state_value = existing.state_value
        alarm.state_reason = existing.state_reason
        alarm.state_reason_data = existing.state_reason_data
        alarm.state_updated_timestamp = existing.state_updated_timestamp
        mark_transition(alarm, _transitioned(existing))
        alarm.history = existing.history
    elif existing is None and alarm.state_reason == INITIAL_REASON:
        alarm.state_value = "INSUFFICIENT_DATA"
        alarm.state_updated_timestamp = naive(now)
        mark_transition(alarm, alarm.state_updated_timestamp)


def describe_alarm_history(response: Any) -> Any:
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
            return epoch(value)
        return epoch(datetime.fromisoformat(str(value).replace("Z", "+00:00")))

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


def wrap_get_metric_statistics(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """moto response method wrapper: answer ``ExtendedStatistics`` (``p99``), which moto ignores."""

    def get_metric_statistics(response: Any) -> Any:
        result = original(response)
        extended = response._get_param("ExtendedStatistics") or []
        if extended:
            for point in result.result.get("Datapoints", []):
                stats = period_stats(point.metric_data)
                values = {name: stats.value(name) for name in extended}
                point.extended_statistics = {k: v for k, v in values.items() if v is not None}
        return result

    return get_metric_statistics


def _dimension_set(dimensions: Any) -> frozenset[tuple[str, str | None]]:
    return frozenset(
        (d["Name"], d.get("Value")) if isinstance(d, dict) else (d.name, d.value) for d in dimensions or ()
    )


def exact_dimensions(original: Callable[..., Any]) -> Callable[..., Any]:
    """moto backend method wrapper: ``GetMetricStatistics`` counts only the datums of the exact dimension set.

    CloudWatch treats each unique combination of dimensions as a separate metric; moto matches every datum
    whose dimensions include the query's (and every datum when the query names none). The datums moto picked
    are filtered to the query's set and put back into moto's own periods (which start at the first datum).
    """
    from moto.cloudwatch.models import Statistics, daterange

    def get_metric_statistics(
        namespace: str,
        metric_name: str,
        start_time: datetime,
        end_time: datetime,
        period: int,
        stats: list[str],
        dimensions: list[dict[str, str]],
        unit: str | None = None,
    ) -> list[Any]:
        found = original(namespace, metric_name, start_time, end_time, period, stats, dimensions, unit=unit)
        wanted = _dimension_set(dimensions)
        picked = [md for point in found for md in point.metric_data]
        kept = sorted((md for md in picked if _dimension_set(md.dimensions) == wanted), key=_stamp)
        if len(kept) == len(picked):
            return found  # type: ignore[no-any-return]
        points: list[Any] = []
        step = timedelta(seconds=period)
        at = 0
        for moment in daterange(kept[0].timestamp, kept[-1].timestamp + step, step) if kept else ():
            point = Statistics(stats, moment)
            while at < len(kept) and kept[at].timestamp < moment + step:
                point.metric_data.append(kept[at])
                point.unit = kept[at].unit
                at += 1
            if point.metric_data:
                points.append(point)
        return points

    return get_metric_statistics


def _stamp(datum: Any) -> datetime:
    return datum.timestamp  # type: ignore[no-any-return]


def cloudwatch_patches(
    backend: Any,
    index: MetricIndex,
    *,
    lock: AbstractContextManager[Any],
    now: Callable[[], float],
    adopted: Callable[[Any, float, Any], None],
    state_set: Callable[[Any, AlarmState3], object],
    deleted: Callable[[list[str]], None],
    wake: Callable[[], None],
    history: Callable[..., list[dict[str, Any]]],
    classes: bool = True,
) -> MotoPatches:
    """The (not yet installed) patches that make ``backend`` evaluate-ready and report to the scheduler.

    ``classes``: with the patches of moto's CloudWatch classes (they serve every region's backend, so only
    the scheduler of the cloud's own region installs them).

    Under ``lock``: ``adopted(alarm, now, existing)`` after ``PutMetricAlarm`` (then ``wake()``),
    ``state_set(alarm, old)`` after ``SetAlarmState`` changed the state value (stamped ``now()``),
    ``deleted(names)`` after ``DeleteAlarms``. ``history(**query)`` serves ``DescribeAlarmHistory``.
    """
    from moto.cloudwatch.models import Alarm
    from moto.cloudwatch.responses import CloudWatchResponse

    def wrap_put_metric_alarm(original: Callable[..., Any]) -> Callable[..., Any]:
        def put_metric_alarm(name: str, *args: Any, **kwargs: Any) -> Any:
            with lock:
                existing = backend.alarms.get(name)
                alarm = original(name, *args, **kwargs)
                adopted(alarm, now(), existing)
            wake()
            return alarm

        return put_metric_alarm

    def wrap_set_alarm_state(original: Callable[..., Any]) -> Callable[..., Any]:
        def set_alarm_state(alarm_name: str, reason: str, reason_data: str, state_value: str) -> None:
            with lock:
                alarm = backend.alarms.get(alarm_name)
                old = (
                    None
                    if alarm is None
                    else (alarm.state_value, alarm.state_reason, alarm.state_reason_data)
                )
                original(alarm_name, reason, reason_data, state_value)
                if alarm is None or old is None:
                    return
                alarm.state_updated_timestamp = naive(now())
                if old[0] != state_value:
                    mark_transition(alarm, alarm.state_updated_timestamp)
                    state_set(alarm, old)

        return set_alarm_state

    def wrap_delete_alarms(original: Callable[[list[str]], None]) -> Callable[[list[str]], None]:
        def delete_alarms(alarm_names: list[str]) -> None:
            with lock:
                original(alarm_names)
                deleted(alarm_names)

        return delete_alarms

    patches = MotoPatches()
    patches.replace(
        backend,
        "put_metric_alarm",
        wrap_put_metric_alarm,
        reason="start a new alarm INSUFFICIENT_DATA, keep an updated alarm's state, schedule it",
        expect=parameters("name"),
    )
    patches.replace(
        backend,
        "set_alarm_state",
        wrap_set_alarm_state,
        reason="stamp SetAlarmState in cloud time, record its history and run its actions",
        expect=parameters("alarm_name", "reason", "reason_data", "state_value"),
    )
    patches.replace(
        backend,
        "delete_alarms",
        wrap_delete_alarms,
        reason="unschedule deleted alarms",
        expect=parameters("alarm_names"),
    )
    index.patch(patches)
    patches.replace(
        backend,
        "get_metric_statistics",
        exact_dimensions,
        reason="match GetMetricStatistics' exact dimension set, as CloudWatch does (moto matches subsets)",
        expect=parameters(
            "namespace", "metric_name", "start_time", "end_time", "period", "stats", "dimensions", "unit"
        ),
    )
    patches.add(
        backend,
        "selfheal_alarm_history",
        history,
        reason="give DescribeAlarmHistory this scheduler's history",
    )
    if not classes:
        return patches
    patches.add(
        CloudWatchResponse,
        "describe_alarm_history",
        describe_alarm_history,
        reason="serve DescribeAlarmHistory (moto lacks it) from the scheduler's history",
    )
    patches.replace(
        CloudWatchResponse,
        "get_metric_statistics",
        wrap_get_metric_statistics,
        reason="answer ExtendedStatistics (percentiles) in GetMetricStatistics (moto ignores them)",
    )
    patches.add(
        CloudWatchResponse,
        "put_composite_alarm",
        put_composite_alarm,
        reason="serve PutCompositeAlarm (moto lacks it) as a moto alarm with a rule",
    )
    patches.add(
        Alarm,
        "alarm_rule",
        property(lambda alarm: alarm.rule),
        reason="render a composite alarm's AlarmRule in DescribeAlarms (moto keeps it as `rule`)",
    )
    patches.add(
        Alarm,
        "state_transitioned_timestamp",
        state_transitioned_timestamp,
        reason="render StateTransitionedTimestamp in DescribeAlarms (moto lacks it)",
    )
    return patches
