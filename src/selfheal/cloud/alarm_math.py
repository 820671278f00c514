"""What the scheduler evaluates for one moto metric alarm: its rule and how to read its per-period values.

:func:`alarm_plan` reads a moto alarm — a single-metric alarm with a ``Statistic`` or an
``ExtendedStatistic`` (``p99``), or a metric-math alarm (``Metrics``: ``MetricStat`` queries and
``Expression`` queries, one of them with ``ReturnData``) — into an :class:`AlarmPlan`: the
:class:`~selfheal.cloud.alarm_evaluation.AlarmRule` (M of N, missing data, threshold) and
:meth:`AlarmPlan.datapoints`, which computes the evaluation range's values from the datum index: each
metric's statistic per period, then the expressions (:mod:`.metric_math`) period by period, in dependency
order, the returned query's series being the alarm's. Composite alarms have no plan (None). Anything the
local cloud cannot evaluate raises :class:`~selfheal.cloud.metric_math.UnsupportedExpression` (a
``ValueError``) naming it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from .alarm_datapoints import MetricSelector, period_datapoints
from .alarm_evaluation import AlarmRule, Datapoint, Statistic, TreatMissingData, percentile
from .metric_math import Node, UnsupportedExpression, evaluate_series, parse, references

__all__ = ["AlarmPlan", "MetricQuery", "Window", "alarm_period", "alarm_plan", "query_period"]

#: The datum index's window: a selector's datums stamped in [start, end).
Window = Callable[[MetricSelector, float, float], list[Any]]

_STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")


@dataclass(frozen=True)
class MetricQuery:
    """One metric of an alarm: which datums, which statistic (``Sum``, ``p99``, …)."""

    id: str
    selector: MetricSelector
    statistic: str


@dataclass(frozen=True)
class AlarmPlan:
    """A metric alarm's rule and queries; ``returned`` is the id whose series the rule judges."""

    rule: AlarmRule
    metrics: tuple[MetricQuery, ...]
    expressions: tuple[tuple[str, Node], ...] = ()
    returned: str = "m1"

    def datapoints(self, window: Window, end: float, periods: int) -> list[Datapoint]:
        """The ``periods`` periods ending at ``end`` (oldest first), ``None`` values where there is none."""
        period = self.rule.period
        start = end - period * periods
        series: dict[str, Sequence[float | None]] = {}
        counts: dict[str, list[float | None]] = {}
        for query in self.metrics:
            points = period_datapoints(
                window(query.selector, start, end), query.selector, query.statistic, period, end, periods
            )
            series[query.id] = [p.value for p in points]
            counts[query.id] = [p.sample_count for p in points]
        for name, node in self.expressions:
            series[name] = evaluate_series(node, series, periods)
        values = series[self.returned]
        samples = counts.get(self.returned, [None] * periods)
        return [Datapoint(start + i * period, values[i], samples[i]) for i in range(periods)]


def _truthy(value: Any) -> bool | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def _statistic(stat: str | None, where: str) -> str:
    if stat in _STATISTICS or (stat is not None and percentile(stat) is not None):
        return stat
    raise UnsupportedExpression(f"statistic {stat!r} of {where} is not supported in the local cloud")


def query_period(alarm: Any) -> int | None:
    """The period of a metric-math alarm's metrics (they must agree); None when it has none."""
    periods = {int(q.metric_stat.period) for q in alarm.metric_data_queries if q.metric_stat is not None}
    periods |= {int(q.period) for q in alarm.metric_data_queries if q.metric_stat is None and q.period}
    if len(periods) > 1:
        raise UnsupportedExpression(
            f"the alarm's queries have different periods ({', '.join(map(str, sorted(periods)))}); "
            "the local cloud evaluates one period"
        )
    return periods.pop() if periods else None


def alarm_period(alarm: Any) -> int | None:
    """The period at whose boundaries ``alarm`` is evaluated (None for a composite alarm)."""
    if alarm.rule is not None:
        return None
    if alarm.metric_data_queries:
        try:
            return query_period(alarm) or 60
        except ValueError:
            return 60
    return int(alarm.period) if alarm.period else None


