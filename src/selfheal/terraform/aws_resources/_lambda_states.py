"""Waiting for a new Lambda function to leave ``Pending``, as the real provider's ``waitFunctionCreated``.

Lambda creates a function ``Pending`` and invokes it only once it is ``Active``; the provider returns from
create only then, so the function's dependants (permissions, alarm actions, API integrations, the first
invocations after ``apply``) never meet a Pending function.
"""

from __future__ import annotations

import time
from typing import Any

from selfheal.terraform.resource import ResourceError

__all__ = ["ACTIVE_TIMEOUT_SECONDS", "wait_active"]

#: How long (real seconds) a create waits for Active: the real provider's default ``create`` timeout.
ACTIVE_TIMEOUT_SECONDS = 600.0


def wait_active(lam: Any, name: str, timeout: float = ACTIVE_TIMEOUT_SECONDS) -> dict[str, Any]:
    """Poll (50 ms, backing off to 1 s) until function ``name`` leaves Pending; return its configuration."""
    deadline, delay = time.monotonic() + timeout, 0.05
    while (cfg := lam.get_function_configuration(FunctionName=name)).get("State") == "Pending":
        if time.monotonic() + delay > deadline:
            raise ResourceError(f"Lambda function {name} still Pending after {timeout:g} s")
        time.sleep(delay)
        delay = min(1.0, delay * 2)
    if cfg.get("State") == "Failed":
        raise ResourceError(
            f"Lambda function {name} creation failed: {cfg.get('StateReasonCode')}",
            str(cfg.get("StateReason") or ""),
        )
    return dict(cfg)
