"""Names as the real AWS provider makes them (``name_prefix`` + 26 characters, ``terraform-`` + 26 when
unnamed), runtimes and types the local cloud cannot serve refused at plan, and ``data "aws_iam_policy"``,
through real Terraform against one LocalCloud."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from selfheal.cloud import LocalCloud
from selfheal.terraform.aws_resources._common import name_prefix_from_name, unique_name
from selfheal.terraform.driver import Terraform
from selfheal.terraform.testing import terraform_fixture

pytestmark = pytest.mark.timeout(300)

#: The real provider's generated suffix: UTC time to 1/10000 s (18 digits) and an 8-hex-digit counter.
SUFFIX = r"\d{18}[0-9a-f]{8}"

NAMES_TF = """
locals {
  assume = jsonencode({ Version = "2012-10-17", Statement = [{
    Effect = "Allow", Action = "sts:AssumeRole", Principal = { Service = "lambda.amazonaws.com" }
  }] })
  allow_logs = jsonencode({ Version = "2012-10-17", Statement = [{
    Effect = "Allow", Action = "logs:PutLogEvents", Resource = "*"
  }] })
}

resource "aws_iam_role" "one" {
  assume_role_policy = local.assume
}

resource "aws_iam_role" "two" {
  assume_role_policy = local.assume
}

resource "aws_iam_role" "prefixed" {
  name_prefix        = "svc-"
  assume_role_policy = local.assume
}

resource "aws_iam_role_policy" "first" {
  role   = aws_iam_role.one.id
  policy = local.allow_logs
}

resource "aws_iam_role_policy" "second" {
  role   = aws_iam_role.one.id
  policy = local.allow_logs
}

resource "aws_iam_policy" "unnamed" {
  policy = local.allow_logs
}

resource "aws_iam_policy" "prefixed" {
  name_prefix = "pol-"
  policy      = local.allow_logs
}

resource "aws_sns_topic" "unnamed" {}

resource "aws_sns_topic" "fifo" {
  name_prefix = "events-"
  fifo_topic  = true
}

resource "aws_sqs_queue" "unnamed" {}

resource "aws_sqs_queue" "prefixed" {
  name_prefix = "jobs-"
}

resource "aws_cloudwatch_log_group" "unnamed" {}

resource "aws_cloudwatch_log_group" "prefixed" {
  name_prefix = "/app/"
}

data "archive_file" "code" {
  type                    = "zip"
  source_content          = "def handler(event, context):\\n    return event\\n"
  source_content_filename = "app.py"
  output_path             = "${path.module}/build/code.zip"
}

resource "aws_lambda_function" "fn" {
  function_name    = "names-fn"
  role             = aws_iam_role.one.arn
  runtime          = "python3.12"
  handler          = "app.handler"
  filename         = data.archive_file.code.output_path
  source_code_hash = data.archive_file.code.output_base64sha256
}

resource "aws_lambda_permission" "unnamed" {
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.fn.function_name
  principal     = "sns.amazonaws.com"
  source_arn    = aws_sns_topic.unnamed.arn
}

resource "aws_lambda_permission" "prefixed" {
  statement_id_prefix = "AllowEvents-"
  action              = "lambda:InvokeFunction"
  function_name       = aws_lambda_function.fn.function_name
  principal           = "events.amazonaws.com"
}

data "aws_iam_policy" "basic" {
  name = "AWSLambdaBasicExecutionRole"
}

data "aws_iam_policy" "by_arn" {
  arn = "arn:aws:iam::aws:policy/ReadOnlyAccess"
}

data "aws_iam_policy" "mine" {
  arn = aws_iam_policy.prefixed.arn
}

data "aws_caller_identity" "me" {}
data "aws_region" "here" {}
data "aws_partition" "p" {}

output "basic" {
  value = [data.aws_iam_policy.basic.arn, data.aws_iam_policy.basic.path, data.aws_iam_policy.basic.policy]
}