def _rule(alarm: Any, period: int, statistic: str, *, extended: str | None, math: bool) -> AlarmRule:
    return AlarmRule(
        comparison_operator=alarm.comparison_operator,
        threshold=float(alarm.threshold),
        period=period,
        evaluation_periods=int(alarm.evaluation_periods),
        datapoints_to_alarm=None if alarm.datapoints_to_alarm is None else int(alarm.datapoints_to_alarm),
        treat_missing_data=cast(TreatMissingData, alarm.treat_missing_data or "missing"),
        statistic=cast(Statistic, statistic if statistic in _STATISTICS else "Sum"),
        extended_statistic=extended,
        metric_math=math,
    )


def _selector(namespace: str, name: str, dimensions: Any, unit: str | None) -> MetricSelector:
    return MetricSelector(namespace, name, frozenset((d.name, d.value) for d in dimensions), unit)


def alarm_plan(alarm: Any) -> AlarmPlan | None:
    """The plan of a moto metric alarm; None for a composite alarm; ValueError naming what is unsupported."""
    if alarm.rule is not None:
        return None
    if alarm.threshold_metric_id:
        raise UnsupportedExpression(
            "ThresholdMetricId (anomaly detection bands) is not supported in the local cloud"
        )
    if not alarm.metric_data_queries:
        statistic = alarm.extended_statistic or alarm.statistic
        if not alarm.metric_name or not statistic:
            raise UnsupportedExpression("the alarm names no metric and no statistic")
        statistic = _statistic(statistic, "the alarm")
        rule = _rule(
            alarm, int(alarm.period), statistic, extended=alarm.extended_statistic or None, math=False
        )
        selector = _selector(alarm.namespace, alarm.metric_name, alarm.dimensions, alarm.unit)
        return AlarmPlan(rule, (MetricQuery("m1", selector, statistic),))
    return _math_plan(alarm)


def _math_plan(alarm: Any) -> AlarmPlan:
    metrics: list[MetricQuery] = []
    parsed: dict[str, Node] = {}
    explicit: list[str] = []
    defaulted: list[str] = []
    for query in alarm.metric_data_queries:
        if not query.id:
            raise UnsupportedExpression("a query of the alarm has no Id")
        if query.id in parsed or any(m.id == query.id for m in metrics):
            raise UnsupportedExpression(f"two queries of the alarm have the Id {query.id!r}")
        returns = _truthy(query.return_data)
        if returns:
            explicit.append(query.id)
        elif returns is None:
            defaulted.append(query.id)
        if query.metric_stat is not None:
            stat = query.metric_stat
            metric = stat.metric
            metrics.append(
                MetricQuery(
                    query.id,
                    _selector(metric.namespace, metric.metric_name, metric.dimensions, stat.unit),
                    _statistic(stat.stat, f"query {query.id!r}"),
                )
            )
        elif query.expression:
            try:
                parsed[query.id] = parse(query.expression)
            except UnsupportedExpression as exc:
                raise UnsupportedExpression(f"expression {query.expression!r} ({query.id}): {exc}") from None
        else:
            raise UnsupportedExpression(f"query {query.id!r} has neither a MetricStat nor an Expression")
    returning = explicit or defaulted
    if len(returning) != 1:
        raise UnsupportedExpression(
            f"exactly one query must have ReturnData true, got {len(returning)} ({', '.join(returning)})"
        )
    period = query_period(alarm)
    if period is None:
        raise UnsupportedExpression("the alarm's queries name no period")
    statistic = metrics[0].statistic if len(metrics) == 1 and not parsed else "Sum"
    extended = statistic if percentile(statistic) is not None else None
    rule = _rule(alarm, period, statistic, extended=extended, math=bool(parsed))
    return AlarmPlan(rule, tuple(metrics), _ordered(parsed, {m.id for m in metrics}), returning[0])


def _ordered(expressions: dict[str, Node], metric_ids: set[str]) -> tuple[tuple[str, Node], ...]:
    """Expressions in an order where each comes after the expressions it reads; refuses cycles."""
    done: list[tuple[str, Node]] = []
    known = set(metric_ids)
    pending = dict(expressions)
    while pending:
        ready = [name for name, node in pending.items() if references(node) <= known]
        if not ready:
            missing = sorted(set().union(*(references(n) for n in pending.values())) - known - set(pending))
            if missing:
                raise UnsupportedExpression(
                    f"the expressions refer to {', '.join(missing)}, no query of the alarm"
                )
            raise UnsupportedExpression(
                f"the expressions {', '.join(sorted(pending))} refer to each other in a cycle"
            )
        for name in ready:
            done.append((name, pending.pop(name)))
            known.add(name)
    return tuple(done)
