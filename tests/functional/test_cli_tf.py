"""`selfheal tf`: the user's own Terraform, unchanged, applied to a LocalCloud through the real CLI."""

from __future__ import annotations

import json
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
from selfheal.stack.cloud_process import start_cloud, stop_cloud
from selfheal.terraform.user_stack import OVERRIDE_FILE, remote_backend
from selfheal.workdir import Workdir

pytestmark = pytest.mark.timeout(300)

# A team's stack as they would write it for AWS: a plain provider block and a remote backend.
MAIN_TF = """\
terraform {
  backend "s3" {
    bucket = "team-terraform-state"
    key    = "orders/terraform.tfstate"
    region = "us-east-1"
  }
  required_providers {
    aws     = { source = "hashicorp/aws", version = "~> 6.0" }
    archive = { source = "hashicorp/archive" }
    random  = { source = "hashicorp/random", version = "~> 3.6" }
  }
}

provider "aws" {
  region = "us-east-1"
}

variable "memory_size" {
  type    = number
  default = 128
}

data "archive_file" "code" {
  type        = "zip"
  source_dir  = "${path.module}/src"
  output_path = "${path.module}/build/orders.zip"
}

resource "random_id" "suffix" {
  byte_length = 4
}

resource "random_string" "token" {
  length  = 16
  special = false
}

resource "aws_iam_role" "orders" {
  name = "orders-role-${random_id.suffix.hex}"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = { Service = "lambda.amazonaws.com" }
    }]
  })
}

resource "aws_iam_role_policy_attachment" "logs" {
  role       = aws_iam_role.orders.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
}

resource "aws_lambda_function" "orders" {
  function_name    = "orders"
  role             = aws_iam_role.orders.arn
  runtime          = "python3.12"
  handler          = "app.handler"
  filename         = data.archive_file.code.output_path
  source_code_hash = data.archive_file.code.output_base64sha256
  memory_size      = var.memory_size
  environment {
    variables = { TOKEN = random_string.token.result }
  }
}

output "function_arn" {
  value = aws_lambda_function.orders.arn
}
"""
APP_PY = "def handler(event, context):\n    return {'ok': True}\n"
NO_AWS = ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_ACCESS_KEY_ID")


