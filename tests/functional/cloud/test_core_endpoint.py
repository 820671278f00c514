"""The local cloud's one endpoint: several AWS services through boto3, mounted apps, loopback only."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import httpx
import pytest

from selfheal.cloud import LocalCloud

AwsFactory = Callable[..., Any]


def test_boto3_reaches_several_services(aws: AwsFactory, lambda_role: str, lambda_zip: Any) -> None:
    """IAM, STS, DynamoDB, SNS, SQS, KMS, API Gateway v2 and Lambda all answer on the one endpoint."""
    assert aws("sts").get_caller_identity()["Account"] == "123456789012"
    aws("dynamodb").create_table(
        TableName="ledger",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    assert aws("dynamodb").describe_table(TableName="ledger")["Table"]["TableStatus"] == "ACTIVE"
    topic = aws("sns").create_topic(Name="alarms")["TopicArn"]
    assert topic.endswith(":alarms")
    assert aws("sqs").create_queue(QueueName="dlq")["QueueUrl"].endswith("/dlq")
    assert aws("kms").create_key()["KeyMetadata"]["KeyId"]
    assert aws("apigatewayv2").create_api(Name="api", ProtocolType="HTTP")["ApiId"]
    created = aws("lambda").create_function(
        FunctionName="endpoint-fn",
        Runtime="python3.11",
        Role=lambda_role,
        Handler="app.handler",
        Code={"ZipFile": lambda_zip(files={"app.py": "def handler(event, context):\n    return 41 + 1\n"})},
    )
    assert created["FunctionName"] == "endpoint-fn"
    aws("lambda").get_waiter("function_active_v2").wait(
        FunctionName="endpoint-fn", WaiterConfig={"Delay": 0.05}
    )
    assert aws("lambda").invoke(FunctionName="endpoint-fn")["Payload"].read() == b"42"


def test_mounted_prefix_is_served_before_moto(cloud: LocalCloud) -> None:
    """A WSGI app mounted on a prefix answers paths under it; other paths still reach moto."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"path": environ["PATH_INFO"]}).encode()]

    cloud.mount("/_probe/", app)
    assert httpx.get(f"{cloud.endpoint}/_probe/a/b").json() == {"path": "/_probe/a/b"}
    with pytest.raises(ValueError, match="already mounted"):
        cloud.mount("/_probe/", app)
    with pytest.raises(ValueError, match="mount prefix"):
        cloud.mount("no-slash", app)


def test_backend_returns_the_state_behind_the_api(aws: AwsFactory, cloud: LocalCloud) -> None:
    """``backend`` gives moto's backend holding what the API created, including global IAM."""
    aws("sqs").create_queue(QueueName="seen-by-backend")
    assert "seen-by-backend" in cloud.backend("sqs").queues
    assert cloud.backend("iam").account_id == cloud.account_id
    with pytest.raises(ValueError, match="no backend"):
        cloud.backend("no-such-service")


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com", "::"])
def test_refuses_non_loopback_hosts(host: str) -> None:
    """A LocalCloud cannot be created to bind anything but a loopback address."""
    with pytest.raises(ValueError, match="loopback"):
        LocalCloud(host=host, port=0)
