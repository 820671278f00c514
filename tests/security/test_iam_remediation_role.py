"""IAM enforced locally: a healer whose own role holds no grant on the function acts through the
function's remediation role (the protect module's layout), and is stopped when it may not assume it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conftest import AwsFactory, failure_rate, invoke_healer
from selfheal.cloud import LocalCloud
from selfheal.cloud.testing import ProvisionedLoop, provision_loop

pytestmark = pytest.mark.timeout(180)

LOOP = {"failure_rate": 1.0, "healer_verify_timeout_seconds": 60, "healer_cooldown_seconds": 0}
# The function grants provision_loop puts on the healer's own role: moved to the remediation role here.
FUNCTION_GRANTS = ("lambda-config", "describe-alarm")


def _document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _remediation_layout(aws: AwsFactory, loop: ProvisionedLoop, prefix: str, trusted: str) -> str:
    """Move the function grants from the healer's role to a remediation role trusting ``trusted``, let the
    healer's role assume the roles under the platform's path, and name the role in the registry entry."""
    iam = aws("iam")
    healer_role = loop.healer_role_arn.rsplit("/", 1)[1]
    path = f"/selfheal/{prefix}/"
    role = iam.create_role(
        RoleName=f"heal-{prefix}-fragile",
        Path=path,
        AssumeRolePolicyDocument=_document(
            {"Effect": "Allow", "Principal": {"AWS": trusted}, "Action": "sts:AssumeRole"}
        ),
    )["Role"]
    for name in FUNCTION_GRANTS:
        policy = iam.get_role_policy(RoleName=healer_role, PolicyName=name)["PolicyDocument"]
        iam.put_role_policy(RoleName=role["RoleName"], PolicyName=name, PolicyDocument=json.dumps(policy))
        iam.delete_role_policy(RoleName=healer_role, PolicyName=name)
    account = loop.healer_role_arn.split(":")[4]
    iam.put_role_policy(
        RoleName=healer_role,
        PolicyName="assume-remediation-roles",
        PolicyDocument=_document(
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": f"arn:aws:iam::{account}:role{path}*"}
        ),
    )
    ssm = aws("ssm")
    name = f"/selfheal/{prefix}/alarms/{prefix}-fragile-errors"
    entry = json.loads(ssm.get_parameter(Name=name)["Parameter"]["Value"])
    ssm.put_parameter(
        Name=name, Value=json.dumps({**entry, "role_arn": role["Arn"]}), Type="String", Overwrite=True
    )
    assert role["Arn"] == f"arn:aws:iam::{account}:role{path}heal-{prefix}-fragile"
    return str(role["Arn"])


def _command(aws: AwsFactory, prefix: str, command: str, incident_id: str) -> dict[str, Any]:
    event = {"selfheal_command": command, "incident_id": incident_id, "operator": "tests"}
    response = aws("lambda").invoke(FunctionName=f"{prefix}-healer", Payload=json.dumps(event).encode())
    body: dict[str, Any] = json.loads(response["Payload"].read())
    return body


def test_healer_acts_and_restores_through_the_remediation_role(cloud: LocalCloud, aws: AwsFactory) -> None:
    """Its own role can no longer read the function, yet it heals and restores, with no refusal."""
    loop = provision_loop(cloud, name_prefix="viarole", **LOOP)
    _remediation_layout(aws, loop, "viarole", trusted=loop.healer_role_arn)
    refusals = cloud.iam.refusals

    summary = invoke_healer(aws, cloud, "viarole")

    assert summary["action_taken"].startswith("set_env FAILURE_RATE=0 "), summary
    assert failure_rate(aws, "viarole") == "0"
    restored = _command(aws, "viarole", "restore", summary["incident_id"])
    assert restored["rejected"] == [] and restored["results"][0]["restore"] == "restored", restored
    assert failure_rate(aws, "viarole") == "1.0"
    assert cloud.iam.refusals == refusals


def test_healer_without_the_function_grants_cannot_act_without_the_role(
    cloud: LocalCloud, aws: AwsFactory
) -> None:
    """The layout above really moved the grants: the same entry without its role_arn escalates."""
    loop = provision_loop(cloud, name_prefix="norole", **LOOP)
    _remediation_layout(aws, loop, "norole", trusted=loop.healer_role_arn)
    ssm = aws("ssm")
    name = "/selfheal/norole/alarms/norole-fragile-errors"
    entry = json.loads(ssm.get_parameter(Name=name)["Parameter"]["Value"])
    del entry["role_arn"]
    ssm.put_parameter(Name=name, Value=json.dumps(entry), Type="String", Overwrite=True)

    summary = invoke_healer(aws, cloud, "norole")

    assert (summary["decision"], summary["code"]) == ("escalate", "target_unreadable"), summary
    assert "AccessDeniedException" in summary["reason"]
    assert failure_rate(aws, "norole") == "1.0"


def test_role_that_does_not_trust_the_healer_escalates_and_changes_nothing(
    cloud: LocalCloud, aws: AwsFactory
) -> None:
    """A remediation role trusting another principal: AssumeRole is refused, the healer escalates
    ``target_unreadable`` naming the role and the refusal; the function is untouched."""
    loop = provision_loop(cloud, name_prefix="untrusted", **LOOP)
    other = aws("iam").create_role(
        RoleName="untrusted-someone-else",
        AssumeRolePolicyDocument=_document(
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ),
    )["Role"]["Arn"]
    role_arn = _remediation_layout(aws, loop, "untrusted", trusted=other)
    refusals = cloud.iam.refusals

    summary = invoke_healer(aws, cloud, "untrusted")

    assert (summary["decision"], summary["code"]) == ("escalate", "target_unreadable"), summary
    assert f"AssumeRole({role_arn}) failed: AccessDenied" in summary["reason"]
    assert summary["escalation_delivered"] is True
    assert failure_rate(aws, "untrusted") == "1.0"
    assert cloud.iam.refusals == refusals + 1
