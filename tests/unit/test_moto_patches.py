"""The moto patch registry: exact restore, loud failures at install, every LocalCloud patch through it."""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from moto.awslambda.responses import LambdaResponse
from moto.cloudwatch.models import Alarm, MetricAggregatedDatum, MetricDatum, cloudwatch_backends
from moto.cloudwatch.responses import CloudWatchResponse
from moto.logs.models import LogEvent
from moto.sns.models import Subscription, sns_backends

from selfheal.clock import Clock
from selfheal.cloud import LocalCloud
from selfheal.cloud.alarm_scheduler import AlarmScheduler
from selfheal.cloud.dynamodb_isolation import SERIALIZED_OPERATIONS
from selfheal.cloud.moto_patches import TESTED_MOTO, MotoIncompatible, MotoPatches, active_patches, parameters
from selfheal.cloud.sns_delivery import SnsDelivery

ACCOUNT = "123456789012"
REGION = "ap-southeast-4"  # a region no other test uses


class Base:
    def inherited(self) -> str:
        return "base"


class Dummy(Base):
    def greet(self, name: str, punctuation: str = "!") -> str:
        return f"hello {name}{punctuation}"


class LoggingDict(dict[str, Any]):
    """A mapping owner that records the writes the registry makes."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.writes: list[str] = []

    def __setitem__(self, key: str, value: Any) -> None:
        self.writes.append(f"set {key}")
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self.writes.append(f"del {key}")
        super().__delitem__(key)


def _shout(original: Callable[..., str]) -> Callable[..., str]:
    def greet(self: Any, name: str, punctuation: str = "!") -> str:
        return original(self, name, punctuation).upper()

    return greet


@pytest.fixture
def registry() -> Iterator[MotoPatches]:
    """A fresh registry, restored after the test whatever happened."""
    patches = MotoPatches()
    try:
        yield patches
    finally:
        patches.restore()


def test_install_then_restore_puts_back_exactly_what_was_there(registry: MotoPatches) -> None:
    """Class, inherited, instance and mapping patches apply, then restore leaves every owner as it was."""
    greet = vars(Dummy)["greet"]
    instance = Dummy()
    config = LoggingDict({"use_docker": True})
    before = config["use_docker"]
    registry.replace(Dummy, "greet", _shout, reason="shout", expect=parameters("name", "punctuation"))
    registry.replace(Dummy, "inherited", lambda original: lambda self: "patched", reason="override")
    registry.replace(
        instance, "greet", lambda original: lambda name: f"bound {original(name)}", reason="bind"
    )
    registry.add(Dummy, "added", 42, reason="add")
    registry.replace(config, "use_docker", lambda original: not original, reason="flip", where="config")
    registry.install()

    assert registry.installed and all(patch.is_installed for patch in registry.patches)
    assert Dummy().greet("you") == "HELLO YOU!"
    assert Dummy().inherited() == "patched"
    assert instance.greet("me") == "bound HELLO ME!"
    assert Dummy.added == 42  # type: ignore[attr-defined]
    assert config["use_docker"] is False
    assert [line.split(" (")[0] for line in registry.describe()] == [
        f"{__name__}.Dummy.greet",
        f"{__name__}.Dummy.inherited",
        f"{__name__}.Dummy.greet",
        f"{__name__}.Dummy.added",
        "config",
    ]
    assert registry.describe()[3] == f"{__name__}.Dummy.added (added): add"

    config.writes.clear()
    registry.restore()
    assert vars(Dummy)["greet"] is greet
    assert "inherited" not in vars(Dummy) and Dummy().inherited() == "base"
    assert "greet" not in vars(instance)
    assert not hasattr(Dummy, "added")
    assert config["use_docker"] is before
    assert config.writes == ["set use_docker"]
    assert not registry.installed and not any(patch.is_installed for patch in registry.patches)

    registry.restore()  # idempotent
    assert vars(Dummy)["greet"] is greet and config.writes == ["set use_docker"]
    registry.install()  # and installable again
    assert Dummy().greet("again") == "HELLO AGAIN!"


def test_restore_runs_in_reverse_order(registry: MotoPatches) -> None:
    """The last patch installed is the first undone."""
    owner = LoggingDict({"a": 1})
    registry.replace(owner, "a", lambda original: 2, reason="first")
    registry.add(owner, "b", 3, reason="second")
    registry.install()
    assert owner.writes == ["set a", "set b"]
    registry.restore()
    assert owner.writes == ["set a", "set b", "del b", "set a"]
    assert owner == {"a": 1}


def test_a_missing_attribute_fails_loudly_at_install_and_patches_nothing(registry: MotoPatches) -> None:
    """A renamed or removed moto attribute: one line naming it, both moto versions and the reason."""
    greet = vars(Dummy)["greet"]
    registry.replace(Dummy, "greet", _shout, reason="shout")
    registry.replace(Dummy, "wave", _shout, reason="wave at the caller")
    with pytest.raises(MotoIncompatible) as raised:
        registry.install()
    message = str(raised.value)
    assert "\n" not in message
    assert f"{__name__}.Dummy.wave is missing" in message
    assert f"tested: moto {TESTED_MOTO}" in message
    assert message.startswith(f"moto {sys.modules['moto'].__version__} ")
    assert message.endswith("it is patched to wave at the caller")
    assert vars(Dummy)["greet"] is greet and not registry.installed
    assert all(patch.owner is not Dummy for patch in active_patches())


def test_an_addition_moto_already_has_fails_loudly(registry: MotoPatches) -> None:
    """Adding what moto now implements (here inherited) would hide it: install refuses."""
    registry.add(Dummy, "inherited", lambda self: "ours", reason="serve it ourselves")
    with pytest.raises(MotoIncompatible, match=r"Dummy\.inherited already exists: moto now implements"):
        registry.install()
    assert "inherited" not in vars(Dummy)


def test_a_changed_signature_fails_loudly(registry: MotoPatches) -> None:
    """A per-patch check: the replacement passes on parameters moto must still take first."""
    registry.replace(Dummy, "greet", _shout, reason="shout", expect=parameters("who"))
    with pytest.raises(
        MotoIncompatible, match=r"Dummy\.greet takes \(name, punctuation\), the patch expects"
    ):
        registry.install()


def test_an_attribute_already_patched_by_another_registry_is_refused(registry: MotoPatches) -> None:
    """Two registries never stack on one attribute."""
    registry.replace(Dummy, "greet", _shout, reason="shout")
    registry.install()
    other = MotoPatches()
    other.replace(Dummy, "greet", _shout, reason="shout again")
    with pytest.raises(RuntimeError, match=r"Dummy\.greet is already patched \(shout\)"):
        other.install()
    registry.restore()
    other.install()
    other.restore()


class _FakeCloud:
    account_id = ACCOUNT
    region = REGION

    def __init__(self) -> None:
        self.clock = Clock()
        self.components: list[Any] = []

    def backend(self, service: str) -> Any:
        backends: Any = cloudwatch_backends if service == "cloudwatch" else sns_backends
        return backends[ACCOUNT][REGION]


def test_scheduler_refuses_to_hide_a_describe_alarm_history_moto_implements(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """If moto implemented DescribeAlarmHistory, the scheduler would hide it: its start fails instead."""

    def moto_describe_alarm_history(self: Any) -> str:
        return "moto's own"

    monkeypatch.setattr(
        CloudWatchResponse, "describe_alarm_history", moto_describe_alarm_history, raising=False
    )
    scheduler = AlarmScheduler()
    cloud = _FakeCloud()
    with pytest.raises(MotoIncompatible) as raised:
        scheduler.start(cloud)  # type: ignore[arg-type]
    assert "moto.cloudwatch.responses.CloudWatchResponse.describe_alarm_history already exists" in str(
        raised.value
    )
    assert CloudWatchResponse.describe_alarm_history is moto_describe_alarm_history  # type: ignore[attr-defined]
    assert "put_metric_alarm" not in vars(cloud.backend("cloudwatch"))
    scheduler.stop()


def test_sns_delivery_refuses_a_publish_that_changed_its_parameters(monkeypatch: pytest.MonkeyPatch) -> None:
    """A moto Subscription.publish no longer taking (message, message_id) fails the start loudly."""

    def publish(self: Any, payload: str) -> None:
        """A future moto's."""

    monkeypatch.setattr(Subscription, "publish", publish)
    delivery = SnsDelivery()
    with pytest.raises(MotoIncompatible, match=r"moto\.sns\.models\.Subscription\.publish takes \(payload\)"):
        delivery.start(_FakeCloud())  # type: ignore[arg-type]
    assert vars(Subscription)["publish"] is publish
    delivery.stop()


