"""Weighted aliases, version and alias metrics, and SNS/EventBridge delivery to a version or an alias.

An alias with ``RoutingConfig.AdditionalVersionWeights`` sends that share of its invocations to the
additional version (the cloud's ``lambdas.draw`` is the random source, fixed here); ``ExecutedVersion`` says
which ran; metrics of an invocation through a version or an alias carry AWS's ``Resource`` and
``ExecutedVersion`` dimension sets; an SNS subscription or an EventBridge target naming an alias ARN
invokes that alias, routing included.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from polling import receive_messages
from selfheal.cloud import LocalCloud

AwsFactory = Callable[..., Any]
FunctionFactory = Callable[..., str]
Draws = Callable[[list[float]], None]
WAIT = 20.0

SOURCE = """
import json
import os

import boto3


def handler(event, context):
    body = {"version": context.function_version, "release": os.environ["RELEASE"]}
    if "Records" in event or "detail" in event:
        boto3.client("sqs").send_message(QueueUrl=os.environ["OUT_QUEUE"], MessageBody=json.dumps(body))
    return body
"""


@pytest.fixture
def draws(cloud: LocalCloud) -> Iterator[Draws]:
    """Make alias routing draw the given values, in a cycle; random again afterwards."""

    def use(values: list[float]) -> None:
        cycle = itertools.cycle(values)
        cloud.lambdas.draw = lambda: next(cycle)

    yield use
    cloud.lambdas.draw = random.random


@pytest.fixture(scope="module")
def out_queue(aws: AwsFactory) -> str:
    """The queue the function copies what it ran into, when an event (SNS, EventBridge) invoked it."""
    return str(aws("sqs").create_queue(QueueName="alias-routing-out")["QueueUrl"])


def release(aws: AwsFactory, make_function: FunctionFactory, name: str, out_queue: str) -> str:
    """``name``: version 1 (RELEASE a), version 2 (RELEASE b), ``$LATEST`` RELEASE c; alias ``canary`` → 1
    with 10 % to 2, alias ``stable`` → 1."""
    lam = aws("lambda")
    make_function(name, SOURCE, variables={"RELEASE": "a", "OUT_QUEUE": out_queue}, timeout=10)
    for letter, version in (("a", "1"), ("b", "2")):
        variables = {"RELEASE": letter, "OUT_QUEUE": out_queue}
        lam.update_function_configuration(FunctionName=name, Environment={"Variables": variables})
        assert lam.publish_version(FunctionName=name)["Version"] == version
    variables = {"RELEASE": "c", "OUT_QUEUE": out_queue}
    lam.update_function_configuration(FunctionName=name, Environment={"Variables": variables})
    lam.create_alias(
        FunctionName=name,
        Name="canary",
        FunctionVersion="1",
        RoutingConfig={"AdditionalVersionWeights": {"2": 0.1}},
    )
    lam.create_alias(FunctionName=name, Name="stable", FunctionVersion="1")
    return name


@pytest.fixture(scope="module")
def routed(aws: AwsFactory, make_function: FunctionFactory, out_queue: str) -> str:
    """The function of the routing and delivery tests."""
    return release(aws, make_function, "routed", out_queue)


def run(aws: AwsFactory, **kwargs: Any) -> tuple[str, dict[str, Any]]:
    response = aws("lambda").invoke(Payload=b"{}", **kwargs)
    assert "FunctionError" not in response
    return str(response["ExecutedVersion"]), json.loads(response["Payload"].read())


def received(aws: AwsFactory, url: str, count: int) -> list[dict[str, Any]]:
    """``count`` message bodies of ``url`` (fewer if they never come within WAIT)."""
    return [json.loads(m["Body"]) for m in receive_messages(aws("sqs"), url, count, WAIT)]


def test_weighted_alias_runs_the_version_each_draw_picks(aws: AwsFactory, routed: str, draws: Draws) -> None:
    """With weight 0.1 on version 2, a draw below 0.1 runs version 2 and any other runs version 1."""
    draws([0.05, 0.5, 0.95, 0.0999, 0.1])
    ran = [run(aws, FunctionName=routed, Qualifier="canary") for _ in range(5)]
    assert [executed for executed, _ in ran] == ["2", "1", "1", "2", "1"]
    assert [body["release"] for _, body in ran] == ["b", "a", "a", "b", "a"]
    assert all(body["version"] == executed for executed, body in ran)


def test_alias_without_weights_never_draws(aws: AwsFactory, routed: str, draws: Draws) -> None:
    """An alias without RoutingConfig runs its version, and so does a weighted alias named by ARN."""
    draws([0.0])
    assert run(aws, FunctionName=routed, Qualifier="stable")[0] == "1"
    arn = aws("lambda").get_alias(FunctionName=routed, Name="canary")["AliasArn"]
    assert run(aws, FunctionName=arn)[0] == "2"


def test_two_versions_in_turn_stay_warm(
    cloud: LocalCloud, aws: AwsFactory, routed: str, draws: Draws
) -> None:
    """Versions run in turn (a weighted alias, or each by number) reuse their own environments instead of
    cold-starting every time."""
    draws([0.0, 0.5])
    for qualifier in ("1", "2"):
        run(aws, FunctionName=routed, Qualifier=qualifier)
    before = cloud.lambdas.cold_starts
    for qualifier in ("1", "2", "1", "2", "canary", "canary", "canary", "canary"):
        run(aws, FunctionName=routed, Qualifier=qualifier)
    assert cloud.lambdas.cold_starts == before


def _sum(aws: AwsFactory, cloud: LocalCloud, metric: str, **dimensions: str) -> float:
    now = cloud.clock.now()
    points = aws("cloudwatch").get_metric_statistics(
        Namespace="AWS/Lambda",
        MetricName=metric,
        Dimensions=[{"Name": name, "Value": value} for name, value in dimensions.items()],
        StartTime=now - 3600,
        EndTime=now + 60,
        Period=3600,
        Statistics=["Sum", "SampleCount"],
    )["Datapoints"]
    return float(sum(point["Sum"] if metric != "Duration" else point["SampleCount"] for point in points))


def test_metrics_carry_resource_and_executed_version(
    cloud: LocalCloud, aws: AwsFactory, make_function: FunctionFactory, out_queue: str, draws: Draws
) -> None:
    """Through an alias: FunctionName, FunctionName+Resource, FunctionName+Resource+ExecutedVersion; through
    a version: FunctionName, FunctionName+Resource; unqualified: FunctionName only."""
    name = release(aws, make_function, "metered", out_queue)
    draws([0.05, 0.5, 0.7])  # 2, 1, 1
    for _ in range(3):
        run(aws, FunctionName=name, Qualifier="canary")
    for _ in range(2):
        run(aws, FunctionName=name, Qualifier="2")
    run(aws, FunctionName=name)
    cloud.metrics.flush()

    listed = aws("cloudwatch").list_metrics(
        Namespace="AWS/Lambda",
        MetricName="Invocations",
        Dimensions=[{"Name": "FunctionName", "Value": name}],
    )["Metrics"]
    sets = {tuple(sorted((d["Name"], d["Value"]) for d in metric["Dimensions"])) for metric in listed}
    assert sets == {
        (("FunctionName", name),),
        (("FunctionName", name), ("Resource", f"{name}:canary")),
        (("ExecutedVersion", "1"), ("FunctionName", name), ("Resource", f"{name}:canary")),
        (("ExecutedVersion", "2"), ("FunctionName", name), ("Resource", f"{name}:canary")),
        (("FunctionName", name), ("Resource", f"{name}:2")),
    }
    canary = {"FunctionName": name, "Resource": f"{name}:canary"}
    for metric in ("Invocations", "Duration"):
        assert _sum(aws, cloud, metric, **canary, ExecutedVersion="2") == 1
        assert _sum(aws, cloud, metric, **canary, ExecutedVersion="1") == 2
        assert _sum(aws, cloud, metric, FunctionName=name, Resource=f"{name}:2") == 2
    assert _sum(aws, cloud, "Errors", **canary, ExecutedVersion="2") == 0


def test_sns_subscription_to_an_alias_routes_it(
    aws: AwsFactory, routed: str, out_queue: str, draws: Draws
) -> None:
    """An SNS subscription naming the weighted alias's ARN is an invoke of the alias, routing included;
    one naming a version ARN runs that version."""
    draws([0.0])  # always the additional version, 2
    sns = aws("sns")
    topic = sns.create_topic(Name="alias-routing")["TopicArn"]
    arn = aws("lambda").get_function(FunctionName=routed)["Configuration"]["FunctionArn"]
    for qualifier in ("canary", "1"):
        sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=f"{arn}:{qualifier}")
    sns.publish(TopicArn=topic, Message="hello")
    bodies = received(aws, out_queue, 2)
    assert sorted((body["version"], body["release"]) for body in bodies) == [("1", "a"), ("2", "b")]


def test_eventbridge_target_alias_routes_it(
    aws: AwsFactory, routed: str, out_queue: str, draws: Draws
) -> None:
    """An EventBridge target naming the weighted alias's ARN is an invoke of the alias, routing included."""
    draws([0.0])
    events = aws("events")
    events.put_rule(Name="alias-routing", EventPattern=json.dumps({"source": ["alias.routing"]}))
    target = aws("lambda").get_alias(FunctionName=routed, Name="canary")["AliasArn"]
    events.put_targets(Rule="alias-routing", Targets=[{"Id": "canary", "Arn": target}])
    events.put_events(Entries=[{"Source": "alias.routing", "DetailType": "x", "Detail": '{"n": 1}'}])
    assert [(body["version"], body["release"]) for body in received(aws, out_queue, 1)] == [("2", "b")]
