"""S3 buckets, objects and bucket settings of the local AWS provider through real Terraform, against a
LocalCloud."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from selfheal.cloud import LocalCloud
from selfheal.terraform.driver import Terraform
from selfheal.terraform.testing import terraform_fixture

pytestmark = pytest.mark.timeout(300)

MAIN_TF = """
variable "suffix" {
  type    = string
  default = ""
}

variable "content" {
  type    = string
  default = "v1"
}

variable "tags" {
  type    = map(string)
  default = { team = "sre" }
}

variable "status" {
  type    = string
  default = "Enabled"
}

resource "aws_s3_bucket" "named" {
  bucket        = "selfheal-artifacts${var.suffix}"
  force_destroy = true
  tags          = var.tags
}

resource "aws_s3_bucket" "prefixed" {
  bucket_prefix = "selfheal-logs-"
}

resource "aws_s3_bucket" "unnamed" {}

resource "aws_s3_object" "config" {
  bucket       = aws_s3_bucket.named.id
  key          = "config/app.json"
  content      = jsonencode({ version = var.content })
  content_type = "application/json"
  tags         = var.tags
}

resource "aws_s3_object" "file" {
  bucket = aws_s3_bucket.named.id
  key    = "code/handler.py"
  source = "${path.module}/handler.py"
  etag   = filemd5("${path.module}/handler.py")
}

resource "aws_s3_object" "binary" {
  bucket         = aws_s3_bucket.named.id
  key            = "bin/blob"
  content_base64 = base64encode("\\u0000\\u0001binary")
  metadata       = { origin = "terraform" }
}

resource "aws_s3_bucket_versioning" "named" {
  bucket = aws_s3_bucket.named.id
  versioning_configuration {
    status = var.status
  }
}

