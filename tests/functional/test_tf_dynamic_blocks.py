"""``dynamic`` blocks whose ``for_each`` is known only at apply go through validate, plan and apply.

Terraform hands the provider such a block as unknown during validate and plan; the local provider must
keep it unknown rather than iterate it (it used to fail with ``'_Unknown' object is not iterable``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from selfheal.cloud import LocalCloud
from selfheal.terraform.testing import terraform_fixture

pytestmark = pytest.mark.timeout(300)

MAIN_TF = """
variable "queues" {
  type    = list(string)
  default = ["a", "b"]
}

resource "aws_sqs_queue" "q" {
  for_each = toset(var.queues)
  name     = "dyn-${each.key}"
}

# The statements depend on the queues' ARNs: unknown until they exist.
data "aws_iam_policy_document" "send" {
  dynamic "statement" {
    for_each = aws_sqs_queue.q
    content {
      sid       = "Send${statement.key}"
      actions   = ["sqs:SendMessage"]
      resources = [statement.value.arn]
    }
  }
}

resource "aws_iam_policy" "send" {
  name   = "dyn-send"
  policy = data.aws_iam_policy_document.send.json
}

output "policy" {
  value = aws_iam_policy.send.policy
}
"""


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    """One local cloud for the module."""
    with LocalCloud(port=0) as running:
        yield running


def test_dynamic_block_unknown_at_plan_applies(tmp_path: Path, cloud: LocalCloud) -> None:
    """A dynamic statement list over resources not yet created validates, applies and plans empty."""
    tf = terraform_fixture(tmp_path, MAIN_TF, cloud.endpoint, credentials=cloud.operator_key.environment())
    tf.init()
    assert tf.validate().ok
    tf.apply()
    policy = json.loads(tf.output()["policy"])
    assert sorted(s["Sid"] for s in policy["Statement"]) == ["Senda", "Sendb"]
    assert all(s["Resource"].startswith("arn:aws:sqs:") for s in policy["Statement"])
    assert tf.plan().rc == 0
    tf.destroy()