# -- every patch of a running LocalCloud --------------------------------------------------------------------

CLOUDWATCH_BACKEND = "moto.cloudwatch.models.CloudWatchBackend.{} (on one instance)"
EXPECTED = {
    "moto.core.config.default_user_config['lambda']",
    "moto.core.config.default_user_config['iam']",
    "moto.awslambda.models.LambdaBackend.invoke",
    "moto.awslambda_simple.models.LambdaSimpleBackend.invoke",
    "moto.awslambda.models.LambdaBackend.update_function_code",
    "moto.awslambda.models.LambdaBackend.delete_function",
    "moto.awslambda.models.LambdaBackend.update_function_configuration",
    "moto.awslambda.models.LambdaBackend.create_function",
    "moto.awslambda.models.LambdaFunction.get_configuration",
    "moto.awslambda.models.LambdaBackend.put_function_event_invoke_config",
    "moto.awslambda.models.LambdaBackend.update_function_event_invoke_config",
    "moto.awslambda.models.LambdaBackend.create_event_source_mapping",
    "moto.awslambda.models.LambdaBackend.update_event_source_mapping",
    "moto.awslambda.models.LambdaBackend.delete_event_source_mapping",
    "moto.awslambda.models.EventSourceMapping.get_configuration",
    "moto.core.authorization.ActionAuthenticatorMixin._authenticate_and_authorize_normal_action",
    "moto.apigatewayv2.models.Api.to_json",
    "moto.apigateway.models.APIGatewayBackend.create_deployment",
    "moto.awslambda.responses.LambdaResponse._enrich_response",
    "moto.sns.models.SNSBackend.publish",
    "moto.sns.models.Subscription.publish",
    "moto.cloudwatch.responses.CloudWatchResponse.describe_alarm_history",
    "moto.cloudwatch.models.Alarm.state_transitioned_timestamp",
    "moto.logs.models.LogEvent.instances_tracked",
    "moto.cloudwatch.models.MetricDatum.instances_tracked",
    "moto.cloudwatch.models.MetricAggregatedDatum.instances_tracked",
    "moto.events.models.Rule.send_to_targets",
    "moto.awslambda.responses.LambdaResponse.invoke",
    "moto.cloudwatch.models.Alarm.alarm_rule",
    "moto.cloudwatch.responses.CloudWatchResponse.put_composite_alarm",
    "moto.cloudwatch.responses.CloudWatchResponse.get_metric_statistics",
    "moto.events.models.EventsBackend.put_events",
    "moto.events.models.EventsBackend.put_rule",
    "moto.dynamodb.responses.DynamoHandler.call_action",
    "moto.s3.models.FakeBucket.get_permission",
    "moto.s3.models.S3Backend.put_bucket_notification_configuration",
    "moto.s3.notifications.send_event",
    "moto.scheduler.models.EventBridgeSchedulerBackend.create_schedule",
    "moto.scheduler.models.EventBridgeSchedulerBackend.update_schedule",
    "moto.scheduler.responses.EventBridgeSchedulerResponse.update_schedule",
    "moto.scheduler.models.EventBridgeSchedulerBackend.create_schedule_group",
    "moto.scheduler.models.EventBridgeSchedulerBackend.delete_schedule_group",
    *(
        CLOUDWATCH_BACKEND.format(name)
        for name in (
            "put_metric_alarm",
            "set_alarm_state",
            "delete_alarms",
            "put_metric_data",
            "get_metric_statistics",
            "selfheal_alarm_history",
        )
    ),
    *(f"moto.dynamodb.models.DynamoDBBackend.{name}" for name in SERIALIZED_OPERATIONS),
}


