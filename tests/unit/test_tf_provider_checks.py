"""The local providers' shared argument helpers: ``put_fields`` (optional arguments copied into an API
call) and ``check_range`` (the plugin SDK's ``IntBetween`` refusal), at the resources that use them."""

from __future__ import annotations

from typing import Any

import pytest

from selfheal.terraform.aws_provider import AwsProvider
from selfheal.terraform.aws_resources._common import put_fields
from selfheal.terraform.aws_resources._regional import check_range
from selfheal.terraform.aws_resources.awslambda import LambdaFunction
from selfheal.terraform.aws_resources.awslambda_invoke import LambdaEventInvokeConfig, LambdaPermission
from selfheal.terraform.aws_resources.event_source_mapping import LambdaEventSourceMapping
from selfheal.terraform.aws_resources.events import CloudWatchEventRule, CloudWatchEventTarget
from selfheal.terraform.aws_resources.iam import IamRole
from selfheal.terraform.aws_resources.scheduler import SchedulerSchedule
from selfheal.terraform.random_provider import RandomId, RandomProvider, RandomString
from selfheal.terraform.resource import ResourceError, Unknown

QUEUE = "arn:aws:sqs:us-east-1:000000000000:jobs"
STREAM = "arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/2026-01-01T00:00:00.000"


class _Stop(Exception):
    """Raised by a fake client once it has recorded the call under test."""


class _Recorder:
    """A boto3 client stand-in: records each call's keyword arguments, then stops the resource."""

    def __init__(self) -> None:
        self.calls: dict[str, dict[str, Any]] = {}

    def __getattr__(self, operation: str) -> Any:
        def call(**kwargs: Any) -> Any:
            self.calls[operation] = kwargs
            raise _Stop(operation)

        return call


def _provider(monkeypatch: pytest.MonkeyPatch) -> tuple[AwsProvider, _Recorder]:
    provider, client = AwsProvider(), _Recorder()
    monkeypatch.setattr(provider, "client", lambda service: client)
    return provider, client


def _refusal(validate: Any, config: dict[str, Any]) -> ResourceError:
    with pytest.raises(ResourceError) as caught:
        validate(config)
    return caught.value


# ---------------------------------------------------------------- put_fields


def test_put_fields_copies_given_values_under_their_api_names() -> None:
    """Set values are copied under the API name, false, 0 and empty collections included (they may change
    a value); null, "" and unknown values are left out, and what ``args`` already holds is kept."""
    args: dict[str, Any] = {"Name": "kept", "Description": "kept too"}
    planned = {"a": "x", "b": None, "c": "", "d": False, "e": 0, "f": [], "g": {}, "h": ["y"], "i": 3}
    planned["u"] = Unknown
    names = {k: k.upper() for k in "abcdefghiu"} | {"missing": "Missing", "description": "Description"}
    put_fields(args, planned, names)
    assert args == {
        "Name": "kept",
        "Description": "kept too",
        "A": "x",
        "D": False,
        "E": 0,
        "F": [],
        "G": {},
        "H": ["y"],
        "I": 3,
    }


def test_lambda_permission_passes_its_given_optional_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    """AddPermission gets each optional argument that is set, under its API name, and none that is not."""
    provider, client = _provider(monkeypatch)
    planned = {
        "statement_id": "sid",
        "function_name": "fn",
        "action": "lambda:InvokeFunction",
        "principal": "events.amazonaws.com",
        "source_arn": "arn:aws:events:us-east-1:000000000000:rule/r",
        "source_account": "000000000000",
        "event_source_token": None,
        "qualifier": "",
        "principal_org_id": "o-abc",
        "function_url_auth_type": "NONE",
    }
    with pytest.raises(_Stop):
        LambdaPermission(provider).create(planned)
    assert client.calls["add_permission"] == {
        "FunctionName": "fn",
        "StatementId": "sid",
        "Action": "lambda:InvokeFunction",
        "Principal": "events.amazonaws.com",
        "SourceArn": "arn:aws:events:us-east-1:000000000000:rule/r",
        "SourceAccount": "000000000000",
        "PrincipalOrgID": "o-abc",
        "FunctionUrlAuthType": "NONE",
    }


def test_event_rule_and_target_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    """A rule's PutRule arguments and a target's entry carry the set optional arguments only."""
    provider, _ = _provider(monkeypatch)
    rule = {"state": None, "event_bus_name": "default", "event_pattern": '{"source":["a"]}'}
    rule |= {"schedule_expression": None, "description": "", "role_arn": "arn:aws:iam::0:role/r"}
    assert CloudWatchEventRule(provider)._put(rule, "r") == {
        "Name": "r",
        "State": "ENABLED",
        "EventPattern": '{"source":["a"]}',
        "RoleArn": "arn:aws:iam::0:role/r",
    }
    target = {"arn": QUEUE, "input": None, "input_path": "$.detail", "role_arn": ""}
    assert CloudWatchEventTarget(provider)._target(target, "t") == {
        "Id": "t",
        "Arn": QUEUE,
        "InputPath": "$.detail",
    }
    target |= {"input": '{"a":1}', "input_path": None, "role_arn": "arn:aws:iam::0:role/r"}
    assert CloudWatchEventTarget(provider)._target(target, "t") == {
        "Id": "t",
        "Arn": QUEUE,
        "Input": '{"a":1}',
        "RoleArn": "arn:aws:iam::0:role/r",
    }


