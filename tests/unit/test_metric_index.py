"""The metric index gives the same statistics as a scan of moto's list, and expires old datums."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from moto.cloudwatch.models import CloudWatchBackend, MetricAggregatedDatum, MetricDatum

from selfheal.cloud.alarm_datapoints import MetricSelector, period_datapoints
from selfheal.cloud.alarm_evaluation import Statistic
from selfheal.cloud.metric_index import MetricIndex

BOUNDARY = 1795463520.0  # a minute boundary
NAMESPACES = ("AWS/Lambda", "Custom")
NAMES = ("Errors", "Invocations")
DIMENSION_SETS: tuple[tuple[tuple[str, str], ...], ...] = (
    (),
    (("FunctionName", "a"),),
    (("FunctionName", "b"),),
    (("FunctionName", "a"), ("Resource", "a")),
)
UNITS = (None, "Count", "Seconds")
STATISTICS: tuple[Statistic, ...] = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")


class FakeBackend:
    """Just moto's stored list, plus a put that appends to it."""

    def __init__(self) -> None:
        self.metric_data: list[Any] = []

    def put_metric_data(self, datums: list[Any]) -> None:
        self.metric_data.extend(datums)


def _naive(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC).replace(tzinfo=None)


finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@st.composite
def datums(draw: st.DrawFn) -> Any:
    """One raw value or statistic set of a random metric, up to an hour around the boundary."""
    namespace = draw(st.sampled_from(NAMESPACES))
    name = draw(st.sampled_from(NAMES))
    dimensions = [{"Name": n, "Value": v} for n, v in draw(st.sampled_from(DIMENSION_SETS))]
    stamp = _naive(BOUNDARY + draw(st.integers(-3_600_000_000, 600_000_000)) / 1e6)
    unit = draw(st.sampled_from(UNITS))
    if draw(st.booleans()):
        return MetricDatum(namespace, name, draw(finite), dimensions, stamp, unit)
    low, high, total = sorted([draw(finite), draw(finite), draw(finite)])
    count = float(draw(st.integers(1, 50)))
    return MetricAggregatedDatum(namespace, name, low, high, count, total, dimensions, stamp, unit)


selectors = st.builds(
    MetricSelector,
    st.sampled_from(NAMESPACES),
    st.sampled_from(NAMES),
    st.sampled_from(DIMENSION_SETS).map(frozenset),
    st.sampled_from(UNITS),
)


def _scan(
    backend: FakeBackend, selector: MetricSelector, statistic: Statistic, period: int, periods: int
) -> Any:
    return period_datapoints(list(backend.metric_data), selector, statistic, period, BOUNDARY, periods)


def _indexed(
    index: MetricIndex, selector: MetricSelector, statistic: Statistic, period: int, periods: int
) -> Any:
    window = index.window(selector, BOUNDARY - period * periods, BOUNDARY)
    return period_datapoints(window, selector, statistic, period, BOUNDARY, periods)


@settings(max_examples=200, deadline=None)
@given(
    batches=st.lists(st.lists(datums(), max_size=30), max_size=6),
    selector=selectors,
    statistic=st.sampled_from(STATISTICS),
    period=st.sampled_from((10, 60, 300)),
    periods=st.integers(1, 12),
)
def test_indexed_reads_equal_a_full_scan(
    batches: list[list[Any]], selector: MetricSelector, statistic: Statistic, period: int, periods: int
) -> None:
    """After any sequence of puts, the indexed window gives exactly the datapoints of a full scan."""
    backend = FakeBackend()
    index = MetricIndex(backend)
    index.hook()
    for batch in batches:
        backend.put_metric_data(batch)
        assert _indexed(index, selector, statistic, period, periods) == _scan(
            backend, selector, statistic, period, periods
        )


@settings(max_examples=100, deadline=None)
@given(
    stored=st.lists(datums(), max_size=80),
    cutoff=st.integers(-3_600, 600),
    selector=selectors,
    statistic=st.sampled_from(STATISTICS),
    periods=st.integers(1, 12),
)
def test_expiry_drops_exactly_the_old_datums(
    stored: list[Any], cutoff: int, selector: MetricSelector, statistic: Statistic, periods: int
) -> None:
    """Expiry removes from moto's list just the datums before the cutoff, and reads still match a scan."""
    backend = FakeBackend()
    backend.metric_data.extend(stored)
    index = MetricIndex(backend)
    dropped = index.expire(BOUNDARY + cutoff)
    kept = [d for d in stored if d.timestamp >= _naive(BOUNDARY + cutoff)]
    assert backend.metric_data == kept
    assert dropped == len(stored) - len(kept)
    assert len(index) == len(kept)
    assert _indexed(index, selector, statistic, 60, periods) == _scan(
        backend, selector, statistic, 60, periods
    )


def test_a_replaced_list_is_read_again() -> None:
    """When moto's list is replaced (a reset backend), the index forgets the old datums."""
    backend = FakeBackend()
    index = MetricIndex(backend)
    backend.metric_data.append(MetricDatum("AWS/Lambda", "Errors", 1.0, [], _naive(BOUNDARY - 1)))
    selector = MetricSelector("AWS/Lambda", "Errors", frozenset())
    assert len(index.window(selector, BOUNDARY - 60, BOUNDARY)) == 1
    backend.metric_data = [MetricDatum("AWS/Lambda", "Errors", 2.0, [], _naive(BOUNDARY - 2))]
    assert [d.value for d in index.window(selector, BOUNDARY - 60, BOUNDARY)] == [2.0]


def test_hook_indexes_moto_puts_and_undo_restores_the_method() -> None:
    """A put through moto's backend is indexed at once; the undo leaves moto's own method."""
    backend = CloudWatchBackend("eu-south-2", "123456789012")
    index = MetricIndex(backend)
    undo = index.hook()
    backend.put_metric_data(
        "Custom",
        [{"MetricName": "Load", "Value": 3.0, "Timestamp": _naive(BOUNDARY - 5), "Unit": "Count"}],
    )
    assert index._read == 1
    selector = MetricSelector("Custom", "Load", frozenset(), "Count")
    assert [d.value for d in index.window(selector, BOUNDARY - 60, BOUNDARY)] == [3.0]
    undo()
    assert "put_metric_data" not in backend.__dict__


def test_window_keeps_arrival_order_so_sums_round_alike() -> None:
    """Datums stored out of time order are summed in arrival order, as a scan sums them (floats round)."""
    backend = FakeBackend()
    index = MetricIndex(backend)
    for value, seconds_before in ((1.0, 10), (1e16, 30), (-1e16, 20)):
        backend.metric_data.append(
            MetricDatum("AWS/Lambda", "Errors", value, [], _naive(BOUNDARY - seconds_before))
        )
    selector = MetricSelector("AWS/Lambda", "Errors", frozenset())
    assert _indexed(index, selector, "Sum", 60, 1) == _scan(backend, selector, "Sum", 60, 1)
    assert _indexed(index, selector, "Sum", 60, 1)[0].value == 0.0
