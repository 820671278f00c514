"""GetMetricStatistics matches the exact dimension set, as CloudWatch does, never a subset of it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from selfheal.cloud import LocalCloud

NAMESPACE = "AWS/Lambda"


@pytest.fixture(scope="module")
def cloudwatch() -> Iterator[Any]:
    """A CloudWatch client of a running LocalCloud, with Errors of one function under three dimension sets."""
    with LocalCloud(port=0) as cloud:
        client = cloud.client("cloudwatch")
        stamp = datetime.fromtimestamp(cloud.clock.now(), UTC).replace(second=0, microsecond=0)
        function = [{"Name": "FunctionName", "Value": "orders"}]
        alias = [*function, {"Name": "Resource", "Value": "orders:live"}]
        published = ((function, 2.0), (alias, 5.0), ([], 11.0), (list(reversed(alias)), 7.0))
        for dimensions, value in published:
            client.put_metric_data(
                Namespace=NAMESPACE,
                MetricData=[
                    {"MetricName": "Errors", "Dimensions": dimensions, "Value": value, "Timestamp": stamp}
                ],
            )
        client.selfheal_stamp = stamp
        yield client


def _sum(client: Any, dimensions: list[dict[str, str]]) -> list[float]:
    stamp = client.selfheal_stamp
    response = client.get_metric_statistics(
        Namespace=NAMESPACE,
        MetricName="Errors",
        Dimensions=dimensions,
        StartTime=stamp - timedelta(minutes=5),
        EndTime=stamp + timedelta(minutes=5),
        Period=60,
        Statistics=["Sum", "SampleCount"],
    )
    return [point["Sum"] for point in response["Datapoints"]]


def test_a_query_by_function_name_counts_only_datums_published_with_exactly_that(cloudwatch: Any) -> None:
    """FunctionName alone does not also sum the FunctionName+Resource (alias) datums."""
    assert _sum(cloudwatch, [{"Name": "FunctionName", "Value": "orders"}]) == [2.0]


def test_a_query_by_both_dimensions_counts_them_in_any_order(cloudwatch: Any) -> None:
    """The dimension set is a set: the alias datums published in either order are one metric."""
    alias = [{"Name": "Resource", "Value": "orders:live"}, {"Name": "FunctionName", "Value": "orders"}]
    assert _sum(cloudwatch, alias) == [12.0]


def test_a_query_without_dimensions_reads_only_the_metric_without_dimensions(cloudwatch: Any) -> None:
    """No dimensions is a metric of its own, not every metric of that name."""
    assert _sum(cloudwatch, []) == [11.0]


def test_a_dimension_set_nobody_published_has_no_datapoints(cloudwatch: Any) -> None:
    """A query naming a dimension value nothing was published with finds nothing."""
    assert _sum(cloudwatch, [{"Name": "FunctionName", "Value": "payments"}]) == []
