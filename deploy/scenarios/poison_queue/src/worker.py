"""worker: the function of the poison_queue scenario; passes each order of an SQS batch on, or none of it.

The scenario's orders queue feeds it through an event source mapping. A batch is checked whole before
anything is sent on: a malformed order (a poison message: not JSON, no order_id, a quantity that is not a
whole number) fails the whole batch (a Lambda error), so the batch goes back to the queue and nothing of it
is passed on. A good batch is sent to the FULFILMENT_QUEUE_URL and then deleted from the orders queue by
the mapping. So every order is in one place: the orders queue, its DLQ or the fulfilment queue.
"""

from __future__ import annotations

import json
import os
from typing import Any

import boto3

_sqs = boto3.client("sqs")


class PoisonMessage(ValueError):
    """A message the worker cannot process, however often it is retried."""


def order(body: str) -> dict[str, Any]:
    """The order a message holds; PoisonMessage when it is malformed."""
    try:
        data = json.loads(body)
    except ValueError as error:
        raise PoisonMessage(f"not JSON: {body[:60]!r}") from error
    if not isinstance(data, dict) or not isinstance(data.get("order_id"), str):
        raise PoisonMessage(f"no order_id: {body[:60]!r}")
    if not isinstance(data.get("quantity"), int) or isinstance(data.get("quantity"), bool):
        raise PoisonMessage(
            f"order {data['order_id']}: quantity {data.get('quantity')!r} is not a whole number"
        )
    return data


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Pass every order of the batch on, or raise (the whole batch is retried) if one is malformed."""
    orders = [order(record["body"]) for record in event["Records"]]
    # One SendMessage per order (a batch is at most 10): a failure raises and the batch is retried whole,
    # so an order may be passed on twice but is never lost.
    for one in orders:
        _sqs.send_message(QueueUrl=os.environ["FULFILMENT_QUEUE_URL"], MessageBody=json.dumps(one))
    return {"passed_on": len(orders)}
