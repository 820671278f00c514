"""The alarm scheduler and SNS delivery on moto's backends, with a frozen clock and no server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from moto.cloudwatch.models import cloudwatch_backends
from moto.cloudwatch.responses import CloudWatchResponse
from moto.sns.models import Subscription, sns_backends

from selfheal.clock import Clock
from selfheal.cloud.alarm_scheduler import AlarmScheduler
from selfheal.cloud.sns_delivery import SnsDelivery

ACCOUNT = "123456789012"
REGION = "eu-west-3"  # a region no other test uses, so moto's shared state stays apart
# Cloud time runs from a fixed origin, far from real time, so the scheduler thread never fires by itself.
ORIGIN = 3_999_999_960.0  # a minute boundary
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:healer"


@dataclass
class FakeLambdas:
    """Records async invokes instead of running code."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def invoke_async(self, function: str, payload: bytes) -> str:
        self.calls.append((function, json.loads(payload)))
        return f"request-{len(self.calls)}"


class FakeCloud:
    """Just what the components use of the ``Cloud`` protocol (selfheal.cloud.protocol)."""

    account_id = ACCOUNT
    region = REGION

    def __init__(self) -> None:
        self.clock = Clock(1.0, origin=ORIGIN, real_time=lambda: ORIGIN)
        self.lambdas = FakeLambdas()
        self.scheduler = AlarmScheduler()
        self.delivery = SnsDelivery()
        self.components = [self.delivery, self.scheduler]

    def backend(self, service: str) -> Any:
        backends: Any = cloudwatch_backends if service == "cloudwatch" else sns_backends
        return backends[ACCOUNT][REGION]


@pytest.fixture
def cloud() -> Iterator[FakeCloud]:
    """Both components started on clean backends of the test region, stopped afterwards."""
    cloudwatch_backends[ACCOUNT][REGION].reset()
    sns_backends[ACCOUNT][REGION].reset()
    fake = FakeCloud()
    fake.delivery.start(fake)  # type: ignore[arg-type]
    fake.scheduler.start(fake)  # type: ignore[arg-type]
    try:
        yield fake
    finally:
        fake.scheduler.stop()
        fake.delivery.stop()
        cloudwatch_backends[ACCOUNT][REGION].reset()
        sns_backends[ACCOUNT][REGION].reset()


def _alarm(cloud: FakeCloud, topic: str) -> None:
    cloud.backend("cloudwatch").put_metric_alarm(
        name="errors",
        namespace="AWS/Lambda",
        metric_name="Errors",
        comparison_operator="GreaterThanOrEqualToThreshold",
        evaluation_periods=2,
        datapoints_to_alarm=2,
        period=60,
        threshold=3.0,
        statistic="Sum",
        description="d",
        dimensions=[{"Name": "FunctionName", "Value": "fragile"}],
        alarm_actions=[topic],
        ok_actions=[topic],
        treat_missing_data="notBreaching",
    )


def _errors(cloud: FakeCloud, at: float, value: float) -> None:
    cloud.backend("cloudwatch").put_metric_data(
        "AWS/Lambda",
        [
            {
                "MetricName": "Errors",
                "Dimensions": [{"Name": "FunctionName", "Value": "fragile"}],
                "Value": value,
                "Timestamp": datetime.fromtimestamp(at, UTC).replace(tzinfo=None),
            }
        ],
    )


def _topic_with_lambda(cloud: FakeCloud) -> str:
    sns = cloud.backend("sns")
    topic: str = sns.create_topic("alarms").arn
    sns.subscribe(topic, FUNCTION_ARN, "lambda")
    return topic


def test_two_of_two_alarm_then_recovery_notifies_the_lambda(cloud: FakeCloud) -> None:
    """Two breaching minutes raise the alarm; a quiet minute clears it; each change reaches the subscriber."""
    topic = _topic_with_lambda(cloud)
    _alarm(cloud, topic)
    alarm = cloud.backend("cloudwatch").alarms["errors"]
    assert alarm.state_value == "INSUFFICIENT_DATA"

    _errors(cloud, ORIGIN + 10, 5.0)
    _errors(cloud, ORIGIN + 70, 4.0)
    made = cloud.scheduler.evaluate_due(ORIGIN + 120.0)
    assert [(t.old_state, t.new_state) for t in made] == [("INSUFFICIENT_DATA", "ALARM")]
    assert alarm.state_updated_timestamp == datetime.fromtimestamp(ORIGIN + 120, UTC).replace(tzinfo=None)

    _errors(cloud, ORIGIN + 130, 0.0)
    made = cloud.scheduler.evaluate_due(ORIGIN + 180.0)
    assert [(t.old_state, t.new_state) for t in made] == [("ALARM", "OK")]

    events = [payload for function, payload in cloud.lambdas.calls if function == FUNCTION_ARN]
    messages = [json.loads(e["Records"][0]["Sns"]["Message"]) for e in events]
    assert [(m["OldStateValue"], m["NewStateValue"]) for m in messages] == [
        ("INSUFFICIENT_DATA", "ALARM"),
        ("ALARM", "OK"),
    ]
    assert events[0]["Records"][0]["Sns"]["Subject"] == 'ALARM: "errors" in EU (Paris)'


