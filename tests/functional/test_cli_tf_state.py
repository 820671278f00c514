"""`selfheal tf import`, `state list`, `state show` and `-var-file=…` end to end: the real CLI, real
Terraform, one LocalCloud."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from selfheal.cloud import LocalCloud
from selfheal.cloud.credentials import load_or_create

pytestmark = pytest.mark.timeout(300)

MAIN_TF = """\
terraform {
  required_providers {
    aws  = { source = "hashicorp/aws", version = "~> 6.0" }
    null = { source = "hashicorp/null" }
    time = { source = "hashicorp/time" }
  }
}

variable "queue_name" {
  type        = string
  description = "Name of the orders queue."
}

variable "retention_seconds" {
  type        = number
  description = "How long the queue keeps a message."
  default     = 345600
}

resource "aws_sqs_queue" "orders" {
  name                      = var.queue_name
  message_retention_seconds = var.retention_seconds
}

resource "aws_sns_topic" "alerts" {
  name = "cli-alerts"
}

resource "null_resource" "release" {
  triggers = { queue = aws_sqs_queue.orders.arn }
}

resource "time_static" "deployed" {}
"""
VAR_FILE = 'queue_name        = "orders-from-var-file"\nretention_seconds = 86400\n'
NO_AWS = ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_ACCESS_KEY_ID")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A work directory holding the operator key the cloud accepts."""
    return tmp_path_factory.mktemp("selfheal")


@pytest.fixture(scope="module")
def cloud(workdir: Path) -> Iterator[LocalCloud]:
    """A LocalCloud signed with the work directory's operator key."""
    with LocalCloud(port=0, operator_key=load_or_create(workdir / "credentials")) as running:
        yield running


def test_import_state_list_show_and_var_file(cloud: LocalCloud, workdir: Path, tmp_path: Path) -> None:
    """A topic made outside Terraform is imported with -var-file values; apply adds only the rest; state
    list/show report what is there; the plan is then empty; destroy removes everything."""
    (tmp_path / "main.tf").write_text(MAIN_TF)
    (tmp_path / "prod.tfvars").write_text(VAR_FILE)
    topic_arn = cloud.client("sns").create_topic(Name="cli-alerts")["TopicArn"]
    env = {k: v for k, v in os.environ.items() if k not in NO_AWS and not k.startswith("TF_")}

    def tf(*args: str, expect: tuple[int, ...] = (0,)) -> Any:
        result = subprocess.run(
            [
                sys.executable,
                "-c",
                "from selfheal.cli import main; main()",
                "tf",
                "--workdir",
                str(workdir),
                *args,
            ],
            cwd=tmp_path,
            env={**env, "AWS_ENDPOINT_URL": cloud.endpoint, "COLUMNS": "300"},
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert result.returncode in expect, result.stderr + result.stdout
        return result

    tf("init")
    imported = tf("import", "-var-file=prod.tfvars", "aws_sns_topic.alerts", topic_arn)
    assert "Import successful!" in imported.stdout

    missing_var = tf("plan", "-input=false", expect=(1,))
    assert "No value for required variable" in missing_var.stderr

    applied = tf("apply", "-auto-approve", "-var-file=prod.tfvars")
    assert "Apply complete! Resources: 3 added, 0 changed, 0 destroyed." in applied.stdout
    attrs = cloud.client("sqs").get_queue_attributes(
        QueueUrl=cloud.client("sqs").get_queue_url(QueueName="orders-from-var-file")["QueueUrl"],
        AttributeNames=["MessageRetentionPeriod"],
    )
    assert attrs["Attributes"]["MessageRetentionPeriod"] == "86400"

    listed = tf("state", "list").stdout.split()
    assert sorted(listed) == [
        "aws_sns_topic.alerts",
        "aws_sqs_queue.orders",
        "null_resource.release",
        "time_static.deployed",
    ]
    shown = tf("state", "show", "aws_sns_topic.alerts").stdout
    assert re.search(rf'\n\s+arn\s+= "{re.escape(topic_arn)}"\n', shown)
    assert re.search(r'\n\s+name\s+= "cli-alerts"\n', shown)

    assert tf("plan", "-detailed-exitcode", "-var-file=prod.tfvars").returncode == 0
    destroyed = tf("destroy", "-auto-approve", "-var-file=prod.tfvars")
    assert "Destroy complete! Resources: 4 destroyed." in destroyed.stdout
    assert cloud.client("sns").list_topics()["Topics"] == []
    assert cloud.client("sqs").list_queues().get("QueueUrls", []) == []