def _moto_functions() -> dict[tuple[type, str], Any]:
    """Every function-like attribute of every class of the moto modules loaded now, by (class, name)."""
    found: dict[tuple[type, str], Any] = {}
    for module_name, module in list(sys.modules.items()):
        if not module_name.startswith("moto.") or module is None:
            continue
        for cls in list(vars(module).values()):
            if not isinstance(cls, type) or cls.__module__ != module_name:
                continue
            for name, value in list(vars(cls).items()):
                if inspect.isfunction(value) or isinstance(value, staticmethod | classmethod):
                    found[cls, name] = value
    return found


def test_a_running_cloud_patches_moto_only_through_registries_and_stop_restores_every_original() -> None:
    """While a LocalCloud runs every expected patch is installed, no moto class changed otherwise; after
    stop every patched attribute is the original object again."""
    import moto.apigateway.models
    import moto.apigatewayv2.models
    import moto.awslambda.models
    import moto.awslambda_simple.models
    import moto.core.authorization
    import moto.core.config
    import moto.dynamodb.responses
    import moto.s3.models
    import moto.s3.notifications
    import moto.scheduler.models
    import moto.scheduler.responses

    before_active = set(map(id, active_patches()))
    functions = _moto_functions()
    assert (moto.awslambda.models.LambdaBackend, "invoke") in functions
    lambda_config = moto.core.config.default_user_config["lambda"]
    iam_config = moto.core.config.default_user_config["iam"]

    with LocalCloud(port=0) as cloud:
        patches = [patch for patch in active_patches() if id(patch) not in before_active]
        assert {patch.target for patch in patches} == EXPECTED
        assert len(patches) == len(EXPECTED)
        assert all(patch.is_installed for patch in patches), [p.target for p in patches if not p.is_installed]
        registered = {(patch.owner, patch.name) for patch in patches if isinstance(patch.owner, type)}
        changed = {
            (cls, name) for (cls, name), value in functions.items() if vars(cls).get(name) is not value
        }
        assert changed <= registered, f"patched outside the registry: {changed - registered}"
        # Not among moto's own functions before the cloud ran: additions, and replaced non-functions.
        not_functions = {
            (CloudWatchResponse, "describe_alarm_history"),
            (CloudWatchResponse, "put_composite_alarm"),
            (Alarm, "alarm_rule"),
            (Alarm, "state_transitioned_timestamp"),
            (LambdaResponse, "_enrich_response"),
            *((model, "instances_tracked") for model in (LogEvent, MetricDatum, MetricAggregatedDatum)),
        }
        assert changed == registered - not_functions
        assert moto.core.config.default_user_config["lambda"] == {"use_docker": False}
        assert moto.core.config.default_user_config["iam"]["load_aws_managed_policies"] is True
        backend = cloud.backend("cloudwatch")
        owners = {patch.owner for patch in patches if not isinstance(patch.owner, type | dict)}
        assert owners == {backend, moto.s3.notifications}

    assert not any(id(patch) not in before_active for patch in active_patches())
    for (cls, name), value in functions.items():
        assert vars(cls).get(name) is value, f"{cls.__qualname__}.{name} is not moto's original after stop"
    assert not hasattr(CloudWatchResponse, "describe_alarm_history")
    assert not hasattr(Alarm, "state_transitioned_timestamp")
    assert "_enrich_response" not in vars(LambdaResponse)
    assert type(LogEvent.instances_tracked) is list
    assert moto.core.config.default_user_config["lambda"] is lambda_config
    assert moto.core.config.default_user_config["iam"] is iam_config
    for name in (
        "put_metric_alarm",
        "set_alarm_state",
        "delete_alarms",
        "put_metric_data",
        "get_metric_statistics",
    ):
        assert name not in vars(backend)
    assert "selfheal_alarm_history" not in vars(backend)
    assert moto.apigatewayv2.models.Api.to_json is functions[moto.apigatewayv2.models.Api, "to_json"]
