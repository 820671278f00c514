"""Per-period statistics of one metric, read from moto's CloudWatch datums, aligned to period boundaries.

An alarm watches exactly one metric: namespace, name and the *exact* set of dimensions (and the unit, when
the alarm names one). Raw values (``MetricDatum``) and statistic sets (``MetricAggregatedDatum``) both count.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .alarm_evaluation import Datapoint, Statistic

__all__ = ["MetricSelector", "PeriodStats", "period_datapoints"]


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

    def add_value(self, value: float) -> None:
        """Add one raw value."""
        self.add_set(1.0, value, value, value)

    def add_set(self, count: float, total: float, minimum: float, maximum: float) -> None:
        """Add a statistic set."""
        self.seen = True
        self.sample_count += count
        self.total += total
        self.minimum = min(self.minimum, minimum)
        self.maximum = max(self.maximum, maximum)

    def value(self, statistic: Statistic) -> float | None:
        """The period's value of ``statistic`` (None when nothing was recorded)."""
        if not self.seen:
            return None
        if statistic == "Sum":
            return self.total
        if statistic == "SampleCount":
            return self.sample_count
        if statistic == "Minimum":
            return self.minimum
        if statistic == "Maximum":
            return self.maximum
        return self.total / self.sample_count if self.sample_count else None


def period_datapoints(
    datums: Iterable[Any],
    selector: MetricSelector,
    statistic: Statistic,
    period: int,
    boundary: float,
    periods: int,
) -> Sequence[Datapoint]:
    """One datapoint per period of the ``periods`` ending at ``boundary``, oldest first (None when empty)."""
    start = boundary - period * periods
    buckets = [PeriodStats() for _ in range(periods)]
    for datum in datums:
        if not selector.matches(datum):
            continue
        stamp = _epoch(datum.timestamp)
        if not start <= stamp < boundary:
            continue
        bucket = buckets[min(periods - 1, int((stamp - start) // period))]
        if hasattr(datum, "sample_count"):
            bucket.add_set(float(datum.sample_count), float(datum.sum), float(datum.min), float(datum.max))
        else:
            bucket.add_value(float(datum.value))
    return [
        Datapoint(start + i * period, b.value(statistic), b.sample_count if b.seen else None)
        for i, b in enumerate(buckets)
    ]
