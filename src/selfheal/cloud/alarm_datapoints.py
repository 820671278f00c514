"""Per-period statistics of one metric, read from moto's CloudWatch datums, aligned to period boundaries.

An alarm watches exactly one metric: namespace, name and the *exact* set of dimensions (and the unit, when
the alarm names one). Raw values (``MetricDatum``) and statistic sets (``MetricAggregatedDatum``) both count.

Percentiles (``p99``, ``p99.9``) need the values themselves: a raw value counts; a statistic set counts when
it carries the values it summarises (:data:`VALUES_ATTRIBUTE`, a tuple of (value, count) pairs the Lambda
metrics publisher attaches) or, as CloudWatch documents, when its SampleCount is 1 or its Minimum equals its
Maximum. A period holding any other statistic set has no percentile. The percentile is the nearest-rank one:
the smallest value with at least p % of the period's samples at or below it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .alarm_evaluation import Datapoint, percentile

__all__ = [
    "VALUES_ATTRIBUTE",
    "MetricSelector",
    "PeriodStats",
    "datum_values",
    "period_datapoints",
    "period_stats",
]

#: The attribute of a moto statistic-set datum holding the (value, count) pairs it summarises.
VALUES_ATTRIBUTE = "selfheal_values"


def _epoch(moment: datetime) -> float:
    # moto stores naive UTC datetimes.
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


@dataclass(frozen=True)
class MetricSelector:
    """Which datums belong to the alarm's metric."""

    namespace: str
    metric_name: str
    dimensions: frozenset[tuple[str, str]]
    unit: str | None = None

    def matches(self, datum: Any) -> bool:
        """Whether a moto datum is of this metric."""
        if datum.namespace != self.namespace or datum.name != self.metric_name:
            return False
        if self.unit is not None and datum.unit != self.unit:
            return False
        return frozenset((d.name, d.value) for d in datum.dimensions) == self.dimensions


@dataclass
class PeriodStats:
    """Running statistics of one period."""

    sample_count: float = 0.0
    total: float = 0.0
    minimum: float = math.inf
    maximum: float = -math.inf
    seen: bool = field(default=False)
    values: list[tuple[float, float]] = field(default_factory=list)
    exact: bool = True  # every sample's value is known (in ``values``), so percentiles can be computed

    def add_value(self, value: float) -> None:
        """Add one raw value."""
        self.add_set(1.0, value, value, value)
        self.values.append((value, 1.0))

    def add_values(self, pairs: Sequence[tuple[float, float]] | None) -> None:
        """Note the values behind the last statistic set added (None: they are unknown)."""
        if pairs is None:
            self.exact = False
        else:
            self.values.extend(pairs)

    def percentile(self, p: float) -> float | None:
        """The nearest-rank ``p``-th percentile of the period's samples (None when unknown or empty)."""
        if not self.seen or not self.exact or not self.values:
            return None
        ordered = sorted(self.values)
        total = sum(count for _, count in ordered)
        if total <= 0:
            return None
        rank = max(1.0, math.ceil(p / 100.0 * total - 1e-9))
        running = 0.0
        for value, count in ordered:
            running += count
            if running >= rank:
                return value
        return ordered[-1][0]

    def add_set(self, count: float, total: float, minimum: float, maximum: float) -> None:
        """Add a statistic set."""
        self.seen = True
        self.sample_count += count
        self.total += total
        self.minimum = min(self.minimum, minimum)
        self.maximum = max(self.maximum, maximum)

    def value(self, statistic: str) -> float | None:
        """The period's value of ``statistic`` or ``pNN`` (None when nothing was recorded)."""
        if not self.seen:
            return None
        p = percentile(statistic)
        if p is not None:
            return self.percentile(p)
        if statistic == "Sum":
            return self.total
        if statistic == "SampleCount":
            return self.sample_count
        if statistic == "Minimum":
            return self.minimum
        if statistic == "Maximum":
            return self.maximum
        return self.total / self.sample_count if self.sample_count else None


def datum_values(datum: Any) -> Sequence[tuple[float, float]] | None:
    """The (value, count) pairs a statistic-set datum summarises, when known."""
    pairs: Sequence[tuple[float, float]] | None = getattr(datum, VALUES_ATTRIBUTE, None)
    if pairs is not None:
        return pairs
    count, low, high = float(datum.sample_count), float(datum.min), float(datum.max)
    if count == 1 or low == high:
        return [(low, count)]
    return None


def _add(bucket: PeriodStats, datum: Any, wants_values: bool) -> None:
    if hasattr(datum, "sample_count"):
        bucket.add_set(float(datum.sample_count), float(datum.sum), float(datum.min), float(datum.max))
        if wants_values:
            bucket.add_values(datum_values(datum))
    else:
        bucket.add_value(float(datum.value))


def period_stats(datums: Iterable[Any]) -> PeriodStats:
    """The statistics (percentiles included) of one period's moto datums."""
    bucket = PeriodStats()
    for datum in datums:
        _add(bucket, datum, True)
    return bucket


def period_datapoints(
    datums: Iterable[Any],
    selector: MetricSelector,
    statistic: str,
    period: int,
    boundary: float,
    periods: int,
) -> Sequence[Datapoint]:
    """One datapoint per period of the ``periods`` ending at ``boundary``, oldest first (None when empty)."""
    start = boundary - period * periods
    wants_values = percentile(statistic) is not None
    buckets = [PeriodStats() for _ in range(periods)]
    for datum in datums:
        if not selector.matches(datum):
            continue
        stamp = _epoch(datum.timestamp)
        if not start <= stamp < boundary:
            continue
        _add(buckets[min(periods - 1, int((stamp - start) // period))], datum, wants_values)
    return [
        Datapoint(start + i * period, b.value(statistic), b.sample_count if b.seen else None)
        for i, b in enumerate(buckets)
    ]
