"""A new function starts Pending and turns Active, as on Lambda; Invoke meanwhile is a conflict."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from selfheal.cloud import LocalCloud, lambda_functions
from selfheal.cloud.errors import CloudError

AwsFactory = Callable[[str], Any]
ZipBuilder = Callable[..., bytes]

SOURCE = "def handler(event, context):\n    return {'ok': True}\n"
PENDING_MESSAGE = (
    "The operation cannot be performed at this time. "
    "The function is currently in the following state: Pending"
)


@pytest.fixture
def long_pending(monkeypatch: pytest.MonkeyPatch) -> float:
    """New functions stay Pending for 3 cloud (here real) seconds, so a test sees Pending surely."""
    monkeypatch.setattr(lambda_functions, "PENDING_SECONDS", 3.0)
    return 3.0


def _create(aws: AwsFactory, lambda_role: str, lambda_zip: ZipBuilder, name: str, **extra: Any) -> Any:
    return aws("lambda").create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=lambda_role,
        Handler="app.handler",
        Code={"ZipFile": lambda_zip(files={"app.py": SOURCE})},
        **extra,
    )


def test_new_function_is_pending_then_active(
    aws: AwsFactory, lambda_role: str, lambda_zip: ZipBuilder, long_pending: float
) -> None:
    """CreateFunction answers Pending (Creating); GetFunction[Configuration] report it until it is Active."""
    lam = aws("lambda")
    created = _create(aws, lambda_role, lambda_zip, "states-pending")
    assert created["State"] == "Pending"
    assert created["StateReason"] == "The function is being created."
    assert created["StateReasonCode"] == "Creating"
    assert lam.get_function(FunctionName="states-pending")["Configuration"]["State"] == "Pending"
    config = lam.get_function_configuration(FunctionName="states-pending")
    assert (config["State"], config["StateReasonCode"]) == ("Pending", "Creating")

    started = time.monotonic()
    lam.get_waiter("function_active_v2").wait(FunctionName="states-pending", WaiterConfig={"Delay": 1})
    assert time.monotonic() - started < long_pending + 2
    config = lam.get_function_configuration(FunctionName="states-pending")
    assert config["State"] == "Active"
    assert "StateReasonCode" not in config and "StateReason" not in config


def test_invoke_while_pending_is_a_conflict(
    cloud: LocalCloud, aws: AwsFactory, lambda_role: str, lambda_zip: ZipBuilder, long_pending: float
) -> None:
    """Invoke (sync or Event) of a Pending function: ResourceConflictException, AWS's words; then it runs."""
    lam = aws("lambda")
    _create(aws, lambda_role, lambda_zip, "states-invoke")
    for invocation_type in ("RequestResponse", "Event"):
        with pytest.raises(ClientError) as refused:
            lam.invoke(FunctionName="states-invoke", InvocationType=invocation_type, Payload=b"{}")
        error = refused.value.response
        assert error["Error"]["Code"] == "ResourceConflictException"
        assert error["Error"]["Message"] == PENDING_MESSAGE
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 409
    # The Lambda service refuses it too (an HTTP API's integration, an SQS poller).
    with pytest.raises(CloudError) as internal:
        cloud.lambdas.invoke("states-invoke", b"{}")
    assert internal.value.code == "ResourceConflictException"

    lam.get_waiter("function_active_v2").wait(FunctionName="states-invoke", WaiterConfig={"Delay": 1})
    answer = lam.invoke(FunctionName="states-invoke", Payload=b"{}")
    assert json.loads(answer["Payload"].read()) == {"ok": True}


def test_published_version_is_pending_too(
    aws: AwsFactory, lambda_role: str, lambda_zip: ZipBuilder, long_pending: float
) -> None:
    """A version published by CreateFunction(Publish=True) is Pending with its function."""
    lam = aws("lambda")
    created = _create(aws, lambda_role, lambda_zip, "states-published", Publish=True)
    assert created["Version"] == "1" and created["State"] == "Pending"
    assert (
        lam.get_function_configuration(FunctionName="states-published", Qualifier="1")["State"] == "Pending"
    )
    with pytest.raises(ClientError) as refused:
        lam.invoke(FunctionName="states-published", Qualifier="1", Payload=b"{}")
    assert refused.value.response["Error"]["Code"] == "ResourceConflictException"


def test_default_pending_is_short(aws: AwsFactory, lambda_role: str, lambda_zip: ZipBuilder) -> None:
    """By default a function is Active within a cloud second of its creation."""
    lam = aws("lambda")
    assert _create(aws, lambda_role, lambda_zip, "states-default")["State"] == "Pending"
    time.sleep(lambda_functions.PENDING_SECONDS + 0.05)  # time scale 1: cloud seconds are real ones
    assert lam.get_function_configuration(FunctionName="states-default")["State"] == "Active"
    assert json.loads(lam.invoke(FunctionName="states-default", Payload=b"{}")["Payload"].read()) == {
        "ok": True
    }
