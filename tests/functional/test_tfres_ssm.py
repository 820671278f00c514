"""SSM parameters of the local AWS provider through real Terraform, and Parameter Store's IAM, against an
enforcing LocalCloud."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from selfheal.cloud import LocalCloud
from selfheal.cloud.iam_permissions import Permission, required_permissions
from selfheal.cloud.testing import LAMBDA_TRUST_POLICY
from selfheal.terraform.driver import Terraform
from selfheal.terraform.testing import terraform_fixture

pytestmark = pytest.mark.timeout(300)

REGION, ACCOUNT = "us-east-1", "123456789012"
PARAMETER_ARN = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter"

MAIN_TF = """
variable "suffix" {
  type    = string
  default = ""
}

variable "description" {
  type    = string
  default = "alarm registry entry"
}

variable "tags" {
  type    = map(string)
  default = { team = "sre" }
}

resource "aws_kms_key" "params" {
  description = "parameters"
}

resource "aws_ssm_parameter" "registry" {
  name        = "/selfheal/tf/alarms/orders-errors${var.suffix}"
  type        = "String"
  value       = jsonencode({ schema_version = 1, function_name = "orders", mode = "auto" })
  description = var.description
  tier        = "Standard"
  tags        = var.tags
}

resource "aws_ssm_parameter" "kill_switch" {
  name  = "/selfheal/tf/kill-switch"
  type  = "String"
  value = "off"

  lifecycle {
    # Operators flip it with put-parameter --overwrite; Terraform must not flip it back.
    ignore_changes = [value]
  }
}

resource "aws_ssm_parameter" "list" {
  name  = "/selfheal/tf/list"
  type  = "StringList"
  value = "a,b"
  tier  = "Advanced"
}

resource "aws_ssm_parameter" "secret" {
  name   = "/selfheal/tf/secret"
  type   = "SecureString"
  value  = "s3cr3t"
  key_id = aws_kms_key.params.key_id
}

resource "aws_ssm_parameter" "plain" {
  name           = "/selfheal/tf/plain"
  type           = "String"
  insecure_value = "visible"
  data_type      = "text"
  overwrite      = true
  tags           = { team = "sre" }
}

data "aws_ssm_parameter" "registry" {
  name = aws_ssm_parameter.registry.name
}

output "registry_value" {
  value = data.aws_ssm_parameter.registry.insecure_value
}

