"""storefront: the protected function of the overload scenario, served by the HTTP API.

Each request asks inventory (a second function, synchronously) whether an item is in stock. When every
inventory slot is busy the call is throttled; storefront waits a little and asks again, up to
WAIT_SECONDS, then fails the request. So its duration is inventory's time plus the time spent queueing
for a slot: it grows with the number of storefront invocations calling at once, which is what
clamp_concurrency bounds.
"""

from __future__ import annotations

import json
import os
import random
import time
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

# No botocore retries: the wait for a free inventory slot is this function's own loop, bounded below.
_LAMBDA = boto3.client("lambda", config=Config(retries={"total_max_attempts": 1}, read_timeout=10))


class InventoryUnavailable(RuntimeError):
    """inventory stayed busy for WAIT_SECONDS: the request fails (a 500 from the HTTP API)."""


def _seconds(name: str, default: float) -> float:
    try:
        return min(max(float(os.environ.get(name, default)), 0.0), 30.0)
    except ValueError:
        return default


def ask_inventory(item: str) -> tuple[dict[str, Any], int]:
    """inventory's answer for ``item`` and how many throttled attempts came before it."""
    deadline = time.monotonic() + _seconds("WAIT_SECONDS", 5.0)
    backoff = _seconds("BACKOFF_SECONDS", 0.1)
    throttled = 0
    while True:
        try:
            answer = _LAMBDA.invoke(
                FunctionName=os.environ["INVENTORY_FUNCTION"], Payload=json.dumps({"item": item}).encode()
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "TooManyRequestsException":
                raise
            throttled += 1
            if time.monotonic() >= deadline:
                raise InventoryUnavailable(f"inventory busy after {throttled} throttled calls") from None
            time.sleep(backoff * random.uniform(1.0, 2.0))
            continue
        if answer.get("FunctionError"):
            raise InventoryUnavailable(f"inventory failed: {answer['Payload'].read()[:200]!r}")
        return json.loads(answer["Payload"].read()), throttled


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Answer whether an item is in stock, from inventory."""
    path = str(event.get("rawPath", "/")) if isinstance(event, dict) else "/"
    stock, throttled = ask_inventory(path.strip("/") or "item")
    body = {"service": "storefront", "stock": stock, "inventory_throttled": throttled}
    return {"statusCode": 200, "body": json.dumps(body)}
