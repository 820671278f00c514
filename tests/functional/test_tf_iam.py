"""IAM resources of the local AWS provider, applied by real Terraform against a moto server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from selfheal.terraform.testing import moto_endpoint, terraform_fixture

pytestmark = pytest.mark.timeout(240)

ROLE_TF = """
variable "description" {
  type    = string
  default = "first"
}

variable "role_name" {
  type    = string
  default = "tf-role"
}

resource "aws_iam_role" "r" {
  name        = var.role_name
  description = var.description
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = { Service = "lambda.amazonaws.com" }
    }]
  })
  tags = { team = "sre" }
}

resource "aws_iam_role_policy" "inline" {
  name   = "inline"
  role   = aws_iam_role.r.id
  policy = jsonencode({ Version = "2012-10-17", Statement = [{
    Effect = "Allow", Action = ["logs:PutLogEvents", "logs:CreateLogStream"], Resource = "*"
  }] })
}

resource "aws_iam_policy" "p" {
  name   = "tf-policy"
  policy = jsonencode({ Version = "2012-10-17", Statement = [{
    Effect = "Allow", Action = "sns:Publish", Resource = "*"
  }] })
}

resource "aws_iam_role_policy_attachment" "a" {
  role       = aws_iam_role.r.name
  policy_arn = aws_iam_policy.p.arn
}

output "role_arn" { value = aws_iam_role.r.arn }
"""


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_endpoint() as url:
        yield url


def _iam(endpoint: str):  # type: ignore[no-untyped-def]
    return boto3.client(
        "iam",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="t",
        aws_secret_access_key="t",
    )


def test_iam_lifecycle(tmp_path: Path, endpoint: str) -> None:
    """Apply creates the IAM resources, re-plan is empty, changes update or replace, destroy removes all."""
    tf = terraform_fixture(tmp_path, ROLE_TF, endpoint)
    tf.init()
    tf.apply()
    iam = _iam(endpoint)
    role = iam.get_role(RoleName="tf-role")["Role"]
    assert role["Description"] == "first"
    assert tf.output()["role_arn"] == role["Arn"]
    assert iam.get_role_policy(RoleName="tf-role", PolicyName="inline")["PolicyDocument"]["Statement"]
    attached = iam.list_attached_role_policies(RoleName="tf-role")["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["tf-policy"]

    assert tf.plan().rc == 0

    plan = tf.plan({"description": "second"})
    assert [(c.address, c.action) for c in plan.changes] == [("aws_iam_role.r", "update")]
    tf.apply({"description": "second"})
    assert iam.get_role(RoleName="tf-role")["Role"]["Description"] == "second"

    plan = tf.plan({"description": "second", "role_name": "tf-role-2"})
    actions = {c.address: c.action for c in plan.changes}
    assert actions["aws_iam_role.r"] == "replace"
    assert actions["aws_iam_role_policy.inline"] == "replace"

    tf.destroy({"description": "second"})
    assert iam.list_roles()["Roles"] == []
    assert iam.list_policies(Scope="Local")["Policies"] == []


def test_unknown_argument_is_rejected(tmp_path: Path, endpoint: str) -> None:
    """An argument the real provider does not have fails with Terraform's own error."""
    tf = terraform_fixture(
        tmp_path,
        'resource "aws_iam_role" "r" {\n  assume_role_policy = "{}"\n  colour = "blue"\n}\n',
        endpoint,
    )
    tf.init()
    res = tf.plan(check=False)
    assert res.rc == 1
    assert "Unsupported argument" in res.stderr
    assert "colour" in res.stderr
