"""Unit tests of the local IAM evaluator's conditions and of the event source mapping permissions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from selfheal.cloud.iam_permissions import Permission, required_permissions
from selfheal.cloud.iam_policy import evaluate

REGION, ACCOUNT = "us-east-1", "123456789012"
FUNCTION = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:shop-orders"
OTHER = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:shop-payments"
UUID = "14e0db71-5d35-4eb5-b481-8945cf9d10c2"
MAPPING = f"arn:aws:lambda:{REGION}:{ACCOUNT}:event-source-mapping:{UUID}"
ACTION = "lambda:UpdateEventSourceMapping"


def _decide(condition: Any, context: Mapping[str, tuple[str, ...]] | None, effect: str = "Allow") -> str:
    """The decision on ACTION/MAPPING of one statement with ``condition`` (a Deny beside an Allow-all)."""
    statement = {"Effect": effect, "Action": ACTION, "Resource": MAPPING, "Condition": condition}
    statements = (
        [statement] if effect == "Allow" else [{"Effect": "Allow", "Action": "*", "Resource": "*"}, statement]
    )
    return evaluate([{"Version": "2012-10-17", "Statement": statements}], ACTION, MAPPING, context)


def _holds(condition: Any, context: Mapping[str, tuple[str, ...]] | None) -> bool:
    """Whether an Allow with ``condition`` grants ACTION on MAPPING in ``context``."""
    return _decide(condition, context) == "allow"


Context = Mapping[str, tuple[str, ...]]
ARN: Context = {"lambda:FunctionArn": (FUNCTION,)}
ARN_OTHER: Context = {"lambda:FunctionArn": (OTHER,)}
ARN_QUALIFIED: Context = {"lambda:FunctionArn": (f"{FUNCTION}:live",)}
NO_ARN: Context = {"lambda:FunctionArn": ()}


@pytest.mark.parametrize(
    ("operator", "values", "context", "expected"),
    [
        ("ArnLike", [FUNCTION, f"{FUNCTION}:*"], ARN, True),
        ("ArnLike", [FUNCTION, f"{FUNCTION}:*"], ARN_QUALIFIED, True),
        ("ArnLike", [FUNCTION, f"{FUNCTION}:*"], ARN_OTHER, False),
        ("ArnLike", "arn:aws:lambda:*:*:function:shop-*", ARN_OTHER, True),
        ("ArnLike", "arn:aws:lambda:*:function:shop-orders", ARN, False),  # '*' spans no component colon
        ("ArnLike", FUNCTION.upper(), ARN, False),  # case-sensitive
        ("ArnEquals", f"{FUNCTION}:*", ARN_QUALIFIED, True),
        ("ArnNotLike", f"{FUNCTION}*", ARN_OTHER, True),
        ("ArnNotLike", [OTHER, f"{FUNCTION}*"], ARN_OTHER, False),  # negated: NOR of the values
        ("ArnNotEquals", FUNCTION, ARN, False),
        ("StringEquals", FUNCTION, ARN, True),
        ("StringEquals", FUNCTION.upper(), ARN, False),
        ("StringEqualsIgnoreCase", FUNCTION.upper(), ARN, True),
        ("StringNotEquals", FUNCTION, ARN_OTHER, True),
        ("StringNotEquals", [OTHER, FUNCTION], ARN_OTHER, False),
        ("StringLike", "*:function:shop-?rders", ARN, True),
        ("StringLike", "*:function:shop-?rders", ARN_OTHER, False),
        ("StringNotLike", "*payments", ARN, True),
        ("StringNotLike", "*payments", ARN_OTHER, False),
    ],
)
def test_operators_on_a_present_key(operator: str, values: Any, context: Any, expected: bool) -> None:
    """ARN and string operators match as AWS documents them: values ORed, negated operators NORed."""
    assert _holds({operator: {"lambda:FunctionArn": values}}, context) is expected


@pytest.mark.parametrize(
    ("operator", "expected"),
    [
        ("ArnLike", False),
        ("ArnLikeIfExists", True),
        ("ArnNotLike", True),
        ("ArnNotLikeIfExists", True),
        ("StringEquals", False),
        ("StringEqualsIfExists", True),
        ("StringNotEquals", True),
        ("ForAnyValue:StringLike", False),
        ("ForAllValues:StringLike", True),
    ],
)
def test_absent_key(operator: str, expected: bool) -> None:
    """A key the request does not carry fails positive operators, satisfies negated and IfExists ones."""
    assert _holds({operator: {"lambda:FunctionArn": FUNCTION}}, NO_ARN) is expected


def test_if_exists_still_checks_a_present_key() -> None:
    """ArnLikeIfExists (the protect module's test) holds on the function and fails on another one."""
    condition = {"ArnLikeIfExists": {"lambda:FunctionArn": [FUNCTION, f"{FUNCTION}:*"]}}
    assert _holds(condition, ARN) and _holds(condition, ARN_QUALIFIED) and _holds(condition, NO_ARN)
    assert not _holds(condition, ARN_OTHER)


def test_keys_are_case_insensitive_values_per_operator() -> None:
    """Condition keys match whatever their case; Bool values too; operator names likewise."""
    assert _holds({"arnlike": {"LAMBDA:FUNCTIONARN": FUNCTION}}, {"Lambda:FunctionArn": (FUNCTION,)})
    assert _holds({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": ("False",)})
    assert _holds({"Bool": {"aws:SecureTransport": False}}, {"aws:SecureTransport": ("false",)})
    assert not _holds({"Bool": {"aws:SecureTransport": "true"}}, {"aws:SecureTransport": ("false",)})
    assert not _holds({"Bool": {"aws:SecureTransport": "true"}}, {"aws:SecureTransport": ()})
    assert _holds({"BoolIfExists": {"aws:SecureTransport": "true"}}, {"aws:SecureTransport": ()})


def test_null_tests_presence() -> None:
    """Null true holds when the key is absent, Null false when it is present."""
    assert _holds({"Null": {"lambda:FunctionArn": "true"}}, NO_ARN)
    assert not _holds({"Null": {"lambda:FunctionArn": "true"}}, ARN)
    assert _holds({"Null": {"lambda:FunctionArn": "false"}}, ARN)
    assert not _holds({"Null": {"lambda:FunctionArn": False}}, NO_ARN)


def test_several_keys_and_operators_must_all_hold() -> None:
    """Keys under one operator, and operators, are ANDed."""
    context = {**ARN, "aws:SecureTransport": ("true",), "lambda:Principal": ("sns.amazonaws.com",)}
    both = {"StringEquals": {"lambda:FunctionArn": FUNCTION, "lambda:Principal": "sns.amazonaws.com"}}
    assert _holds(both, context)
    assert not _holds({**both, "Bool": {"aws:SecureTransport": "false"}}, context)
    one_fails = {"StringEquals": {"lambda:FunctionArn": FUNCTION, "lambda:Principal": "s3.amazonaws.com"}}
    assert not _holds(one_fails, context)


def test_set_qualifiers_on_a_multivalued_key() -> None:
    """ForAnyValue needs one request value to match, ForAllValues every one."""
    tags = {"aws:TagKeys": ("team", "cost-center")}
    assert _holds({"ForAnyValue:StringEquals": {"aws:TagKeys": ["team", "owner"]}}, tags)
    assert not _holds({"ForAllValues:StringEquals": {"aws:TagKeys": ["team", "owner"]}}, tags)
    assert _holds({"ForAllValues:StringLike": {"aws:TagKeys": ["team", "cost-*"]}}, tags)
    assert not _holds({"ForAnyValue:StringEquals": {"aws:TagKeys": "owner"}}, tags)


@pytest.mark.parametrize(
    ("condition", "context"),
    [
        ({"NumericLessThan": {"lambda:FunctionArn": "3"}}, ARN),  # operator not implemented
        ({"DateGreaterThan": {"aws:CurrentTime": "2026-01-01T00:00:00Z"}}, ARN),
        ({"StringEquals": {"aws:SourceAccount": ACCOUNT}}, ARN),  # key the request context does not know
        ({"ArnLikeIfExists": {"aws:SourceArn": FUNCTION}}, ARN),
        ({"Null": {"aws:SourceArn": "true"}}, ARN),
        ({"StringEquals": {"lambda:FunctionArn": "${aws:username}"}}, ARN),  # policy variable
        ({"ForSomeValues:StringEquals": {"lambda:FunctionArn": FUNCTION}}, ARN),
        ("not a block", ARN),
        ({"StringEquals": {"aws:SourceAccount": ACCOUNT}}, None),
    ],
)
def test_what_cannot_be_evaluated_refuses(condition: Any, context: Any) -> None:
    """An unknown operator, key or a policy variable: an Allow grants nothing, a Deny applies."""
    assert _decide(condition, context) == "implicit_deny"
    assert _decide(condition, context, effect="Deny") == "explicit_deny"


def test_a_known_failing_condition_outweighs_an_unknown_one() -> None:
    """A statement whose known condition fails applies neither as Allow nor as Deny, unknown ones aside."""
    condition = {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnLike": {"lambda:FunctionArn": OTHER},
    }
    assert _decide(condition, ARN) == "implicit_deny"
    assert _decide(condition, ARN, effect="Deny") == "allow"


def test_deny_conditions() -> None:
    """A Deny applies only where its evaluable condition holds."""
    condition = {"ArnNotLike": {"lambda:FunctionArn": f"{FUNCTION}*"}}
    assert _decide(condition, ARN_OTHER, effect="Deny") == "explicit_deny"
    assert _decide(condition, ARN, effect="Deny") == "allow"
    assert _decide(condition, NO_ARN, effect="Deny") == "explicit_deny"  # absent: a negated op holds


@pytest.mark.parametrize("operation", ["GetEventSourceMapping", "DeleteEventSourceMapping"])
def test_mapping_actions_act_on_the_mapping_arn(operation: str) -> None:
    """Get and Delete need the action on the mapping's ARN; they carry no lambda:FunctionArn."""
    needed = required_permissions("lambda", operation, {"UUID": UUID}, REGION, ACCOUNT)
    assert needed == [Permission(f"lambda:{operation}", MAPPING, {"lambda:FunctionArn": ()})]


def test_update_mapping_carries_the_function_it_names() -> None:
    """UpdateEventSourceMapping is on the mapping; a FunctionName becomes lambda:FunctionArn."""
    plain = required_permissions("lambda", "UpdateEventSourceMapping", {"UUID": UUID}, REGION, ACCOUNT)
    assert plain == [Permission(ACTION, MAPPING, {"lambda:FunctionArn": ()})]
    params = {"UUID": UUID, "FunctionName": "shop-payments:live", "Enabled": False}
    named = required_permissions("lambda", "UpdateEventSourceMapping", params, REGION, ACCOUNT)
    assert named == [Permission(ACTION, MAPPING, {"lambda:FunctionArn": (f"{OTHER}:live",)})]


def test_create_and_list_mappings_need_star() -> None:
    """CreateEventSourceMapping (with lambda:FunctionArn) and ListEventSourceMappings act on "*"."""
    params = {"FunctionName": FUNCTION, "EventSourceArn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders"}
    created = required_permissions("lambda", "CreateEventSourceMapping", params, REGION, ACCOUNT)
    assert created == [
        Permission("lambda:CreateEventSourceMapping", "*", {"lambda:FunctionArn": (FUNCTION,)})
    ]
    listed = required_permissions("lambda", "ListEventSourceMappings", {"FunctionName": "f"}, REGION, ACCOUNT)
    assert listed == [Permission("lambda:ListEventSourceMappings", "*")]


def test_protect_module_statement_against_resolved_permissions() -> None:
    """The protect module's statement allows Get and a disabling Update of its mapping, not a repointing."""
    statement = {
        "Sid": "DisableListedEventSources",
        "Effect": "Allow",
        "Action": ["lambda:GetEventSourceMapping", "lambda:UpdateEventSourceMapping"],
        "Resource": [MAPPING],
        "Condition": {"ArnLikeIfExists": {"lambda:FunctionArn": [FUNCTION, f"{FUNCTION}:*"]}},
    }
    policy = {"Version": "2012-10-17", "Statement": [statement]}

    def decision(operation: str, **params: Any) -> str:
        [needed] = required_permissions("lambda", operation, {"UUID": UUID, **params}, REGION, ACCOUNT)
        return evaluate([policy], needed.action, needed.resource, needed.context)

    assert decision("GetEventSourceMapping") == "allow"
    assert decision("UpdateEventSourceMapping", Enabled=False) == "allow"
    assert decision("UpdateEventSourceMapping", FunctionName="shop-orders") == "allow"
    assert decision("UpdateEventSourceMapping", FunctionName="shop-payments") == "implicit_deny"
    assert decision("DeleteEventSourceMapping") == "implicit_deny"
    [other] = required_permissions("lambda", "GetEventSourceMapping", {"UUID": "other"}, REGION, ACCOUNT)
    assert evaluate([policy], other.action, other.resource, other.context) == "implicit_deny"


@pytest.mark.parametrize(
    ("operation", "action"),
    [
        ("SendMessageBatch", "sqs:SendMessage"),
        ("DeleteMessageBatch", "sqs:DeleteMessage"),
        ("ChangeMessageVisibilityBatch", "sqs:ChangeMessageVisibility"),
        ("SendMessage", "sqs:SendMessage"),
    ],
)
def test_sqs_batch_calls_need_the_single_message_action(operation: str, action: str) -> None:
    """SQS authorises a batch call with its single-message action, as AWS's SQS permissions reference says."""
    queue = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/orders"
    [permission] = required_permissions("sqs", operation, {"QueueUrl": queue}, REGION, ACCOUNT)
    assert permission.action == action
