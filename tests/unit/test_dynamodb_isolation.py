"""A failed DynamoDB transaction no longer discards what a concurrent request committed meanwhile."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.models import DynamoDBBackend

from selfheal.cloud.dynamodb_isolation import SERIALIZED_OPERATIONS, DynamoDbIsolation
from selfheal.cloud.moto_patches import active_patches

_TABLE = "claims"


def _client() -> Any:
    return boto3.client(
        "dynamodb", region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )


@pytest.fixture
def table() -> Iterator[Any]:
    with mock_aws():
        client = _client()
        client.create_table(
            TableName=_TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        for n in range(50):
            client.put_item(TableName=_TABLE, Item={"pk": {"S": f"item-{n}"}, "version": {"N": "1"}})
        yield client


def _slow_reads_in(thread_name: str, reading: threading.Event) -> Callable[..., Any]:
    """moto's get_item, which a transaction calls for each of its items, slowed down in one thread."""
    original = DynamoDBBackend.get_item

    def get_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        if threading.current_thread().name == thread_name:
            reading.set()
            time.sleep(0.3)  # the window between moto's copy of the table and its rollback
        return original(self, *args, **kwargs)

    return get_item


def _failed_transaction_beside_a_put(client: Any, reading: threading.Event) -> None:
    """Thread A runs a transaction whose condition fails; another thread puts an item while A is inside it."""

    def transaction() -> None:
        with pytest.raises(client.exceptions.TransactionCanceledException):
            client.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": _TABLE,
                            "Key": {"pk": {"S": "item-0"}},
                            "UpdateExpression": "SET version = :two",
                            "ConditionExpression": "version = :zero",
                            "ExpressionAttributeValues": {":two": {"N": "2"}, ":zero": {"N": "0"}},
                        }
                    }
                ]
            )

    a = threading.Thread(target=transaction, name="transaction-a")
    put = threading.Thread(
        target=lambda: _client().put_item(TableName=_TABLE, Item={"pk": {"S": "written-meanwhile"}})
    )
    a.start()
    assert reading.wait(5)
    put.start()
    a.join(10)
    put.join(10)
    assert not a.is_alive() and not put.is_alive()


def _written_meanwhile(client: Any) -> bool:
    return "Item" in client.get_item(TableName=_TABLE, Key={"pk": {"S": "written-meanwhile"}})


def test_moto_alone_loses_a_put_made_during_a_failed_transaction(
    table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the component is for: without it, moto's rollback puts back a copy older than the put."""
    reading = threading.Event()
    monkeypatch.setattr(DynamoDBBackend, "get_item", _slow_reads_in("transaction-a", reading))
    _failed_transaction_beside_a_put(table, reading)
    assert not _written_meanwhile(table)


def test_a_put_made_during_a_failed_transaction_survives_its_rollback(
    table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    reading = threading.Event()
    monkeypatch.setattr(DynamoDBBackend, "get_item", _slow_reads_in("transaction-a", reading))
    isolation = DynamoDbIsolation()
    isolation.start(None)  # type: ignore[arg-type]  # it uses nothing of the cloud
    try:
        _failed_transaction_beside_a_put(table, reading)
    finally:
        isolation.stop()
    assert _written_meanwhile(table)
    assert table.get_item(TableName=_TABLE, Key={"pk": {"S": "item-0"}})["Item"]["version"] == {"N": "1"}


def test_every_serialized_operation_is_wrapped_while_started_and_given_back_after() -> None:
    originals = {name: DynamoDBBackend.__dict__.get(name) for name in SERIALIZED_OPERATIONS}
    assert all(originals.values()), "every listed operation is moto's own method"
    isolation = DynamoDbIsolation()
    isolation.start(None)  # type: ignore[arg-type]
    try:
        wrapped = {name: DynamoDBBackend.__dict__[name] for name in SERIALIZED_OPERATIONS}
        assert all(wrapped[name] is not originals[name] for name in SERIALIZED_OPERATIONS)
        assert any("moto's transactions are not isolated" in patch.reason for patch in active_patches())
        with pytest.raises(RuntimeError, match="already started"):
            isolation.start(None)  # type: ignore[arg-type]
    finally:
        isolation.stop()
    assert {name: DynamoDBBackend.__dict__.get(name) for name in SERIALIZED_OPERATIONS} == originals
