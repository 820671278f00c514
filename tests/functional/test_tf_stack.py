"""The generated wrapper root module: a module with its own provider and S3 backend, applied locally."""

from __future__ import annotations

from pathlib import Path

import pytest

from selfheal.terraform.driver import Terraform
from selfheal.terraform.stack import write_stack
from selfheal.terraform.testing import MOTO_CREDENTIALS, moto_endpoint

pytestmark = pytest.mark.timeout(240)

MODULE_TF = """
terraform {
  backend "s3" {}
  required_providers {
    aws = { source = "hashicorp/aws", version = ">= 6.0" }
  }
}

provider "aws" {
  region = "us-east-1"
  default_tags {
    tags = var.tags
  }
}

variable "name_prefix" {
  type    = string
  default = "selfheal"
}

variable "tags" {
  type    = map(string)
  default = { Project = "selfheal" }
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "r" {
  name               = "${var.name_prefix}-role"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = { Component = "healer" }
}

output "role_name" { value = aws_iam_role.r.name }
output "role_tags" { value = aws_iam_role.r.tags_all }
"""


def test_stack_applies_the_module_with_local_state(tmp_path: Path) -> None:
    """The wrapper applies the module unchanged, re-exports its outputs and keeps state locally."""
    module = tmp_path / "deploy" / "mod"
    module.mkdir(parents=True)
    (module / "main.tf").write_text(MODULE_TF)
    stack = tmp_path / ".selfheal" / "stack"
    write_stack(stack, module, {"name_prefix": "demo", "tags": '{"Project": "p", "Owner": "me"}'})
    lines: list[str] = []
    with moto_endpoint() as endpoint:
        tf = Terraform(
            stack, endpoint, credentials=MOTO_CREDENTIALS, on_line=lambda line, _stream: lines.append(line)
        )
        tf.init()
        tf.apply()
        assert tf.output() == {
            "role_name": "demo-role",
            "role_tags": {"Project": "p", "Owner": "me", "Component": "healer"},
        }
        assert (stack / "terraform.tfstate").exists()
        assert not (module / "terraform.tfstate").exists()
        assert any("Apply complete!" in line for line in lines)
        assert tf.plan().rc == 0
        tf.destroy()
        assert tf.resources() == {}
