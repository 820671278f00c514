"""A function's execution role must let Lambda assume it, as AWS checks at CreateFunction and at
UpdateFunctionConfiguration; moto checks only that the role exists."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

AwsFactory = Callable[..., Any]
ZipBuilder = Callable[..., bytes]
REFUSED = "The role defined for the function cannot be assumed by Lambda."
ACCOUNT = "123456789012"


def _statement(principal: Any, effect: str = "Allow", **condition: dict[str, str]) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": effect, "Principal": principal, "Action": "sts:AssumeRole"}
    if condition:
        statement["Condition"] = condition
    return statement


LAMBDA = {"Service": "lambda.amazonaws.com"}


def _role(aws: AwsFactory, *statements: dict[str, Any]) -> str:
    name = f"trust-{uuid.uuid4().hex[:10]}"
    document = json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
    return str(aws("iam").create_role(RoleName=name, AssumeRolePolicyDocument=document)["Role"]["Arn"])


def _create(aws: AwsFactory, lambda_zip: ZipBuilder, name: str, role: str) -> dict[str, Any]:
    response: dict[str, Any] = aws("lambda").create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": lambda_zip(files={"app.py": "def handler(event, context):\n    return 1\n"})},
    )
    return response


def _refusal(call: Callable[[], Any]) -> tuple[str, str]:
    with pytest.raises(ClientError) as info:
        call()
    error = info.value.response["Error"]
    return str(error["Code"]), str(error["Message"])


@pytest.mark.parametrize(
    "statements",
    [
        [_statement(LAMBDA)],
        [_statement(LAMBDA, StringEquals={"aws:SourceAccount": ACCOUNT})],
        [_statement(LAMBDA, ArnLike={"aws:SourceArn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:ok-*"})],
        [_statement({"Service": ["states.amazonaws.com", "lambda.amazonaws.com"]})],
    ],
    ids=["plain", "own-account", "own-function", "service-list"],
)
def test_a_role_that_trusts_lambda_is_accepted(
    aws: AwsFactory, lambda_zip: ZipBuilder, statements: list[dict[str, Any]]
) -> None:
    """Trust in lambda.amazonaws.com, unconditional or scoped to this account or this function."""
    name = f"ok-{uuid.uuid4().hex[:8]}"
    assert _create(aws, lambda_zip, name, _role(aws, *statements))["FunctionName"] == name


@pytest.mark.parametrize(
    "statements",
    [
        [_statement({"Service": "scheduler.amazonaws.com"})],
        [_statement({"AWS": f"arn:aws:iam::{ACCOUNT}:root"})],
        [_statement(LAMBDA, StringEquals={"aws:SourceAccount": "210987654321"})],
        [_statement(LAMBDA, ArnLike={"aws:SourceArn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:other"})],
        [_statement(LAMBDA), _statement(LAMBDA, "Deny")],
        [],
    ],
    ids=["other-service", "account-root", "other-account", "other-function", "explicit-deny", "empty"],
)
def test_a_role_lambda_may_not_assume_is_refused_and_nothing_is_created(
    aws: AwsFactory, lambda_zip: ZipBuilder, statements: list[dict[str, Any]]
) -> None:
    """CreateFunction fails as on AWS, and the function does not exist afterwards."""
    name = f"no-{uuid.uuid4().hex[:8]}"
    role = _role(aws, *statements)
    assert _refusal(lambda: _create(aws, lambda_zip, name, role)) == (
        "InvalidParameterValueException",
        REFUSED,
    )
    code, _ = _refusal(lambda: aws("lambda").get_function(FunctionName=name))
    assert code == "ResourceNotFoundException"


def test_a_condition_the_local_cloud_cannot_evaluate_is_named(
    aws: AwsFactory, lambda_zip: ZipBuilder
) -> None:
    """A condition on a key other than aws:SourceAccount/aws:SourceArn refuses, naming the key."""
    role = _role(aws, _statement(LAMBDA, StringEquals={"aws:PrincipalOrgID": "o-abc123"}))
    code, message = _refusal(lambda: _create(aws, lambda_zip, f"org-{uuid.uuid4().hex[:8]}", role))
    assert code == "InvalidParameterValueException" and message.startswith(REFUSED)
    assert "aws:PrincipalOrgID" in message and "not evaluated" in message


def test_update_to_a_role_lambda_may_not_assume_is_refused_and_changes_nothing(
    aws: AwsFactory, lambda_zip: ZipBuilder
) -> None:
    """UpdateFunctionConfiguration with such a role fails and the function keeps its role."""
    name = f"upd-{uuid.uuid4().hex[:8]}"
    good = _role(aws, _statement(LAMBDA))
    _create(aws, lambda_zip, name, good)
    aws("lambda").get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.05})
    bad = _role(aws, _statement({"Service": "ec2.amazonaws.com"}))
    refused = _refusal(lambda: aws("lambda").update_function_configuration(FunctionName=name, Role=bad))
    assert refused == ("InvalidParameterValueException", REFUSED)
    assert aws("lambda").get_function_configuration(FunctionName=name)["Role"] == good
    other = _role(aws, _statement(LAMBDA))
    aws("lambda").update_function_configuration(FunctionName=name, Role=other)
    assert aws("lambda").get_function_configuration(FunctionName=name)["Role"] == other
