"""EventBridge Scheduler schedules and groups of the local AWS provider through real Terraform, against a
LocalCloud: create, read back and drift, in-place update, replace, import, delete, empty plan after apply."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from selfheal.cloud import LocalCloud
from selfheal.terraform.driver import Terraform
from selfheal.terraform.testing import terraform_fixture

pytestmark = pytest.mark.timeout(300)

REGION, ACCOUNT = "us-east-1", "123456789012"

MAIN_TF = r"""
variable "schedule_name" {
  type    = string
  default = "tf-nightly"
}

variable "expression" {
  type    = string
  default = "cron(0 3 * * ? *)"
}

variable "state" {
  type    = string
  default = "ENABLED"
}

variable "tags" {
  type    = map(string)
  default = { team = "sre" }
}

resource "aws_sqs_queue" "out" {
  name = "tf-scheduler-out"
}

resource "aws_sqs_queue" "dlq" {
  name = "tf-scheduler-dlq"
}

data "aws_iam_policy_document" "trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  name               = "tf-scheduler-role"
  assume_role_policy = data.aws_iam_policy_document.trust.json
}

resource "aws_scheduler_schedule_group" "jobs" {
  name = "tf-jobs"
  tags = var.tags
}

resource "aws_scheduler_schedule" "nightly" {
  name                         = var.schedule_name
  group_name                   = aws_scheduler_schedule_group.jobs.name
  description                  = "nightly job"
  schedule_expression          = var.expression
  schedule_expression_timezone = "Europe/Paris"
  state                        = var.state
  start_date                   = "2029-06-01T02:00:00+02:00"
  end_date                     = "2030-01-01T00:00:00Z"
  kms_key_arn                  = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"

  flexible_time_window {
    mode                      = "FLEXIBLE"
    maximum_window_in_minutes = 15
  }

  target {
    arn      = aws_sqs_queue.out.arn
    role_arn = aws_iam_role.scheduler.arn
    input    = jsonencode({ job = "nightly" })

    retry_policy {
      maximum_retry_attempts       = 3
      maximum_event_age_in_seconds = 3600
    }

    dead_letter_config {
      arn = aws_sqs_queue.dlq.arn
    }
  }
}