def selfheal(cwd: Path, *argv: str, endpoint: str | None = None, timeout: float = 180) -> Any:
    """The `selfheal` script in its own interpreter, run in ``cwd`` (``endpoint``: AWS_ENDPOINT_URL)."""
    env = {k: v for k, v in os.environ.items() if k not in NO_AWS and not k.startswith("TF_")}
    if endpoint is not None:
        env["AWS_ENDPOINT_URL"] = endpoint
    return subprocess.run(
        [sys.executable, "-c", "from selfheal.cli import main; main()", *argv],
        cwd=cwd,
        env={**env, "COLUMNS": "300"},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A work directory holding the operator key the cloud accepts."""
    return tmp_path_factory.mktemp("selfheal")


@pytest.fixture(scope="module")
def cloud(workdir: Path) -> Iterator[LocalCloud]:
    """A LocalCloud signed with the work directory's operator key."""
    with LocalCloud(port=0, operator_key=load_or_create(workdir / "credentials")) as running:
        yield running


def _user_stack(root: Path) -> dict[Path, bytes]:
    (root / "src").mkdir(parents=True)
    (root / "main.tf").write_text(MAIN_TF)
    (root / "src" / "app.py").write_text(APP_PY)
    return {path: path.read_bytes() for path in root.rglob("*") if path.is_file()}


def test_init_apply_output_plan_destroy_against_the_local_cloud(
    cloud: LocalCloud, workdir: Path, tmp_path: Path
) -> None:
    """Terraform's own commands run the user's unchanged stack in the local cloud, with its exit codes."""
    stack = tmp_path / "orders"
    before = _user_stack(stack)
    assert remote_backend(stack) == ("s3", "main.tf")

    def tf(*args: str) -> Any:
        return selfheal(stack, "tf", "--workdir", str(workdir), *args, endpoint=cloud.endpoint)

    init = tf("init")
    assert init.returncode == 0, init.stderr + init.stdout
    assert "Terraform has been successfully initialized" in init.stdout
    assert 'backend "s3" of main.tf is overridden to local state' in init.stderr
    assert f"target: the local cloud at {cloud.endpoint}" in init.stderr

    applied = tf("apply", "-auto-approve")
    assert applied.returncode == 0, applied.stderr + applied.stdout
    assert "Apply complete! Resources: 5 added" in applied.stdout
    assert (stack / "terraform.tfstate").exists()  # local state beside the .tf files, not S3
    function = cloud.client("lambda").get_function_configuration(FunctionName="orders")
    role = function["Role"].rpartition("/")[2]
    assert function["MemorySize"] == 128 and re.fullmatch(r"orders-role-[0-9a-f]{8}", role)  # random_id
    token = function["Environment"]["Variables"]["TOKEN"]
    assert re.fullmatch(r"[A-Za-z0-9]{16}", token)  # random_string, special = false
    attached = cloud.client("iam").list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["AWSLambdaBasicExecutionRole"]  # AWS-managed, loaded

    output = tf("output", "-json")
    assert output.returncode == 0, output.stderr
    assert json.loads(output.stdout)["function_arn"]["value"] == function["FunctionArn"]

    converged = tf("plan", "-detailed-exitcode")
    assert converged.returncode == 0, converged.stderr + converged.stdout
    changed = tf("plan", "-detailed-exitcode", "-var", "memory_size=256")
    assert changed.returncode == 2, changed.stderr + changed.stdout
    assert "1 to change" in changed.stdout

    destroyed = tf("destroy", "-auto-approve")
    assert destroyed.returncode == 0, destroyed.stderr + destroyed.stdout
    assert "Destroy complete! Resources: 5 destroyed" in destroyed.stdout
    assert cloud.client("lambda").list_functions()["Functions"] == []

    assert not (stack / OVERRIDE_FILE).exists()
    assert {path: path.read_bytes() for path in before} == before


def test_chdir_and_a_failing_command_pass_terraform_s_exit_code(
    cloud: LocalCloud, workdir: Path, tmp_path: Path
) -> None:
    """`-chdir=DIR` is Terraform's own; an invalid configuration is Terraform's error and exit code 1."""
    stack = tmp_path / "broken"
    stack.mkdir()
    (stack / "main.tf").write_text('resource "aws_iam_role" "r" {\n  nme = "x"\n}\n')
    result = selfheal(
        tmp_path, "tf", "--workdir", str(workdir), "-chdir=broken", "validate", endpoint=cloud.endpoint
    )
    assert result.returncode == 1
    assert "Unsupported argument" in result.stderr + result.stdout


def test_without_a_cloud_it_says_how_to_start_one(tmp_path: Path) -> None:
    """No AWS_ENDPOINT_URL and nothing recorded: one line naming `selfheal up`, exit 1 (never 2)."""
    (tmp_path / "main.tf").write_text(MAIN_TF)
    result = selfheal(tmp_path, "tf", "--workdir", str(tmp_path / "none"), "plan", "-detailed-exitcode")
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("error: no local cloud:") and "`selfheal up" in line and "selfheal cloud" in line
    assert not (tmp_path / OVERRIDE_FILE).exists()


def test_a_remote_endpoint_is_refused(tmp_path: Path) -> None:
    """An AWS_ENDPOINT_URL off this machine is refused before anything runs."""
    result = selfheal(tmp_path, "tf", "plan", endpoint="https://lambda.us-east-1.amazonaws.com")
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert "not a local cloud (not a loopback address)" in line


RANDOM_TF = """\
variable "generation" {
  type    = string
  default = "1"
}

resource "random_id" "suffix" {
  byte_length = 6
  prefix      = "p-"
  keepers     = { generation = var.generation }
}

resource "random_string" "token" {
  length           = 24
  min_upper        = 4
  min_special      = 4
  override_special = "_-"
}

output "ids" {
  value = [random_id.suffix.id, random_id.suffix.b64_url, random_id.suffix.hex, random_id.suffix.dec]
}

output "token" {
  value = random_string.token.result
}
"""


def test_random_values_are_kept_until_a_keeper_changes(
    cloud: LocalCloud, workdir: Path, tmp_path: Path
) -> None:
    """random_id/random_string converge after apply; a changed keeper replaces only its resource."""
    (tmp_path / "main.tf").write_text(RANDOM_TF)

    def tf(*args: str) -> Any:
        result = selfheal(tmp_path, "tf", "--workdir", str(workdir), *args, endpoint=cloud.endpoint)
        assert result.returncode in (0, 2), result.stderr + result.stdout
        return result

    def outputs() -> dict[str, Any]:
        return {k: v["value"] for k, v in json.loads(tf("output", "-json").stdout).items()}

    tf("init")
    tf("apply", "-auto-approve")
    first = outputs()
    raw_id, url, hex_, dec = first["ids"]
    assert (
        url == f"p-{raw_id}" and re.fullmatch(r"p-[0-9a-f]{12}", hex_) and int(dec[2:]) == int(hex_[2:], 16)
    )
    token = first["token"]
    assert len(token) == 24 and sum(c in "_-" for c in token) >= 4 and sum(c.isupper() for c in token) >= 4
    assert set(token) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
    assert tf("plan", "-detailed-exitcode").returncode == 0

    replaced = tf("apply", "-auto-approve", "-var", "generation=2")
    assert "Resources: 1 added, 0 changed, 1 destroyed" in replaced.stdout
    second = outputs()
    assert second["ids"] != first["ids"] and second["token"] == token
    assert tf("plan", "-detailed-exitcode", "-var", "generation=2").returncode == 0


def test_the_cloud_recorded_in_the_workdir_is_used_and_a_dead_one_refused(tmp_path: Path) -> None:
    """Without AWS_ENDPOINT_URL the cloud `selfheal up` recorded is used, signed with the workdir's key;
    once it is gone, one line says so (exit 1)."""
    place = Workdir(tmp_path / "w")
    stack = tmp_path / "stack"
    stack.mkdir()
    (stack / "main.tf").write_text(
        'resource "random_string" "s" {\n  length = 8\n}\n'
        'data "aws_caller_identity" "me" {}\n'
        'output "account" { value = data.aws_caller_identity.me.account_id }\n'
    )
    record = start_cloud(place, 0, 1.0)
    try:
        init = selfheal(stack, "tf", "--workdir", str(place.root), "init")
        assert init.returncode == 0, init.stderr + init.stdout
        assert f"recorded in {place.cloud_json}" in init.stderr
        applied = selfheal(stack, "tf", "--workdir", str(place.root), "apply", "-auto-approve")
        assert applied.returncode == 0, applied.stderr + applied.stdout
        assert 'account = "123456789012"' in applied.stdout
    finally:
        stop_cloud(record)
    gone = selfheal(stack, "tf", "--workdir", str(place.root), "plan")
    assert gone.returncode == 1
    [line] = gone.stderr.splitlines()
    assert "is not running" in line and "selfheal up" in line