output "by_arn" { value = data.aws_iam_policy.by_arn.name }
output "mine" { value = [data.aws_iam_policy.mine.name, data.aws_iam_policy.mine.policy_id] }
output "account" {
  value = [
    data.aws_caller_identity.me.account_id, data.aws_region.here.region, data.aws_partition.p.partition
  ]
}
"""


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    """One LocalCloud for the module (AWS-managed policies loaded)."""
    with LocalCloud(port=0) as running:
        yield running


def _terraform(cloud: LocalCloud, directory: Path, config: str) -> Terraform:
    tf = terraform_fixture(directory, config, cloud.endpoint, credentials=cloud.operator_key.environment())
    tf.init()
    return tf


def test_generated_names_match_the_real_provider() -> None:
    """unique_name is prefix + 26 characters, increasing; name_prefix is read back from such a name only."""
    first, second = unique_name(), unique_name("svc-")
    assert re.fullmatch(f"terraform-{SUFFIX}", first) and re.fullmatch(f"svc-{SUFFIX}", second)
    assert second[4:] > first[10:]
    assert name_prefix_from_name(second) == "svc-" and name_prefix_from_name(first) == "terraform-"
    assert name_prefix_from_name(f"{second}.fifo", ".fifo") == "svc-"
    assert name_prefix_from_name("orders") is None and name_prefix_from_name("x" * 40) is None


def test_unnamed_and_prefixed_resources_get_unique_names_and_converge(
    cloud: LocalCloud, tmp_path: Path
) -> None:
    """Plan shows generated names as known after apply; apply gives AWS-style unique names (two unnamed
    roles and two inline policies on one role coexist); the next plan is empty; data aws_iam_policy finds
    AWS-managed and own policies by name or ARN."""
    tf = _terraform(cloud, tmp_path, NAMES_TF)
    planned = tf.plan()
    unknown_names = re.findall(r'# (\S+) will be created(?:(?!# ).)*?\+ name\s+= \(known after apply\)',
                               planned.stdout, re.S)  # fmt: skip
    assert {"aws_iam_role.one", "aws_sqs_queue.prefixed", "aws_sns_topic.unnamed"} <= set(unknown_names)
    assert "Unknown" not in planned.stdout

    tf.apply()
    res = tf.resources()

    def name(address: str) -> str:
        return str(res[address]["name"])

    assert re.fullmatch(f"terraform-{SUFFIX}", name("aws_iam_role.one"))
    assert re.fullmatch(f"terraform-{SUFFIX}", name("aws_iam_role.two"))
    assert name("aws_iam_role.one") != name("aws_iam_role.two")
    assert re.fullmatch(f"svc-{SUFFIX}", name("aws_iam_role.prefixed"))
    assert res["aws_iam_role.prefixed"]["name_prefix"] == "svc-"
    assert re.fullmatch(f"terraform-{SUFFIX}", name("aws_iam_policy.unnamed"))
    assert re.fullmatch(f"pol-{SUFFIX}", name("aws_iam_policy.prefixed"))
    assert re.fullmatch(f"terraform-{SUFFIX}", name("aws_sns_topic.unnamed"))
    assert re.fullmatch(f"events-{SUFFIX}\\.fifo", name("aws_sns_topic.fifo"))
    assert res["aws_sns_topic.fifo"]["name_prefix"] == "events-"
    assert re.fullmatch(f"terraform-{SUFFIX}", name("aws_sqs_queue.unnamed"))
    assert re.fullmatch(f"jobs-{SUFFIX}", name("aws_sqs_queue.prefixed"))
    assert re.fullmatch(f"terraform-{SUFFIX}", name("aws_cloudwatch_log_group.unnamed"))
    assert re.fullmatch(f"/app/{SUFFIX}", name("aws_cloudwatch_log_group.prefixed"))

    sids = {
        res[a]["statement_id"] for a in ("aws_lambda_permission.unnamed", "aws_lambda_permission.prefixed")
    }
    assert re.fullmatch(f"terraform-{SUFFIX}", res["aws_lambda_permission.unnamed"]["statement_id"])
    assert re.fullmatch(f"AllowEvents-{SUFFIX}", res["aws_lambda_permission.prefixed"]["statement_id"])
    policy = cloud.client("lambda").get_policy(FunctionName="names-fn")["Policy"]
    assert all(sid in policy for sid in sids)

    iam = cloud.client("iam")
    role = name("aws_iam_role.one")
    inline = sorted(iam.list_role_policies(RoleName=role)["PolicyNames"])
    assert inline == sorted([name("aws_iam_role_policy.first"), name("aws_iam_role_policy.second")])
    assert len(set(inline)) == 2 and all(re.fullmatch(f"terraform-{SUFFIX}", n) for n in inline)
    queues = cloud.client("sqs").list_queues()["QueueUrls"]
    assert {u.rsplit("/", 1)[1] for u in queues} == {
        name("aws_sqs_queue.unnamed"),
        name("aws_sqs_queue.prefixed"),
    }

    out = tf.output()
    arn, path, document = out["basic"]
    assert arn == "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    assert path == "/service-role/" and "logs:PutLogEvents" in document
    assert out["by_arn"] == "ReadOnlyAccess"
    assert out["mine"][0] == name("aws_iam_policy.prefixed") and out["mine"][1]
    assert out["account"] == ["123456789012", "us-east-1", "aws"]

    assert tf.plan().rc == 0  # converged: the generated names are kept
    tf.destroy()
    assert not [r for r in iam.list_roles()["Roles"] if r["RoleName"].startswith(("terraform-", "svc-"))]


def test_what_the_local_cloud_cannot_run_fails_at_plan(cloud: LocalCloud, tmp_path: Path) -> None:
    """A non-Python runtime, a runtime AWS retired, an unsupported resource type (the supported ones listed)
    and a policy that does not exist all fail at plan with a diagnostic naming them; nothing is created."""
    tf = _terraform(
        cloud,
        tmp_path,
        """
        resource "aws_lambda_function" "node" {
          function_name = "node-fn"
          role          = "arn:aws:iam::123456789012:role/r"
          runtime       = "nodejs20.x"
          handler       = "index.handler"
          filename      = "code.zip"
        }

        resource "aws_lambda_function" "old" {
          function_name = "old-fn"
          role          = "arn:aws:iam::123456789012:role/r"
          runtime       = "python3.8"
          handler       = "app.handler"
          filename      = "code.zip"
        }

        resource "aws_api_gateway_account" "settings" {}
        """,
    )
    failed = tf.plan(check=False)
    assert failed.rc == 1
    text = " ".join(failed.stderr.split())
    assert "runtime nodejs20.x is not supported by the selfheal local cloud" in text
    assert "python3.12" in text  # the runtimes it runs are named
    assert "The runtime parameter of python3.8 is no longer supported" in text
    assert "aws_api_gateway_account" in text and "not supported by the selfheal local provider" in text
    assert "supported types are listed below" in text and "aws_sqs_queue," in text
    assert cloud.client("lambda").list_functions()["Functions"] == []

    (tmp_path / "main.tf").write_text(
        'data "aws_iam_policy" "missing" {\n  name = "NoSuchPolicyAnywhere"\n}\n'
    )
    missing = tf.plan(check=False)
    assert missing.rc == 1 and "no matching IAM Policy found" in missing.stderr
