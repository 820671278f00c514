"""IAM enforced locally: the healer, running with its role's credentials, is bound by that role's policies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from conftest import AwsFactory, failure_rate, invoke_healer
from selfheal.cloud import LocalCloud
from selfheal.cloud.testing import ProvisionedLoop, provision_loop

CLOUD_TIME_SCALE = 60.0
pytestmark = pytest.mark.timeout(180)

# Short verification (1 real second at k=60), no cooldown between this module's loops.
LOOP = {"failure_rate": 1.0, "healer_verify_timeout_seconds": 60, "healer_cooldown_seconds": 0}


def _loop(cloud: LocalCloud, prefix: str) -> ProvisionedLoop:
    return provision_loop(cloud, name_prefix=prefix, **LOOP)


def _replace_lambda_policy(aws: AwsFactory, loop: ProvisionedLoop, actions: list[str], resource: str) -> None:
    statement = {"Effect": "Allow", "Action": actions, "Resource": resource}
    aws("iam").put_role_policy(
        RoleName=loop.healer_role_arn.rsplit("/", 1)[1],
        PolicyName="lambda-config",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
    )


def _function_arn(cloud: LocalCloud, name: str) -> str:
    return f"arn:aws:lambda:{cloud.region}:{cloud.account_id}:function:{name}"


def _role_client(cloud: LocalCloud, loop: ProvisionedLoop, service: str, **overrides: str) -> Any:
    issued = cloud.credentials.issue(loop.healer_role_arn, loop.healer_function_name)
    keys = {
        "aws_access_key_id": issued.access_key_id,
        "aws_secret_access_key": issued.secret_access_key,
        "aws_session_token": issued.session_token,
        **overrides,
    }
    return boto3.client(  # type: ignore[call-overload]
        service, endpoint_url=cloud.endpoint, region_name=cloud.region, **keys
    )


def test_healer_environment_holds_role_credentials_not_test_keys(cloud: LocalCloud, aws: AwsFactory) -> None:
    """The healer's execution environment is given an STS session of its own role, not the test keys."""
    loop = _loop(cloud, "creds")
    invoke_healer(aws, cloud, "creds")
    pids = cloud.lambdas.child_pids()
    environments = []
    for pid in pids:
        raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        env = dict(item.decode().split("=", 1) for item in raw if b"=" in item)
        if env.get("AWS_LAMBDA_FUNCTION_NAME") == loop.healer_function_name:
            environments.append(env)
    assert environments, f"no healer environment among {pids}"
    for env in environments:
        assert env["AWS_ACCESS_KEY_ID"].startswith("ASIA") and env["AWS_SECRET_ACCESS_KEY"] != "testing"
        assert cloud.credentials.issued(env["AWS_ACCESS_KEY_ID"])
    identity = _role_client(cloud, loop, "sts").get_caller_identity()
    assert identity["Arn"].endswith(f":assumed-role/{loop.healer_role_arn.rsplit('/', 1)[1]}/creds-healer")


def test_healer_without_update_permission_escalates(cloud: LocalCloud, aws: AwsFactory) -> None:
    """Without lambda:UpdateFunctionConfiguration: AccessDeniedException, escalation, rate unchanged."""
    loop = _loop(cloud, "noupdate")
    fragile = _function_arn(cloud, loop.fragile_function_name)
    _replace_lambda_policy(aws, loop, ["lambda:GetFunctionConfiguration"], fragile)
    refusals = cloud.iam.refusals

    summary = invoke_healer(aws, cloud, "noupdate")

    assert (summary["decision"], summary["code"]) == ("escalate", "permanent_error"), summary
    assert "AccessDeniedException" in summary["reason"]
    assert "lambda:UpdateFunctionConfiguration" in summary["reason"]
    assert summary["escalated"] is True and summary["escalation_delivered"] is True
    assert failure_rate(aws, "noupdate") == "1.0"
    assert cloud.iam.refusals == refusals + 1


def test_healer_scoped_to_another_function_escalates(cloud: LocalCloud, aws: AwsFactory) -> None:
    """A policy naming another function's ARN denies reading the target: escalation, nothing changed."""
    loop = _loop(cloud, "otherarn")
    other = _function_arn(cloud, "otherarn-some-other-function")
    _replace_lambda_policy(
        aws, loop, ["lambda:GetFunctionConfiguration", "lambda:UpdateFunctionConfiguration"], other
    )

    summary = invoke_healer(aws, cloud, "otherarn")

    assert (summary["decision"], summary["code"]) == ("escalate", "target_unreadable"), summary
    assert "AccessDeniedException" in summary["reason"]
    assert summary["escalation_delivered"] is True
    assert failure_rate(aws, "otherarn") == "1.0"


def test_healer_with_module_policy_heals(cloud: LocalCloud, aws: AwsFactory) -> None:
    """With provision_loop's policies (healer_iam.tf's), the healer sets FAILURE_RATE=0 under enforcement."""
    _loop(cloud, "allowed")
    refusals = cloud.iam.refusals

    summary = invoke_healer(aws, cloud, "allowed")

    assert summary["action_taken"].startswith("set_env FAILURE_RATE=0 "), summary
    assert failure_rate(aws, "allowed") == "0"
    assert cloud.iam.refusals == refusals


def test_explicit_deny_overrides_the_allow(cloud: LocalCloud, aws: AwsFactory) -> None:
    """An explicit Deny beside the module's Allow refuses the update with AWS's explicit-deny wording."""
    loop = _loop(cloud, "denied")
    deny = {"Effect": "Deny", "Action": "lambda:Update*", "Resource": "*"}
    aws("iam").put_role_policy(
        RoleName=loop.healer_role_arn.rsplit("/", 1)[1],
        PolicyName="deny-updates",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [deny]}),
    )
    with pytest.raises(ClientError) as denied:
        _role_client(cloud, loop, "lambda").update_function_configuration(
            FunctionName=loop.fragile_function_name, Description="x"
        )
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "explicit deny" in denied.value.response["Error"]["Message"]
    assert failure_rate(aws, "denied") == "1.0"


def test_forged_signature_and_token_are_refused(cloud: LocalCloud) -> None:
    """A role's key id with a wrong secret or a wrong session token is refused before any policy check."""
    loop = _loop(cloud, "forged")
    with pytest.raises(ClientError) as wrong_secret:
        _role_client(cloud, loop, "lambda", aws_secret_access_key="guess").get_function_configuration(
            FunctionName=loop.fragile_function_name
        )
    # Lambda is a JSON service: AWS names a bad signature InvalidSignatureException there.
    assert wrong_secret.value.response["Error"]["Code"] == "InvalidSignatureException"
    with pytest.raises(ClientError) as wrong_token:
        _role_client(cloud, loop, "lambda", aws_session_token="guess").get_function_configuration(
            FunctionName=loop.fragile_function_name
        )
    assert wrong_token.value.response["Error"]["Code"] == "UnrecognizedClientException"


def test_operator_credentials_act_as_root(cloud: LocalCloud, aws: AwsFactory) -> None:
    """The operator key is not an IAM principal: it may do what no role policy grants."""
    loop = _loop(cloud, "rootok")
    aws("lambda").update_function_configuration(FunctionName=loop.healer_function_name, Description="by root")
    assert aws("dynamodb").scan(TableName=loop.ledger_table_name)["Count"] == 0
    with pytest.raises(ClientError) as scan:
        _role_client(cloud, loop, "dynamodb").scan(TableName=loop.ledger_table_name)
    assert scan.value.response["Error"]["Code"] == "AccessDeniedException"
