"""IAM enforced locally on event source mappings: the protect module's statement, condition included."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from conftest import AwsFactory, handler_zip
from selfheal.cloud import LocalCloud

CLOUD_TIME_SCALE = 1.0
pytestmark = pytest.mark.timeout(120)

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


def _mapping(aws: AwsFactory, role_arn: str, name: str) -> tuple[str, str]:
    """A function ``name`` with an SQS mapping; returns (function ARN, mapping UUID)."""
    function = aws("lambda").create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=role_arn,
        Handler="app.handler",
        Code={"ZipFile": handler_zip()},
    )["FunctionArn"]
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=f"{name}-in")["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    uuid = aws("lambda").create_event_source_mapping(EventSourceArn=queue, FunctionName=name)["UUID"]
    return str(function), str(uuid)


def _protect_statement(cloud: LocalCloud, function_arn: str, uuids: list[str]) -> dict[str, Any]:
    """deploy/modules/protect/iam.tf's DisableListedEventSources statement, as Terraform renders it."""
    return {
        "Sid": "DisableListedEventSources",
        "Effect": "Allow",
        "Action": ["lambda:GetEventSourceMapping", "lambda:UpdateEventSourceMapping"],
        "Resource": [
            f"arn:aws:lambda:{cloud.region}:{cloud.account_id}:event-source-mapping:{uuid}" for uuid in uuids
        ],
        "Condition": {"ArnLikeIfExists": {"lambda:FunctionArn": [function_arn, f"{function_arn}:*"]}},
    }


def _code(error: ClientError) -> str:
    return str(error.response["Error"]["Code"])


def test_protect_statement_disables_its_mapping_only(cloud: LocalCloud, aws: AwsFactory) -> None:
    """With exactly the protect module's statement a role gets and disables its function's mapping, and
    is refused another function's mapping and pointing its mapping at another function."""
    iam = aws("iam")
    role_arn = iam.create_role(RoleName="esm-healer", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"][
        "Arn"
    ]
    orders, own = _mapping(aws, role_arn, "esm-orders")
    _, foreign = _mapping(aws, role_arn, "esm-payments")
    policy = {"Version": "2012-10-17", "Statement": [_protect_statement(cloud, orders, [own])]}
    iam.put_role_policy(RoleName="esm-healer", PolicyName="protect", PolicyDocument=json.dumps(policy))

    issued = cloud.credentials.issue(role_arn, "esm-healer")
    role = boto3.client(
        "lambda",
        endpoint_url=cloud.endpoint,
        region_name=cloud.region,
        aws_access_key_id=issued.access_key_id,
        aws_secret_access_key=issued.secret_access_key,
        aws_session_token=issued.session_token,
    )
    refusals = cloud.iam.refusals

    assert role.get_event_source_mapping(UUID=own)["FunctionArn"] == orders
    disabled = role.update_event_source_mapping(UUID=own, Enabled=False)
    assert disabled["UUID"] == own and disabled["State"] in ("Disabling", "Disabled")
    assert role.update_event_source_mapping(UUID=own, FunctionName="esm-orders", Enabled=True)["UUID"] == own
    assert cloud.iam.refusals == refusals

    with pytest.raises(ClientError) as foreign_refused:
        role.update_event_source_mapping(UUID=foreign, Enabled=False)
    assert _code(foreign_refused.value) == "AccessDeniedException"
    assert f"event-source-mapping:{foreign}" in str(foreign_refused.value)

    with pytest.raises(ClientError) as repoint_refused:  # the condition: lambda:FunctionArn is another's
        role.update_event_source_mapping(UUID=own, FunctionName="esm-payments")
    assert _code(repoint_refused.value) == "AccessDeniedException"
    assert f"event-source-mapping:{own}" in str(repoint_refused.value)

    with pytest.raises(ClientError) as list_refused:  # not granted: it would need "*"
        role.list_event_source_mappings(FunctionName="esm-orders")
    assert _code(list_refused.value) == "AccessDeniedException"
    assert cloud.iam.refusals == refusals + 3

    after = aws("lambda").get_event_source_mapping(UUID=foreign)
    assert after["FunctionArn"].endswith(":function:esm-payments") and after["State"] != "Disabled"
    assert aws("lambda").get_event_source_mapping(UUID=own)["FunctionArn"] == orders