def test_no_transition_no_action(cloud: FakeCloud) -> None:
    """Evaluating an unchanged state publishes nothing."""
    topic = _topic_with_lambda(cloud)
    _alarm(cloud, topic)
    assert [t.new_state for t in cloud.scheduler.evaluate_due(ORIGIN + 60.0)] == ["OK"]
    assert cloud.scheduler.evaluate_due(ORIGIN + 120.0) == []
    assert len(cloud.lambdas.calls) == 1


def test_boundary_not_reached_is_not_evaluated(cloud: FakeCloud) -> None:
    """Before the alarm's next period boundary nothing is evaluated."""
    _alarm(cloud, _topic_with_lambda(cloud))
    assert cloud.scheduler.evaluate_due(ORIGIN + 59.9) == []
    assert cloud.backend("cloudwatch").alarms["errors"].state_value == "INSUFFICIENT_DATA"


def test_stop_restores_moto() -> None:
    """After stop, moto behaves as before: new alarms start OK and no history API is added."""
    fake = FakeCloud()
    fake.delivery.start(fake)  # type: ignore[arg-type]
    fake.scheduler.start(fake)  # type: ignore[arg-type]
    fake.scheduler.stop()
    fake.delivery.stop()
    try:
        _alarm(fake, f"arn:aws:sns:{REGION}:{ACCOUNT}:none")
        assert fake.backend("cloudwatch").alarms["errors"].state_value == "OK"
        assert not hasattr(CloudWatchResponse, "describe_alarm_history")
        assert Subscription.publish.__qualname__ == "Subscription.publish"
    finally:
        cloudwatch_backends[ACCOUNT][REGION].reset()


def test_bad_grace_is_refused() -> None:
    """A negative grace is a clear error."""
    with pytest.raises(ValueError, match="non-negative"):
        AlarmScheduler(grace_seconds=-1)


def test_expiry_keeps_three_hours_and_recent_statistics(cloud: FakeCloud) -> None:
    """Datums older than 3 cloud hours leave moto; GetMetricStatistics over the last hour still works."""
    _alarm(cloud, _topic_with_lambda(cloud))
    _errors(cloud, ORIGIN - 3 * 3600 - 1, 9.0)
    _errors(cloud, ORIGIN - 3 * 3600 + 1, 8.0)
    _errors(cloud, ORIGIN - 30, 7.0)
    assert cloud.scheduler.retention() == 3 * 3600
    assert cloud.scheduler.expire_metrics(ORIGIN) == 1
    backend = cloud.backend("cloudwatch")
    assert sorted(d.value for d in backend.metric_data) == [7.0, 8.0]
    stats = backend.get_metric_statistics(
        "AWS/Lambda",
        "Errors",
        datetime.fromtimestamp(ORIGIN - 3600, UTC).replace(tzinfo=None),
        datetime.fromtimestamp(ORIGIN, UTC).replace(tzinfo=None),
        60,
        ["Sum"],
        [{"Name": "FunctionName", "Value": "fragile"}],
    )
    assert [s.sum for s in stats] == [7.0]


def test_a_long_alarm_window_extends_retention(cloud: FakeCloud) -> None:
    """An alarm looking back a day keeps a day of data plus the margin."""
    _alarm(cloud, _topic_with_lambda(cloud))
    cloud.backend("cloudwatch").put_metric_alarm(
        name="daily",
        namespace="AWS/Lambda",
        metric_name="Errors",
        comparison_operator="GreaterThanThreshold",
        evaluation_periods=1,
        period=86_400,
        threshold=0.0,
        statistic="Sum",
        description="",
        dimensions=[{"Name": "FunctionName", "Value": "fragile"}],
        alarm_actions=[],
    )
    assert cloud.scheduler.retention() == 86_400 * 3 + 3600
    _errors(cloud, ORIGIN - 2 * 86_400, 1.0)
    assert cloud.scheduler.expire_metrics(ORIGIN) == 0


def test_expiry_runs_once_per_interval(cloud: FakeCloud) -> None:
    """The timer expires at most once every EXPIRE_EVERY cloud seconds."""
    cloud.scheduler.expire_if_due(ORIGIN)
    _errors(cloud, ORIGIN - 4 * 3600, 1.0)
    assert cloud.scheduler.expire_if_due(ORIGIN + 1) == 0
    assert cloud.scheduler.expire_if_due(ORIGIN + 60) == 1


def test_stop_unhooks_put_metric_data() -> None:
    """After stop, moto's own put_metric_data is back."""
    fake = FakeCloud()
    fake.scheduler.start(fake)  # type: ignore[arg-type]
    assert "put_metric_data" in fake.backend("cloudwatch").__dict__
    fake.scheduler.stop()
    assert "put_metric_data" not in fake.backend("cloudwatch").__dict__
