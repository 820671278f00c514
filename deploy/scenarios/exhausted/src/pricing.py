"""pricing: the function of the exhausted scenario; a release with a bug that fails part of its requests.

The bug's share is FAILURE_RATE (0..1), which no remediation of the playbook writes: set_env turns the
price cache off (PRICE_CACHE=off, the fix of an earlier incident, read here and changing nothing about the
bug) and restart starts fresh execution environments, which run the same code. So the errors alarm
stays in ALARM after every step, and the healer escalates to people.
"""

from __future__ import annotations

import json
import os
import random
from typing import Any


class PricingBug(RuntimeError):
    """The release's bug: a failure no configuration change fixes."""


def failure_rate() -> float:
    """FAILURE_RATE as a probability; anything unreadable counts as 0."""
    try:
        return min(max(float(os.environ.get("FAILURE_RATE", "0")), 0.0), 1.0)
    except ValueError:
        return 0.0


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Price a cart; raise (a Lambda error, a 500 from the HTTP API) with probability FAILURE_RATE."""
    cache = os.environ.get("PRICE_CACHE", "on")
    if random.random() < failure_rate():
        raise PricingBug(f"pricing: the release's bug (price cache {cache})")
    return {"statusCode": 200, "body": json.dumps({"service": "pricing", "price_cache": cache})}
