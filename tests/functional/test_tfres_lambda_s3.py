"""``aws_lambda_function`` deployed from an ``aws_s3_object`` through real Terraform: it runs, a new object
version or etag updates its code, and a version the local cloud cannot deploy is refused."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from selfheal.cloud import LocalCloud
from selfheal.terraform.driver import Terraform
from selfheal.terraform.testing import terraform_fixture

pytestmark = pytest.mark.timeout(300)

ROLE_TF = """
resource "aws_iam_role" "fn" {
  name = "s3-code-fn"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = { Service = "lambda.amazonaws.com" }
    }]
  })
}
"""

S3_CODE_TF = (
    ROLE_TF
    + """
variable "release" {
  type = string
}

variable "pinned_version" {
  type    = string
  default = null
}

locals {
  zip = "${path.module}/${var.release}.zip"
}

resource "aws_s3_bucket" "code" {
  bucket        = "tf-lambda-code"
  force_destroy = true
}

resource "aws_s3_bucket_versioning" "code" {
  bucket = aws_s3_bucket.code.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_object" "versioned" {
  bucket = aws_s3_bucket_versioning.code.id
  key    = "pinned/code.zip"
  source = local.zip
  etag   = filemd5(local.zip)
}

resource "aws_s3_bucket" "plain" {
  bucket        = "tf-lambda-plain"
  force_destroy = true
}

resource "aws_s3_object" "plain" {
  bucket = aws_s3_bucket.plain.id
  key    = "hashed code/app+1.zip"
  source = local.zip
  etag   = filemd5(local.zip)
}

# A new object version is a new s3_object_version: UpdateFunctionCode.
resource "aws_lambda_function" "pinned" {
  function_name     = "s3-pinned"
  role              = aws_iam_role.fn.arn
  runtime           = "python3.11"
  handler           = "app.handler"
  s3_bucket         = aws_s3_object.versioned.bucket
  s3_key            = aws_s3_object.versioned.key
  s3_object_version = var.pinned_version != null ? var.pinned_version : aws_s3_object.versioned.version_id
}

# An unversioned object: source_code_hash (here its etag) tells Terraform the code changed.
resource "aws_lambda_function" "hashed" {
  function_name    = "s3-hashed"
  role             = aws_iam_role.fn.arn
  runtime          = "python3.11"
  handler          = "app.handler"
  s3_bucket        = aws_s3_object.plain.bucket
  s3_key           = aws_s3_object.plain.key
  source_code_hash = aws_s3_object.plain.etag
}
"""
)

BAD_SOURCES_TF = (
    ROLE_TF
    + """
resource "aws_lambda_function" "both" {
  function_name = "both"
  role          = aws_iam_role.fn.arn
  runtime       = "python3.11"
  handler       = "app.handler"
  filename      = "code.zip"
  s3_bucket     = "b"
  s3_key        = "k"
}

resource "aws_lambda_function" "no_key" {
  function_name = "no-key"
  role          = aws_iam_role.fn.arn
  runtime       = "python3.11"
  handler       = "app.handler"
  s3_bucket     = "b"
}

resource "aws_lambda_function" "image" {
  function_name = "image"
  role          = aws_iam_role.fn.arn
  package_type  = "Image"
  image_uri     = "123456789012.dkr.ecr.us-east-1.amazonaws.com/fn:latest"
}
"""
)


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud(port=0) as running:
        yield running


def _release_zip(release: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", f"def handler(event, context):\n    return {release!r}\n")
    return buffer.getvalue()


def _terraform(cloud: LocalCloud, directory: Path, config: str) -> Terraform:
    directory.mkdir(parents=True, exist_ok=True)
    for release in ("v1", "v2"):
        (directory / f"{release}.zip").write_bytes(_release_zip(release))
    return terraform_fixture(directory, config, cloud.endpoint, credentials=cloud.operator_key.environment())


def _answers(cloud: LocalCloud) -> tuple[str, str]:
    lam = cloud.client("lambda")
    got = []
    for name in ("s3-pinned", "s3-hashed"):
        result = lam.invoke(FunctionName=name, Payload=b"{}")
        assert "FunctionError" not in result, result["Payload"].read()
        got.append(json.loads(result["Payload"].read()))
    return got[0], got[1]


def test_code_from_s3_object_updates_with_it(tmp_path: Path, cloud: LocalCloud) -> None:
    """Functions deployed from S3 objects run them; a new version (or etag) of the object updates the code;
    the plan after each apply is empty; a pinned older version is refused before anything changes."""
    tf = _terraform(cloud, tmp_path / "s3code", S3_CODE_TF)
    tf.init()
    tf.apply({"release": "v1"})
    assert _answers(cloud) == ("v1", "v1")
    state = tf.resources()
    first_version = state["aws_s3_object.versioned"]["version_id"]
    assert first_version and state["aws_lambda_function.pinned"]["s3_object_version"] == first_version
    assert (
        state["aws_lambda_function.pinned"]["source_code_hash"]
        == state["aws_lambda_function.pinned"]["code_sha256"]
    ), "an S3 package without source_code_hash records Lambda's CodeSha256"
    assert tf.plan({"release": "v1"}).rc == 0, "plan after apply must be empty"

    update = tf.plan({"release": "v2"})
    changed = {(c.address, c.action) for c in update.changes}
    assert {("aws_lambda_function.pinned", "update"), ("aws_lambda_function.hashed", "update")} <= changed
    tf.apply({"release": "v2"})
    assert _answers(cloud) == ("v2", "v2")
    assert tf.resources()["aws_s3_object.versioned"]["version_id"] != first_version
    assert tf.plan({"release": "v2"}).rc == 0, "plan after the update must be empty"

    pinned = tf.apply({"release": "v2", "pinned_version": first_version}, check=False)
    assert pinned.rc == 1
    assert f"s3_object_version '{first_version}' is not the current version" in pinned.stderr
    assert "the local cloud deploys only an object's current version" in pinned.stderr
    assert _answers(cloud) == ("v2", "v2"), "a refused update changes nothing"
    tf.destroy({"release": "v2"})


def test_package_sources_refused_at_plan(tmp_path: Path, cloud: LocalCloud) -> None:
    """Conflicting or incomplete package arguments and container images are refused at plan, each named."""
    tf = _terraform(cloud, tmp_path / "bad", BAD_SOURCES_TF)
    tf.init()
    plan = tf.plan(check=False)
    assert plan.rc == 1
    assert '"filename": conflicts with s3_bucket' in plan.stderr
    assert '"s3_bucket": all of `s3_bucket,s3_key` must be specified' in plan.stderr
    assert "container images" in plan.stderr and "are not supported by the selfheal local" in plan.stderr
    assert "Traceback" not in plan.stderr
