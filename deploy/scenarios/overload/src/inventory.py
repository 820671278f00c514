"""inventory: the downstream of the overload scenario; each call holds one of its few slots for DELAY_MS.

Its reserved concurrency is small (the slots of a database connection pool, say): while every slot is
busy, a further call is throttled (TooManyRequestsException) and its caller waits and tries again. So a
slower release (a larger DELAY_MS) lowers what it can serve, and past that every caller queues.
"""

from __future__ import annotations

import os
import time
from typing import Any


def delay_seconds() -> float:
    """DELAY_MS as seconds, clamped to 0..5000 ms; anything unreadable counts as 0."""
    try:
        return min(max(float(os.environ.get("DELAY_MS", "0")), 0.0), 5000.0) / 1000.0
    except ValueError:
        return 0.0


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Look up the stock of an item: DELAY_MS of work, then the answer."""
    time.sleep(delay_seconds())
    item = str(event.get("item", "?")) if isinstance(event, dict) else "?"
    return {"item": item, "in_stock": True}
