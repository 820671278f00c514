"""checkout: the function of the bad_deploy scenario; fails on purpose (FAILURE_RATE, 0..1).

Served through the alias "live" by the scenario's HTTP API. Each apply that changes FAILURE_RATE publishes
a new version and moves the alias onto it, as a deploy would; the healer's rollback_alias moves the alias
back to the version before when the new one fails.
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
    """Check out a cart; raise (a Lambda error, a 500 from the HTTP API) with probability FAILURE_RATE."""
    if random.random() < failure_rate():
        raise InjectedFailure("checkout: injected failure")
    version = getattr(context, "function_version", "$LATEST")
    return {"statusCode": 200, "body": json.dumps({"service": "checkout", "version": version})}
