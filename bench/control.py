"""Control plane: CPU and latency of AWS API calls through the local cloud, with selfheal's dispatcher
(``selfheal.cloud.moto_dispatch``, the backend of each host remembered) and with moto's own, side by side.

Both clouds run in this process, one after the other, interleaved ``repeats`` times; the client (boto3)
is the same in both, so the difference of CPU per call is what the dispatcher saves the cloud. The calls
are the healer's and the dashboard's usual reads: Lambda ``GetFunctionConfiguration``, CloudWatch
``DescribeAlarms``, SSM ``GetParameter`` and DynamoDB ``GetItem``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from bench.common import machine, print_table, save_json

__all__ = ["QUICK", "run"]

QUICK = {"calls": 100, "repeats": 1}


@contextmanager
def _cloud(cached: bool) -> Iterator[Any]:
    from unittest import mock

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from selfheal.cloud import LocalCloud, gateway

    plain = lambda: DomainDispatcherApplication(create_backend_app)  # noqa: E731
    with (
        mock.patch.object(gateway, "_moto_application", gateway._moto_application if cached else plain),
        LocalCloud(port=0) as cloud,
    ):
        yield cloud


def _calls(cloud: Any) -> dict[str, Callable[[], Any]]:
    """One client per service, a resource to read for each, and the read."""
    from selfheal.cloud.testing import LAMBDA_TRUST_POLICY, package_zip

    iam, lam = cloud.client("iam"), cloud.client("lambda")
    cloudwatch, ssm, dynamodb = cloud.client("cloudwatch"), cloud.client("ssm"), cloud.client("dynamodb")
    role = iam.create_role(RoleName="bench-role", AssumeRolePolicyDocument=LAMBDA_TRUST_POLICY)["Role"]["Arn"]
    lam.create_function(
        FunctionName="bench-fn",
        Role=role,
        Runtime="python3.12",
        Handler="fragile_service.app.handler",
        Code={"ZipFile": package_zip("fragile_service")},
    )
    cloudwatch.put_metric_alarm(
        AlarmName="bench-alarm", Namespace="AWS/Lambda", MetricName="Errors", Statistic="Sum", Period=60,
        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
    )  # fmt: skip
    ssm.put_parameter(Name="/bench/registry", Value="{}", Type="String")
    dynamodb.create_table(
        TableName="bench-ledger", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )  # fmt: skip
    dynamodb.put_item(TableName="bench-ledger", Item={"id": {"S": "case"}})
    return {
        "lambda GetFunctionConfiguration": lambda: lam.get_function_configuration(FunctionName="bench-fn"),
        "cloudwatch DescribeAlarms": lambda: cloudwatch.describe_alarms(AlarmNames=["bench-alarm"]),
        "ssm GetParameter": lambda: ssm.get_parameter(Name="/bench/registry"),
        "dynamodb GetItem": lambda: dynamodb.get_item(TableName="bench-ledger", Key={"id": {"S": "case"}}),
    }


def _measure(cached: bool, calls: int) -> dict[str, dict[str, float]]:
    """Per call: process CPU ms and median latency ms, after a warm-up."""
    results: dict[str, dict[str, float]] = {}
    with _cloud(cached) as cloud:
        for name, call in _calls(cloud).items():
            for _ in range(10):
                call()
            latencies: list[float] = []
            cpu = time.process_time()
            for _ in range(calls):
                started = time.perf_counter()
                call()
                latencies.append(time.perf_counter() - started)
            results[name] = {
                "cpu_ms": (time.process_time() - cpu) / calls * 1000.0,
                "p50_ms": statistics.median(latencies) * 1000.0,
            }
    return results


def run(calls: int = 400, repeats: int = 3) -> dict[str, Any]:
    """Measure both dispatchers ``repeats`` times, interleaved; print the medians and their ratio."""
    where = machine()
    runs: dict[str, list[dict[str, dict[str, float]]]] = {"selfheal": [], "moto": []}
    for _ in range(repeats):
        runs["selfheal"].append(_measure(True, calls))
        runs["moto"].append(_measure(False, calls))
    names = list(runs["selfheal"][0])

    def median(kind: str, name: str, figure: str) -> float:
        return statistics.median(r[name][figure] for r in runs[kind])

    rows = []
    for name in names:
        ours, theirs = median("selfheal", name, "cpu_ms"), median("moto", name, "cpu_ms")
        latency = [median(kind, name, "p50_ms") for kind in ("selfheal", "moto")]
        rows.append([name, ours, theirs, ours / theirs, *latency])
    print_table(
        f"Control-plane calls through the local cloud, median of {repeats} x {calls} calls "
        f"(load avg {where['loadavg_1m']} on {where['cpus']} cpus)",
        ["call", "CPU ms/call selfheal", "moto dispatch", "ratio", "p50 ms selfheal", "moto dispatch"],
        rows,
    )
    results = {"machine": where, "calls": calls, "runs": runs}
    save_json("control", results)
    return results