resource "aws_s3_bucket_public_access_block" "named" {
  bucket                  = aws_s3_bucket.named.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "named" {
  bucket = aws_s3_bucket.named.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_ownership_controls" "named" {
  bucket = aws_s3_bucket.named.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_policy" "named" {
  bucket = aws_s3_bucket.named.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:*"
      Resource  = [aws_s3_bucket.named.arn, "${aws_s3_bucket.named.arn}/*"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
  })
}
"""


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud(port=0) as running:
        yield running


def _terraform(cloud: LocalCloud, directory: Path, config: str) -> Terraform:
    """Terraform on ``config`` in ``directory``, against ``cloud`` as its operator."""
    return terraform_fixture(directory, config, cloud.endpoint, credentials=cloud.operator_key.environment())


def _buckets(s3: Any) -> list[str]:
    return sorted(b["Name"] for b in s3.list_buckets()["Buckets"])


def _body(s3: Any, bucket: str, key: str) -> bytes:
    return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def _tags(s3: Any, bucket: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]}


def test_bucket_objects_and_settings_lifecycle(tmp_path: Path, cloud: LocalCloud) -> None:
    """Buckets (named, prefixed, unnamed), objects and bucket settings are created, read back, planned
    empty; drift is reverted; content and tags update in place; a rename replaces; destroy empties a
    force_destroy bucket and removes everything."""
    s3 = cloud.client("s3")
    tf = _terraform(cloud, tmp_path, MAIN_TF)
    handler = b"def handler(event, context):\n    return 'ok'\n"
    (tmp_path / "handler.py").write_bytes(handler)
    tf.init()
    tf.apply()
    state = tf.resources()

    named = state["aws_s3_bucket.named"]
    assert (named["id"], named["arn"], named["bucket_region"]) == (
        "selfheal-artifacts",
        "arn:aws:s3:::selfheal-artifacts",
        cloud.region,
    )
    assert named["bucket_regional_domain_name"] == f"selfheal-artifacts.s3.{cloud.region}.amazonaws.com"
    assert _tags(s3, "selfheal-artifacts") == {"team": "sre"} and named["tags_all"] == {"team": "sre"}
    prefixed = state["aws_s3_bucket.prefixed"]["bucket"]
    unnamed = state["aws_s3_bucket.unnamed"]["bucket"]
    assert prefixed.startswith("selfheal-logs-") and len(prefixed) == len("selfheal-logs-") + 26
    assert state["aws_s3_bucket.prefixed"]["bucket_prefix"] == "selfheal-logs-"
    assert unnamed.startswith("terraform-") and len(unnamed) == len("terraform-") + 26
    assert set(_buckets(s3)) >= {"selfheal-artifacts", prefixed, unnamed}

    assert json.loads(_body(s3, "selfheal-artifacts", "config/app.json")) == {"version": "v1"}
    config = state["aws_s3_object.config"]
    assert config["etag"] == hashlib.md5(b'{"version":"v1"}').hexdigest()
    assert config["content_type"] == "application/json" and config["version_id"]
    assert _body(s3, "selfheal-artifacts", "code/handler.py") == handler
    assert _body(s3, "selfheal-artifacts", "bin/blob") == b"\x00\x01binary"
    head = s3.head_object(Bucket="selfheal-artifacts", Key="bin/blob")
    assert head["Metadata"] == {"origin": "terraform"}

    assert s3.get_bucket_versioning(Bucket="selfheal-artifacts")["Status"] == "Enabled"
    block = s3.get_public_access_block(Bucket="selfheal-artifacts")["PublicAccessBlockConfiguration"]
    assert block == {k: True for k in block} and len(block) == 4
    rules = s3.get_bucket_encryption(Bucket="selfheal-artifacts")["ServerSideEncryptionConfiguration"][
        "Rules"
    ]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    ownership = s3.get_bucket_ownership_controls(Bucket="selfheal-artifacts")["OwnershipControls"]
    assert ownership["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    policy = json.loads(s3.get_bucket_policy(Bucket="selfheal-artifacts")["Policy"])
    assert policy["Statement"][0]["Sid"] == "DenyInsecureTransport"
    assert tf.plan().rc == 0, "plan after apply must be empty"

    # Drift: tags, the public access block and the policy changed by hand are planned back.
    s3.put_bucket_tagging(Bucket="selfheal-artifacts", Tagging={"TagSet": [{"Key": "team", "Value": "x"}]})
    s3.delete_public_access_block(Bucket="selfheal-artifacts")
    s3.delete_bucket_policy(Bucket="selfheal-artifacts")
    s3.put_object(Bucket="selfheal-artifacts", Key="code/handler.py", Body=b"tampered")
    drift = tf.plan()
    assert {(c.address, c.action) for c in drift.changes} == {
        ("aws_s3_bucket.named", "update"),
        ("aws_s3_bucket_public_access_block.named", "create"),
        ("aws_s3_bucket_policy.named", "create"),
        ("aws_s3_object.file", "update"),
    }
    # In place: new content, tags and versioning status.
    changed = {"content": "v2", "tags": {"team": "platform"}, "status": "Suspended"}
    tf.apply(changed)
    assert json.loads(_body(s3, "selfheal-artifacts", "config/app.json")) == {"version": "v2"}
    assert _body(s3, "selfheal-artifacts", "code/handler.py") == handler
    assert _tags(s3, "selfheal-artifacts") == {"team": "platform"}
    assert s3.get_bucket_versioning(Bucket="selfheal-artifacts")["Status"] == "Suspended"
    assert "Policy" in s3.get_bucket_policy(Bucket="selfheal-artifacts")
    state = tf.resources()
    assert state["aws_s3_object.config"]["version_id"] != config["version_id"]
    assert state["aws_s3_object.config"]["tags_all"] == {"team": "platform"}
    assert tf.plan(changed).rc == 0

    renamed = {**changed, "suffix": "-2"}
    replace = tf.plan(renamed)
    actions = {c.address: c.action for c in replace.changes}
    assert actions["aws_s3_bucket.named"] == "replace" and actions["aws_s3_object.config"] == "replace"
    assert actions["aws_s3_bucket_versioning.named"] == "replace"
    tf.apply(renamed)
    assert "selfheal-artifacts" not in _buckets(s3)  # versioned objects and all: force_destroy
    assert json.loads(_body(s3, "selfheal-artifacts-2", "config/app.json")) == {"version": "v2"}

    tf.destroy(renamed)
    assert not {"selfheal-artifacts-2", prefixed, unnamed} & set(_buckets(s3))


def test_import_and_refusals(tmp_path: Path, cloud: LocalCloud) -> None:
    """A bucket, an object and a setting made by hand import to an empty plan; a non-empty bucket
    without force_destroy is not deleted; unsupported and bad arguments fail at plan, naming them."""
    s3 = cloud.client("s3")
    s3.create_bucket(Bucket="made-by-hand")
    s3.put_object(Bucket="made-by-hand", Key="a/b.txt", Body=b"hi", ContentType="text/plain")
    s3.put_bucket_ownership_controls(
        Bucket="made-by-hand", OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]}
    )
    config = """
        resource "aws_s3_bucket" "b" {
          bucket = "made-by-hand"
        }
        resource "aws_s3_object" "o" {
          bucket = aws_s3_bucket.b.id
          key    = "a/b.txt"
        }
        resource "aws_s3_bucket_ownership_controls" "v" {
          bucket = aws_s3_bucket.b.id
          rule {
            object_ownership = "ObjectWriter"
          }
        }
    """
    tf = _terraform(cloud, tmp_path / "import", config)
    tf.init()
    assert tf.import_("aws_s3_bucket.b", "made-by-hand").rc == 0
    assert tf.import_("aws_s3_object.o", "made-by-hand/a/b.txt").rc == 0
    assert tf.import_("aws_s3_bucket_ownership_controls.v", "made-by-hand").rc == 0
    state = tf.resources()
    assert state["aws_s3_object.o"]["content_type"] == "text/plain"
    assert state["aws_s3_bucket_ownership_controls.v"]["rule"] == [{"object_ownership": "ObjectWriter"}]
    assert tf.plan().rc == 0  # (the object's content is not read back, as with the real provider)

    s3.put_object(Bucket="made-by-hand", Key="stray", Body=b"x")  # not Terraform's, no force_destroy
    refused = tf.destroy(check=False)
    assert refused.rc == 1 and "BucketNotEmpty" in refused.stderr
    assert "made-by-hand" in _buckets(s3)
    s3.delete_object(Bucket="made-by-hand", Key="stray")
    tf.destroy()
    assert "made-by-hand" not in _buckets(s3)

    bad = """
        resource "aws_s3_bucket" "inline" {
          bucket = "inline-settings"
          versioning {
            enabled = true
          }
        }
        resource "aws_s3_bucket" "upper" {
          bucket = "Upper_Case"
        }
        resource "aws_s3_object" "two" {
          bucket         = "x-bucket"
          key            = "k"
          content        = "a"
          content_base64 = "YQ=="
        }
    """
    tf = _terraform(cloud, tmp_path / "bad", bad)
    tf.init()
    plan = tf.plan(check=False)
    assert plan.rc == 1
    assert "use aws_s3_bucket_versioning instead" in plan.stderr
    assert "validating S3 Bucket (Upper_Case) name" in plan.stderr
    assert '"content": conflicts with content_base64' in plan.stderr
    assert "Traceback" not in plan.stderr
    with pytest.raises(ClientError):
        s3.head_bucket(Bucket="inline-settings")
