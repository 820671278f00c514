"""Lambda entry point of the healer (``healer.app.handler``): configuration, clients, then ``Healer``."""

from __future__ import annotations

from typing import Any

from healer.clients import default_clients
from healer.clock import ClockError, ScaledClock
from healer.config import ConfigError, HealerConfig
from healer.healing import Healer
from healer.log import logger

__all__ = ["handler"]


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Handle an SNS event of CloudWatch alarm notifications; never raises for bad input."""
    try:
        config = HealerConfig.from_env()
        clock = ScaledClock.from_env()
    except (ConfigError, ClockError) as exc:
        logger.error("healer misconfigured: taking no action (fail closed)", extra={"config_error": str(exc)})
        return {"results": [], "error": str(exc)}
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    healer = Healer(config, default_clients(), clock)
    return healer.handle_event(
        event,
        (lambda: remaining() / 1000.0) if remaining else None,
        request_id=getattr(context, "aws_request_id", None),
    )
