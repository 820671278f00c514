"""Unit tests of the local IAM evaluation: which permissions a request needs and how policies decide."""

from __future__ import annotations

from typing import Any

import pytest

from selfheal.cloud.iam_enforcement import Permission, access_key_id, evaluate, required_permissions

REGION, ACCOUNT = "us-east-1", "123456789012"
FRAGILE = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:selfheal-fragile"
TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/selfheal-ledger"


def _policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _allow(action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


@pytest.mark.parametrize(
    ("reference", "qualifier", "expected"),
    [
        ("selfheal-fragile", None, FRAGILE),
        (FRAGILE, None, FRAGILE),
        (f"{ACCOUNT}:function:selfheal-fragile", None, FRAGILE),
        ("selfheal-fragile:live", None, f"{FRAGILE}:live"),
        ("selfheal-fragile", "3", f"{FRAGILE}:3"),
        ("arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Aselfheal-fragile", None, FRAGILE),
    ],
)
def test_lambda_function_references_become_its_arn(
    reference: str, qualifier: str | None, expected: str
) -> None:
    """A function named by name, partial ARN, ARN or with a qualifier resolves to the ARN IAM checks."""
    params = {"FunctionName": reference, **({"Qualifier": qualifier} if qualifier else {})}
    needed = required_permissions("lambda", "UpdateFunctionConfiguration", params, REGION, ACCOUNT)
    assert needed == [Permission("lambda:UpdateFunctionConfiguration", expected)]


def test_invoke_needs_invoke_function() -> None:
    """The Invoke API is authorised as lambda:InvokeFunction, as on AWS."""
    needed = required_permissions("lambda", "Invoke", {"FunctionName": "f"}, REGION, ACCOUNT)
    assert needed == [Permission("lambda:InvokeFunction", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:f")]


def test_transact_write_needs_each_item_action_on_its_table() -> None:
    """TransactWriteItems is authorised per item: UpdateItem, PutItem, ConditionCheckItem on each table."""
    items = [
        {"Update": {"TableName": "selfheal-ledger"}},
        {"Put": {"TableName": "other"}},
        {"ConditionCheck": {"TableName": "selfheal-ledger"}},
    ]
    needed = required_permissions("dynamodb", "TransactWriteItems", {"TransactItems": items}, REGION, ACCOUNT)
    assert needed == [
        Permission("dynamodb:UpdateItem", TABLE),
        Permission("dynamodb:PutItem", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/other"),
        Permission("dynamodb:ConditionCheckItem", TABLE),
    ]


def test_resources_of_other_services() -> None:
    """SNS topics, CloudWatch alarms (every alarm when unnamed), log streams and signing-name prefixes."""
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:t"
    assert required_permissions("sns", "Publish", {"TopicArn": topic}, REGION, ACCOUNT) == [
        Permission("sns:Publish", topic)
    ]
    assert required_permissions("cloudwatch", "DescribeAlarms", {}, REGION, ACCOUNT) == [
        Permission("cloudwatch:DescribeAlarms", f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:*")
    ]
    params = {"logGroupName": "/aws/lambda/f", "logStreamName": "s"}
    assert required_permissions("logs", "PutLogEvents", params, REGION, ACCOUNT) == [
        Permission(
            "logs:PutLogEvents", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/f:log-stream:s"
        )
    ]
    queue = f"arn:aws:sqs:{REGION}:{ACCOUNT}:q"
    assert required_permissions("sqs", "SendMessage", {}, REGION, ACCOUNT, queue) == [
        Permission("sqs:SendMessage", queue)
    ]


def test_scoped_allow_grants_only_its_resource() -> None:
    """An Allow on one function's ARN allows that function and implicitly denies another."""
    policy = _policy(_allow(["lambda:UpdateFunctionConfiguration"], FRAGILE))
    assert evaluate([policy], "lambda:UpdateFunctionConfiguration", FRAGILE) == "allow"
    assert evaluate([policy], "lambda:UpdateFunctionConfiguration", FRAGILE + "2") == "implicit_deny"
    assert evaluate([policy], "lambda:UpdateFunctionCode", FRAGILE) == "implicit_deny"


def test_explicit_deny_wins_across_policies() -> None:
    """A Deny in one policy overrides an Allow in another."""
    allow = _policy(_allow("lambda:*", "*"))
    deny = _policy({"Effect": "Deny", "Action": "lambda:Update*", "Resource": FRAGILE})
    assert evaluate([allow, deny], "lambda:UpdateFunctionConfiguration", FRAGILE) == "explicit_deny"
    assert evaluate([allow, deny], "lambda:GetFunctionConfiguration", FRAGILE) == "allow"


def test_wildcards_case_and_not_elements() -> None:
    """Actions match case-insensitively with * and ?; NotAction/NotResource invert; resources are exact."""
    assert evaluate([_policy(_allow("SNS:Pub*", "*"))], "sns:Publish", "x") == "allow"
    assert evaluate([_policy(_allow("dynamodb:?etItem", TABLE))], "dynamodb:GetItem", TABLE) == "allow"
    assert evaluate([_policy(_allow("dynamodb:GetItem", TABLE.upper()))], "dynamodb:GetItem", TABLE) == (
        "implicit_deny"
    )
    not_action = {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}
    assert evaluate([_policy(not_action)], "iam:CreateUser", "*") == "implicit_deny"
    assert evaluate([_policy(not_action)], "sqs:SendMessage", "q") == "allow"
    not_resource = {"Effect": "Allow", "Action": "sqs:*", "NotResource": "arn:aws:sqs:*:*:secret"}
    assert evaluate([_policy(not_resource)], "sqs:SendMessage", "arn:aws:sqs:r:a:secret") == "implicit_deny"
    assert evaluate(
        [_policy(_allow("s3:GetObject", "arn:aws:s3:::[a]"))], "s3:GetObject", "arn:aws:s3:::a"
    ) == ("implicit_deny")


def test_conditions_err_on_the_side_of_refusing() -> None:
    """An Allow with a Condition grants nothing; a Deny with one applies (conditions are not evaluated)."""
    condition = {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    assert evaluate([_policy(_allow("sns:Publish", "*", Condition=condition))], "sns:Publish", "t") == (
        "implicit_deny"
    )
    deny = {"Effect": "Deny", "Action": "sns:Publish", "Resource": "*", "Condition": condition}
    assert evaluate([_policy(_allow("sns:*", "*"), deny)], "sns:Publish", "t") == "explicit_deny"


def test_single_statement_object_and_empty_policies() -> None:
    """A Statement given as one object counts; no policies at all means an implicit deny."""
    single = {"Version": "2012-10-17", "Statement": _allow("sqs:SendMessage", "*")}
    assert evaluate([single], "sqs:SendMessage", "q") == "allow"
    assert evaluate([], "sqs:SendMessage", "q") == "implicit_deny"


def test_access_key_id_from_authorization_header() -> None:
    """The key id is read from a SigV4 Authorization header; anything else has none."""
    header = (
        "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20261123/us-east-1/lambda/aws4_request, SignedHeaders=host"
    )
    assert access_key_id(header) == "ASIAEXAMPLE"
    assert access_key_id(None) is None and access_key_id("Bearer x") is None
