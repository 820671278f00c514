"""An ``aws_dynamodb_table`` with a hash key only applies, reads back and plans empty (issue #12: its
unset ``range_key`` used to be planned as unknown, so apply sent ``KeySchema[1].AttributeName`` Unknown)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from test_tfres_messaging import moto_client

from selfheal.terraform.testing import moto_endpoint, terraform_fixture

pytestmark = pytest.mark.timeout(300)

MAIN_TF = """
resource "aws_dynamodb_table" "orders" {
  name         = "orders"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "id"

  attribute {
    name = "id"
    type = "S"
  }
}
"""


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    """A moto server for the module."""
    with moto_endpoint() as url:
        yield url


def test_hash_key_only_table(tmp_path: Path, endpoint: str) -> None:
    """The table is created with one key, reads back with no range key, and the next plan is empty."""
    tf = terraform_fixture(tmp_path, MAIN_TF, endpoint)
    tf.init()
    tf.apply()
    table = moto_client("dynamodb", endpoint).describe_table(TableName="orders")["Table"]
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert tf.resources()["aws_dynamodb_table.orders"]["range_key"] is None
    assert tf.plan().rc == 0
    tf.destroy()
