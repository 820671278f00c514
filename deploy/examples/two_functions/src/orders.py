"""orders: a small function of the two_functions example; fails on purpose (FAILURE_RATE, 0..1).

It is deployed behind the alias "live" (published versions), so the healer's rollback_alias can move
the alias back to the previous version when a new one fails.
"""

from __future__ import annotations

import json
import os
import random
from typing import Any


class InjectedFailure(RuntimeError):
    """The failure FAILURE_RATE asked for."""


def failure_rate() -> float:
    """FAILURE_RATE as a probability; anything unreadable counts as 0."""
    try:
        return min(max(float(os.environ.get("FAILURE_RATE", "0")), 0.0), 1.0)
    except ValueError:
        return 0.0


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Take an order; raise (a Lambda error) with probability FAILURE_RATE."""
    if random.random() < failure_rate():
        raise InjectedFailure("orders: injected failure")
    version = getattr(context, "function_version", "$LATEST")
    return {"statusCode": 200, "body": json.dumps({"service": "orders", "version": version})}