def test_schedule_arguments_carry_description_and_key_when_given(monkeypatch: pytest.MonkeyPatch) -> None:
    """CreateSchedule gets Description and KmsKeyArn when set, and neither when empty or null."""
    provider, _ = _provider(monkeypatch)
    planned: dict[str, Any] = {
        "schedule_expression": "rate(1 hour)",
        "target": [{"arn": QUEUE, "role_arn": "arn:aws:iam::0:role/r"}],
        "description": "hourly",
        "kms_key_arn": None,
    }
    args = SchedulerSchedule(provider)._args(planned, "s")
    assert args["Description"] == "hourly" and "KmsKeyArn" not in args
    args = SchedulerSchedule(provider)._args(planned | {"description": "", "kms_key_arn": "k"}, "s")
    assert args["KmsKeyArn"] == "k" and "Description" not in args


def test_role_creation_carries_description_and_boundary_when_given(monkeypatch: pytest.MonkeyPatch) -> None:
    """CreateRole gets Description and PermissionsBoundary only when they are set."""
    provider, client = _provider(monkeypatch)
    planned: dict[str, Any] = {
        "name": "r",
        "path": "/",
        "assume_role_policy": "{}",
        "max_session_duration": 3600,
        "tags": None,
        "description": "",
        "permissions_boundary": "arn:aws:iam::0:policy/b",
    }
    with pytest.raises(_Stop):
        IamRole(provider).create(planned)
    args = client.calls["create_role"]
    assert args["PermissionsBoundary"] == "arn:aws:iam::0:policy/b" and "Description" not in args
    with pytest.raises(_Stop):
        IamRole(provider).create(planned | {"description": "d", "permissions_boundary": None})
    args = client.calls["create_role"]
    assert args["Description"] == "d" and "PermissionsBoundary" not in args


# ---------------------------------------------------------------- check_range


def test_check_range_words_the_refusal_as_the_plugin_sdk() -> None:
    """Out of range: IntBetween's words, naming the attribute; whole numbers in full, never 1e+06."""
    error = _refusal(lambda c: check_range(c, "max_message_size", 1024, 1_048_576), {"max_message_size": 2e6})
    assert error.summary == "expected max_message_size to be in the range (1024 - 1048576), got 2000000"
    assert error.attribute == "max_message_size"
    error = _refusal(lambda c: check_range(c, "n", -1, 10), {"n": 10.5})
    assert error.summary == "expected n to be in the range (-1 - 10), got 10.5"


@pytest.mark.parametrize("value", [0, 2, 1.5, None, Unknown, "5"])
def test_check_range_lets_bounds_and_unknowns_pass(value: Any) -> None:
    """Both bounds are in range; null, unknown and non-numbers are left to other checks."""
    check_range({"n": value}, "n", 0, 2)
    check_range({}, "n", 0, 2)


@pytest.mark.parametrize(
    ("resource", "config", "message"),
    [
        (
            LambdaFunction,
            {"memory_size": 64},
            "expected memory_size to be in the range (128 - 10240), got 64",
        ),
        (LambdaFunction, {"timeout": 901}, "expected timeout to be in the range (1 - 900), got 901"),
        (
            LambdaEventInvokeConfig,
            {"maximum_retry_attempts": 3},
            "expected maximum_retry_attempts to be in the range (0 - 2), got 3",
        ),
        (
            LambdaEventInvokeConfig,
            {"maximum_event_age_in_seconds": 59},
            "expected maximum_event_age_in_seconds to be in the range (60 - 21600), got 59",
        ),
        (
            LambdaEventSourceMapping,
            {"event_source_arn": QUEUE, "batch_size": 10001},
            "expected batch_size to be in the range (1 - 10000), got 10001",
        ),
        (
            LambdaEventSourceMapping,
            {
                "event_source_arn": STREAM,
                "starting_position": "LATEST",
                "maximum_record_age_in_seconds": 604801,
            },
            "expected maximum_record_age_in_seconds to be in the range (-1 - 604800), got 604801",
        ),
    ],
)
def test_resources_refuse_out_of_range_numbers(resource: Any, config: dict[str, Any], message: str) -> None:
    """The Lambda resources refuse out-of-range numbers in the real provider's words, naming the argument."""
    error = _refusal(resource(AwsProvider()).validate, config)
    assert (error.summary, error.attribute) == (message, message.split()[1])


def test_resources_accept_numbers_on_the_bounds() -> None:
    """The bounds themselves are accepted."""
    LambdaEventInvokeConfig(AwsProvider()).validate(
        {"maximum_retry_attempts": 0, "maximum_event_age_in_seconds": 21600}
    )
    LambdaEventSourceMapping(AwsProvider()).validate({"event_source_arn": QUEUE, "batch_size": 10000})


# ---------------------------------------------------------------- random lengths


@pytest.mark.parametrize(("resource", "name"), [(RandomId, "byte_length"), (RandomString, "length")])
def test_random_lengths_must_be_at_least_one(resource: Any, name: str) -> None:
    """A length below 1 is refused, naming the argument; 1 and an unknown length pass."""
    validate = resource(RandomProvider()).validate
    error = _refusal(validate, {name: 0})
    assert (error.summary, error.attribute) == (f"{name} must be at least 1", name)
    validate({name: 1})
    validate({name: Unknown})
