"""DynamoDB transactions in the local cloud are atomic under concurrent requests, as on AWS.

The healer's fleet rails count claims in one control item with conditional TransactWriteItems; moto alone
puts a table copy back when a condition fails, wiping what other requests committed meanwhile.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

AwsFactory = Callable[[str], Any]

THREADS = 6
ROUNDS = 25
FILLER = 1000


def test_concurrent_conditional_transactions_lose_no_committed_write(aws: AwsFactory) -> None:
    """Every committed increment is in the counter; the failing conditions wipe nothing."""
    ddb = aws("dynamodb")
    ddb.create_table(
        TableName="tx-race",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(TableName="tx-race", Item={"pk": {"S": "counter"}, "n": {"N": "0"}})
    # A table of some size: moto copies it whole at each transaction, which widens the window of the race.
    for start in range(0, FILLER, 25):
        batch = [{"PutRequest": {"Item": {"pk": {"S": f"filler-{n}"}}}} for n in range(start, start + 25)]
        ddb.batch_write_item(RequestItems={"tx-race": batch})
    committed: list[int] = []
    errors: list[str] = []

    def work(worker: int) -> None:
        client = aws("dynamodb")
        for round_ in range(ROUNDS):
            items: list[dict[str, Any]] = [
                {
                    "Update": {
                        "TableName": "tx-race",
                        "Key": {"pk": {"S": "counter"}},
                        "UpdateExpression": "ADD n :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
                {
                    "Put": {
                        "TableName": "tx-race",
                        "Item": {"pk": {"S": f"claim-{worker}-{round_ % 3}"}},
                        # Fails on the 4th round onwards of each key: the rollback path runs often.
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
            try:
                client.transact_write_items(TransactItems=items)
            except ClientError as error:
                code = error.response["Error"]["Code"]
                if code != "TransactionCanceledException":
                    errors.append(code)
                continue
            committed.append(1)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert len(committed) == THREADS * 3  # each worker's three distinct claims commit once
    item = ddb.get_item(TableName="tx-race", Key={"pk": {"S": "counter"}}, ConsistentRead=True)["Item"]
    assert int(item["n"]["N"]) == len(committed)