resource "aws_scheduler_schedule" "unnamed" {
  name_prefix         = "tick-"
  schedule_expression = "rate(1 day)"
  state               = "DISABLED"

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_sqs_queue.out.arn
    role_arn = aws_iam_role.scheduler.arn
  }
}
"""


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud(port=0) as running:
        yield running


def _terraform(cloud: LocalCloud, directory: Path, config: str) -> Terraform:
    return terraform_fixture(directory, config, cloud.endpoint, credentials=cloud.operator_key.environment())


def _names(scheduler: Any, group: str | None = None) -> list[str]:
    listed = scheduler.list_schedules(**({"GroupName": group} if group else {}))["Schedules"]
    return sorted(s["Name"] for s in listed)


def test_schedule_and_group_lifecycle(tmp_path: Path, cloud: LocalCloud) -> None:
    """Schedules and a group are created with the provider's defaults; the plan after apply is empty; a
    disabled schedule is drift that apply reverts; expression and tags update in place; a rename replaces
    the schedule; destroy removes everything."""
    scheduler = cloud.client("scheduler")
    tf = _terraform(cloud, tmp_path, MAIN_TF)
    tf.init()
    tf.apply()
    state = tf.resources()

    group = state["aws_scheduler_schedule_group.jobs"]
    assert (group["id"], group["arn"], group["state"]) == (
        "tf-jobs",
        f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule-group/tf-jobs",
        "ACTIVE",
    )
    assert group["tags_all"] == {"team": "sre"} and group["creation_date"]
    nightly = state["aws_scheduler_schedule.nightly"]
    assert nightly["id"] == "tf-jobs/tf-nightly"
    assert nightly["arn"] == f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/tf-jobs/tf-nightly"
    assert nightly["action_after_completion"] == "NONE"
    assert (nightly["start_date"], nightly["end_date"]) == (
        "2029-06-01T02:00:00+02:00",
        "2030-01-01T00:00:00Z",
    )
    assert nightly["target"][0]["retry_policy"] == [
        {"maximum_retry_attempts": 3, "maximum_event_age_in_seconds": 3600}
    ]
    unnamed = state["aws_scheduler_schedule.unnamed"]
    assert unnamed["name"].startswith("tick-") and unnamed["name_prefix"] == "tick-"
    assert (unnamed["group_name"], unnamed["schedule_expression_timezone"]) == ("default", "UTC")
    assert unnamed["target"][0]["retry_policy"] == []
    got = scheduler.get_schedule(Name="tf-nightly", GroupName="tf-jobs")
    assert got["FlexibleTimeWindow"] == {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15}
    assert got["StartDate"].timestamp() == datetime(2029, 6, 1, tzinfo=UTC).timestamp()
    assert got["KmsKeyArn"].endswith(":key/00000000-0000-0000-0000-000000000000")
    assert json.loads(got["Target"]["Input"]) == {"job": "nightly"}
    assert got["Target"]["DeadLetterConfig"]["Arn"].endswith(":tf-scheduler-dlq")

    assert tf.plan().rc == 0, "plan after apply must be empty"

    current = scheduler.get_schedule(Name="tf-nightly", GroupName="tf-jobs")
    scheduler.update_schedule(
        **{
            k: current[k]
            for k in (
                "Name",
                "GroupName",
                "ScheduleExpression",
                "FlexibleTimeWindow",
                "Target",
                "Description",
            )
        },
        ScheduleExpressionTimezone="Europe/Paris",
        StartDate=current["StartDate"],
        EndDate=current["EndDate"],
        KmsKeyArn=current["KmsKeyArn"],
        State="DISABLED",
    )
    drift = tf.plan()
    assert {(c.address, c.action) for c in drift.changes} == {("aws_scheduler_schedule.nightly", "update")}
    tf.apply()
    assert scheduler.get_schedule(Name="tf-nightly", GroupName="tf-jobs")["State"] == "ENABLED"

    changed = {"expression": "rate(2 hours)", "tags": {"team": "platform"}}
    update = tf.plan(changed)
    assert {(c.address, c.action) for c in update.changes} == {
        ("aws_scheduler_schedule.nightly", "update"),
        ("aws_scheduler_schedule_group.jobs", "update"),
    }
    tf.apply(changed)
    assert (
        scheduler.get_schedule(Name="tf-nightly", GroupName="tf-jobs")["ScheduleExpression"]
        == "rate(2 hours)"
    )
    tags = scheduler.list_tags_for_resource(ResourceArn=group["arn"])["Tags"]
    assert tags == [{"Key": "team", "Value": "platform"}]
    assert tf.plan(changed).rc == 0

    renamed = {**changed, "schedule_name": "tf-nightly-2"}
    replace = tf.plan(renamed)
    assert {(c.address, c.action) for c in replace.changes} == {("aws_scheduler_schedule.nightly", "replace")}
    tf.apply(renamed)
    assert _names(scheduler, "tf-jobs") == ["tf-nightly-2"]

    tf.destroy(renamed)
    assert [n for n in _names(scheduler) if n.startswith(("tf-", "tick-"))] == []
    groups = [g["Name"] for g in scheduler.list_schedule_groups()["ScheduleGroups"]]
    assert "tf-jobs" not in groups


def test_schedule_import_and_errors(tmp_path: Path, cloud: LocalCloud) -> None:
    """A schedule and group made outside Terraform import to an empty plan; bad arguments fail readably."""
    scheduler = cloud.client("scheduler")
    queue = "arn:aws:sqs:us-east-1:123456789012:by-hand"
    role = "arn:aws:iam::123456789012:role/by-hand"
    scheduler.create_schedule_group(Name="by-hand")
    scheduler.create_schedule(
        Name="by-hand",
        GroupName="by-hand",
        ScheduleExpression="rate(5 minutes)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": queue, "RoleArn": role, "Input": '{"x":1}'},
    )
    config = f"""
        resource "aws_scheduler_schedule_group" "g" {{
          name = "by-hand"
        }}
        resource "aws_scheduler_schedule" "s" {{
          name                = "by-hand"
          group_name          = aws_scheduler_schedule_group.g.name
          schedule_expression = "rate(5 minutes)"
          flexible_time_window {{
            mode = "OFF"
          }}
          target {{
            arn      = "{queue}"
            role_arn = "{role}"
            input    = jsonencode({{ x = 1 }})
          }}
        }}
    """
    tf = _terraform(cloud, tmp_path / "import", config)
    tf.init()
    assert tf.import_("aws_scheduler_schedule_group.g", "by-hand").rc == 0
    assert tf.import_("aws_scheduler_schedule.s", "by-hand/by-hand").rc == 0
    assert tf.plan().rc == 0
    tf.destroy()
    assert "by-hand" not in [g["Name"] for g in scheduler.list_schedule_groups()["ScheduleGroups"]]

    bad = """
        resource "aws_scheduler_schedule" "bad" {
          name                = "bad"
          schedule_expression = "rate(5 minutes)"
          state               = "ON"
          flexible_time_window {
            mode = "SOMETIMES"
          }
          target {
            arn      = "arn:aws:ecs:us-east-1:123456789012:cluster/c"
            role_arn = "arn:aws:iam::123456789012:role/r"
            ecs_parameters {
              task_definition_arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/t"
            }
          }
        }
    """
    tf = _terraform(cloud, tmp_path / "bad", bad)
    tf.init()
    plan = tf.plan(check=False)
    assert plan.rc == 1
    assert "expected state to be one of" in plan.stderr
    assert "Traceback" not in plan.stderr

    refused = """
        resource "aws_scheduler_schedule" "refused" {
          name                = "refused"
          schedule_expression = "rate(0 minutes)"
          flexible_time_window {
            mode = "OFF"
          }
          target {
            arn      = "arn:aws:sqs:us-east-1:123456789012:q"
            role_arn = "arn:aws:iam::123456789012:role/r"
          }
        }
    """
    tf = _terraform(cloud, tmp_path / "refused", refused)
    tf.init()
    result = tf.apply(check=False)
    assert result.rc == 1
    assert "ValidationException" in result.stderr and "Invalid Schedule Expression" in result.stderr
    assert "Traceback" not in result.stderr
    assert "refused" not in _names(scheduler)
