"""Lambda handler of the fragile service (API Gateway HTTP API, payload format 2.0).

Each invocation reads the failure-injection variables (see ``faults``) and, with probability
``FAILURE_RATE``, fails in ``FAILURE_MODE``:

- ``exception``: raises ``InjectedException``; counts in Lambda's ``Errors`` metric, the API answers 500.
- ``latency``: sleeps ``LATENCY_MS`` and then succeeds; not an error.
- ``timeout``: sleeps past the invocation's remaining time, so Lambda ends it as timed out (an error).
- ``status``: *returns* ``FAILURE_STATUS_CODE``. This does NOT count as a Lambda error: the function
  completed, only the HTTP status says otherwise, so the Errors alarm never sees it.

``FAILURE_INJECTION_ENABLED=false`` turns all of it off. Tests make the decision deterministic by
replacing ``rng`` (a ``random.Random``) and ``sleep``.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Final, Protocol

from aws_lambda_powertools import Logger

from fragile_service.errors import InjectedException, InjectedTimeout
from fragile_service.faults import ENV_VARS, FailureMode, FaultConfig, decide_fault, parse_config

__all__ = ["InvocationContext", "current_config", "handler", "logger", "rng", "sleep"]

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "fragile"))
rng = random.Random()
sleep: Callable[[float], None] = time.sleep

# Without a runtime to cut the invocation off, the timeout mode gives up this long after the deadline.
_TIMEOUT_OVERSHOOT_MS: Final = 1000
_FALLBACK_REMAINING_MS: Final = 3000
_JSON_HEADERS: Final = {"content-type": "application/json"}


class InvocationContext(Protocol):
    """The part of Lambda's context object the handler uses."""

    @property
    def aws_request_id(self) -> str: ...

    def get_remaining_time_in_millis(self) -> int: ...


@lru_cache(maxsize=8)
def _parse_cached(raw: tuple[str | None, ...]) -> FaultConfig:
    return parse_config({name: value for name, value in zip(ENV_VARS, raw, strict=True) if value is not None})


def current_config(env: Mapping[str, str] | None = None) -> FaultConfig:
    """The failure configuration in ``env`` (default: os.environ), parsed once per distinct value."""
    source = os.environ if env is None else env
    return _parse_cached(tuple(source.get(name) for name in ENV_VARS))


def _api_request_id(event: Mapping[str, Any]) -> str | None:
    request_context = event.get("requestContext")
    if isinstance(request_context, Mapping):
        value = request_context.get("requestId")
        return value if isinstance(value, str) else None
    return None


def _response(status_code: int, body: Mapping[str, object]) -> dict[str, Any]:
    return {"statusCode": status_code, "headers": dict(_JSON_HEADERS), "body": json.dumps(body)}


def _remaining_ms(context: InvocationContext) -> int:
    getter = getattr(context, "get_remaining_time_in_millis", None)
    return int(getter()) if callable(getter) else _FALLBACK_REMAINING_MS


def handler(event: Mapping[str, Any], context: InvocationContext) -> dict[str, Any]:
    """Answer one HTTP API request, failing on purpose as the environment says."""
    config = current_config()
    request_id = getattr(context, "aws_request_id", "unknown")
    api_request_id = _api_request_id(event)
    log_keys: dict[str, object] = {"request_id": request_id, "api_request_id": api_request_id}
    if config.errors:
        logger.error(
            "failure injection configuration is malformed; injecting nothing",
            extra={**log_keys, "config_errors": list(config.errors)},
        )

    fault: FailureMode | None = decide_fault(config, rng)
    log_keys.update(fault_injected=fault is not None, fault_mode=fault, failure_rate=config.rate)

    if fault == "exception":
        logger.warning("injecting failure: exception", extra=log_keys)
        raise InjectedException(f"injected failure (FAILURE_RATE={config.rate}, FAILURE_MODE=exception)")
    if fault == "timeout":
        wait_ms = _remaining_ms(context) + _TIMEOUT_OVERSHOOT_MS
        logger.warning("injecting failure: timeout", extra={**log_keys, "sleep_ms": wait_ms})
        sleep(wait_ms / 1000)
        raise InjectedTimeout(f"injected timeout outlived its {wait_ms} ms sleep")
    if fault == "latency":
        logger.info("injecting latency", extra={**log_keys, "sleep_ms": config.latency_ms})
        sleep(config.latency_ms / 1000)

    body: dict[str, object] = {
        "request_id": request_id,
        "api_request_id": api_request_id,
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "fault": fault,
        "config": config.as_dict(),
    }
    if fault == "status":
        logger.warning("injecting failure: status", extra={**log_keys, "status_code": config.status_code})
        return _response(config.status_code, {**body, "message": "injected failure status"})

    logger.info("request handled", extra=log_keys)
    return _response(200, body)