output "registry_version" {
  value = data.aws_ssm_parameter.registry.version
}
"""


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud(port=0, enforce_iam=True) as running:
        yield running


def _terraform(cloud: LocalCloud, directory: Path, config: str) -> Terraform:
    """Terraform on ``config`` in ``directory``, against ``cloud`` as its operator."""
    return terraform_fixture(directory, config, cloud.endpoint, credentials=cloud.operator_key.environment())


def _tags(ssm: Any, name: str) -> dict[str, str]:
    tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)["TagList"]
    return {t["Key"]: t["Value"] for t in tags}


def _names(ssm: Any, prefix: str) -> list[str]:
    params = ssm.describe_parameters(
        ParameterFilters=[{"Key": "Name", "Option": "BeginsWith", "Values": [prefix]}]
    )["Parameters"]
    return sorted(p["Name"] for p in params)


def test_ssm_parameter_lifecycle(tmp_path: Path, cloud: LocalCloud) -> None:
    """Parameters of every type are created with the provider's defaults and read back; the plan after
    apply is empty; an operator's change of an ignored value holds; drift is reverted; description and
    tags update in place; a rename replaces; destroy removes them."""
    ssm = cloud.client("ssm")
    tf = _terraform(cloud, tmp_path, MAIN_TF)
    tf.init()
    tf.apply()
    state = tf.resources()

    registry = state["aws_ssm_parameter.registry"]
    name = "/selfheal/tf/alarms/orders-errors"
    assert json.loads(ssm.get_parameter(Name=name)["Parameter"]["Value"])["function_name"] == "orders"
    assert (registry["id"], registry["arn"], registry["version"]) == (name, f"{PARAMETER_ARN}{name}", 1)
    assert (registry["tier"], registry["data_type"], registry["insecure_value"]) == ("Standard", "text", None)
    assert (registry["tags_all"], _tags(ssm, name)) == ({"team": "sre"}, {"team": "sre"})
    assert registry["has_value_wo"] is False and registry["key_id"] is None

    secret = state["aws_ssm_parameter.secret"]
    key_id = state["aws_kms_key.params"]["key_id"]
    got = ssm.describe_parameters(
        ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": ["/selfheal/tf/secret"]}]
    )["Parameters"][0]
    assert (got["Type"], got["KeyId"], secret["key_id"]) == ("SecureString", key_id, key_id)
    assert secret["value"] == "s3cr3t" and secret["insecure_value"] is None  # never in the clear
    assert (
        ssm.get_parameter(Name="/selfheal/tf/secret", WithDecryption=True)["Parameter"]["Value"] == "s3cr3t"
    )

    listed = state["aws_ssm_parameter.list"]
    assert (listed["type"], listed["tier"], listed["value"]) == ("StringList", "Advanced", "a,b")
    plain = state["aws_ssm_parameter.plain"]
    assert (plain["insecure_value"], plain["value"]) == ("visible", None)
    assert _tags(ssm, "/selfheal/tf/plain") == {"team": "sre"}  # tagged after an overwriting put
    outputs = tf.output()
    assert json.loads(outputs["registry_value"])["mode"] == "auto" and outputs["registry_version"] == 1

    assert tf.plan().rc == 0, "plan after apply must be empty"

    # The operator's kill switch holds; the registry's tampered value is planned back.
    ssm.put_parameter(Name="/selfheal/tf/kill-switch", Value="on", Type="String", Overwrite=True)
    ssm.put_parameter(Name=name, Value="{}", Type="String", Overwrite=True)
    drift = tf.plan({"description": "updated", "tags": {"team": "platform"}})
    # (the data source reads the registry parameter again after it changes)
    assert {(c.address, c.action) for c in drift.changes} == {
        ("aws_ssm_parameter.registry", "update"),
        ("data.aws_ssm_parameter.registry", "read"),
    }
    assert "aws_ssm_parameter.kill_switch" in {c.address for c in drift.drift}
    tf.apply({"description": "updated", "tags": {"team": "platform"}})
    assert ssm.get_parameter(Name="/selfheal/tf/kill-switch")["Parameter"]["Value"] == "on"
    restored = ssm.get_parameter(Name=name)["Parameter"]
    assert json.loads(restored["Value"])["mode"] == "auto" and restored["Version"] == 3
    assert _tags(ssm, name) == {"team": "platform"}
    state = tf.resources()
    assert (
        state["aws_ssm_parameter.registry"]["version"],
        state["aws_ssm_parameter.registry"]["description"],
    ) == (
        3,
        "updated",
    )
    assert state["aws_ssm_parameter.kill_switch"]["version"] == 2
    assert tf.plan({"description": "updated", "tags": {"team": "platform"}}).rc == 0

    renamed = {"description": "updated", "tags": {"team": "platform"}, "suffix": "-2"}
    replace = tf.plan(renamed)
    assert {(c.address, c.action) for c in replace.changes} == {
        ("aws_ssm_parameter.registry", "replace"),
        ("data.aws_ssm_parameter.registry", "read"),
    }
    tf.apply(renamed)
    assert _names(ssm, "/selfheal/tf/alarms/") == [name + "-2"]

    tf.destroy(renamed)
    assert _names(ssm, "/selfheal/tf/") == []


def test_ssm_parameter_import_and_errors(tmp_path: Path, cloud: LocalCloud) -> None:
    """A parameter made outside Terraform imports to an empty plan; bad arguments fail at plan, naming
    the argument."""
    ssm = cloud.client("ssm")
    ssm.put_parameter(Name="/selfheal/imported", Value="x", Type="String", Description="made by hand")
    config = """
        resource "aws_ssm_parameter" "p" {
          name        = "/selfheal/imported"
          type        = "String"
          value       = "x"
          description = "made by hand"
        }
    """
    tf = _terraform(cloud, tmp_path / "import", config)
    tf.init()
    assert tf.import_("aws_ssm_parameter.p", "/selfheal/imported").rc == 0
    assert tf.resources()["aws_ssm_parameter.p"]["tier"] == "Standard"
    assert tf.plan().rc == 0
    tf.destroy()
    assert _names(ssm, "/selfheal/imported") == []

    bad = """
        resource "aws_ssm_parameter" "p" {
          name           = "/selfheal/bad"
          type           = "SecureString"
          insecure_value = "x"
        }
        resource "aws_ssm_parameter" "q" {
          name  = "/selfheal/bad2"
          type  = "Strin"
          value = "x"
        }
    """
    tf = _terraform(cloud, tmp_path / "bad", bad)
    tf.init()
    plan = tf.plan(check=False)
    assert plan.rc == 1
    assert "cannot set type = SecureString and insecure_value" in plan.stderr
    assert "expected type to be one of" in plan.stderr
    assert "Traceback" not in plan.stderr


def test_parameter_store_permissions_resolve_to_parameter_arns() -> None:
    """Names (with a version selector), name lists, paths and tagging calls resolve to parameter ARNs."""
    assert required_permissions("ssm", "GetParameter", {"Name": "/selfheal/a:3"}, REGION, ACCOUNT) == [
        Permission("ssm:GetParameter", f"{PARAMETER_ARN}/selfheal/a")
    ]
    assert required_permissions("ssm", "GetParameters", {"Names": ["x", "/y"]}, REGION, ACCOUNT) == [
        Permission("ssm:GetParameters", f"{PARAMETER_ARN}/x"),
        Permission("ssm:GetParameters", f"{PARAMETER_ARN}/y"),
    ]
    assert required_permissions("ssm", "GetParametersByPath", {"Path": "/selfheal"}, REGION, ACCOUNT) == [
        Permission("ssm:GetParametersByPath", f"{PARAMETER_ARN}/selfheal")
    ]
    tagging = {"ResourceType": "Parameter", "ResourceId": "/selfheal/a"}
    assert required_permissions("ssm", "AddTagsToResource", tagging, REGION, ACCOUNT) == [
        Permission("ssm:AddTagsToResource", f"{PARAMETER_ARN}/selfheal/a")
    ]
    assert required_permissions("ssm", "DescribeParameters", {}, REGION, ACCOUNT) == [
        Permission("ssm:DescribeParameters", "*")
    ]


def _role_client(cloud: LocalCloud, role: str, policy: dict[str, Any]) -> Any:
    iam = cloud.client("iam")
    arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=LAMBDA_TRUST_POLICY)["Role"]["Arn"]
    iam.put_role_policy(RoleName=role, PolicyName="p", PolicyDocument=json.dumps(policy))
    issued = cloud.credentials.issue(arn, role)
    return boto3.client(
        "ssm",
        endpoint_url=cloud.endpoint,
        region_name=cloud.region,
        aws_access_key_id=issued.access_key_id,
        aws_secret_access_key=issued.secret_access_key,
        aws_session_token=issued.session_token,
    )


def test_parameter_store_iam_is_enforced(cloud: LocalCloud) -> None:
    """Without ssm:GetParameter a role is denied; with it scoped to a path, it reads that path only."""
    ssm = cloud.client("ssm")
    ssm.put_parameter(Name="/selfheal/iam/alarms/a", Value="{}", Type="String")
    ssm.put_parameter(Name="/other/secret", Value="s", Type="String")
    reader = _role_client(
        cloud,
        "registry-reader",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["ssm:GetParameter", "ssm:GetParametersByPath"],
                    "Resource": f"{PARAMETER_ARN}/selfheal/iam/*",
                }
            ],
        },
    )
    stranger = _role_client(
        cloud,
        "no-ssm",
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"}],
        },
    )
    refusals = cloud.iam.refusals

    assert reader.get_parameter(Name="/selfheal/iam/alarms/a")["Parameter"]["Value"] == "{}"
    by_path = reader.get_parameters_by_path(Path="/selfheal/iam/alarms")["Parameters"]
    assert [p["Name"] for p in by_path] == ["/selfheal/iam/alarms/a"]
    with pytest.raises(ClientError) as missing:  # allowed, then not found: an unregistered alarm
        reader.get_parameter(Name="/selfheal/iam/alarms/unknown")
    assert missing.value.response["Error"]["Code"] == "ParameterNotFound"

    for client, name in ((reader, "/other/secret"), (stranger, "/selfheal/iam/alarms/a")):
        with pytest.raises(ClientError) as denied:
            client.get_parameter(Name=name)
        error = denied.value.response["Error"]
        assert error["Code"] == "AccessDeniedException"
        assert f"ssm:GetParameter on resource: {PARAMETER_ARN}{name}" in error["Message"]
    with pytest.raises(ClientError) as put:
        reader.put_parameter(Name="/selfheal/iam/alarms/a", Value="x", Type="String", Overwrite=True)
    assert put.value.response["Error"]["Code"] == "AccessDeniedException"
    assert cloud.iam.refusals == refusals + 3
    for name in ("/selfheal/iam/alarms/a", "/other/secret"):
        ssm.delete_parameter(Name=name)
