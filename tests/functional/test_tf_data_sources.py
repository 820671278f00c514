"""Data sources of the local providers (policy document, account, region, partition, archive_file)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from selfheal.terraform.testing import moto_endpoint, terraform_fixture

pytestmark = pytest.mark.timeout(240)

DATA_TF = """
data "aws_iam_policy_document" "doc" {
  statement {
    sid       = "1"
    actions   = ["s3:GetBucketLocation", "s3:ListAllMyBuckets"]
    resources = ["arn:aws:s3:::*"]
  }
}

data "aws_caller_identity" "me" {}
data "aws_region" "here" {}
data "aws_partition" "p" {}

data "archive_file" "a" {
  type        = "zip"
  source_dir  = "${path.module}/src"
  output_path = "${path.module}/build/a.zip"
}

data "archive_file" "b" {
  type             = "zip"
  source_dir       = "${path.module}/src"
  output_path      = "${path.module}/build/b.zip"
  output_file_mode = "0644"
}

output "json" { value = data.aws_iam_policy_document.doc.json }
output "minified" { value = data.aws_iam_policy_document.doc.minified_json }
output "account" { value = data.aws_caller_identity.me.account_id }
output "region" { value = data.aws_region.here.region }
output "region_name" { value = data.aws_region.here.name }
output "region_description" { value = data.aws_region.here.description }
output "partition" { value = data.aws_partition.p.partition }
output "hash_a" { value = data.archive_file.a.output_base64sha256 }
output "hash_b" { value = data.archive_file.b.output_base64sha256 }
"""


def test_data_sources(tmp_path: Path) -> None:
    """Data sources give the real provider's values, and identical sources zip to identical hashes."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("def handler(e, c):\n    return 1\n")
    with moto_endpoint() as endpoint:
        tf = terraform_fixture(tmp_path, DATA_TF, endpoint)
        tf.init()
        tf.apply()
        out = tf.output()
        assert json.loads(out["json"]) == {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "1",
                    "Effect": "Allow",
                    "Action": ["s3:ListAllMyBuckets", "s3:GetBucketLocation"],
                    "Resource": "arn:aws:s3:::*",
                }
            ],
        }
        assert out["json"].startswith('{\n  "Version": "2012-10-17",\n  "Statement": [')
        assert "\n" not in out["minified"]
        assert out["account"] == "123456789012"
        assert (out["region"], out["region_name"]) == ("us-east-1", "us-east-1")
        assert out["region_description"] == "US East (N. Virginia)"
        assert out["partition"] == "aws"
        assert out["hash_a"] == out["hash_b"]
        assert tf.plan().rc == 0

        (tmp_path / "src" / "app.py").write_text("def handler(e, c):\n    return 2\n")
        tf.apply()
        assert tf.output()["hash_a"] != out["hash_a"]
