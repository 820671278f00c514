"""The healer's configuration, read and validated from its environment variables.

Invalid configuration raises ``ConfigError`` naming every bad variable; the handler then logs it and takes
no action (fail closed).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["ConfigError", "HealerConfig"]

_REGISTRY_PATH = re.compile(r"^(/[A-Za-z0-9_.-]+){1,10}/?$")
_TABLE_NAME = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
_TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$")
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}


class ConfigError(ValueError):
    """One or more healer environment variables are missing or invalid."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid healer configuration: " + "; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class HealerConfig:
    """Validated healer settings (docs/platform.md); the per-function rails are in the registry."""

    registry_path: str
    ledger_table_name: str
    escalation_topic_arn: str
    fleet_max_in_flight: int = 3
    fleet_max_actions_per_hour: int = 10
    dry_run: bool = False
    healer_name: str = "selfheal-healer"
    metrics_namespace: str = "Selfheal"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> HealerConfig:
        """Read and validate the configuration; raise ``ConfigError`` listing every problem."""
        env = os.environ if env is None else env
        problems: list[str] = []

        def required(name: str, pattern: re.Pattern[str], what: str) -> str:
            value = env.get(name, "").strip()
            if not value:
                problems.append(f"{name} is not set")
            elif not pattern.match(value):
                problems.append(f"{name} is not {what}: {value!r}")
            return value

        def whole(name: str, default: int, *, minimum: int) -> int:
            raw = env.get(name, "").strip()
            if not raw:
                return default
            if not raw.isascii() or not raw.isdigit():
                problems.append(f"{name} is not a whole number: {raw!r}")
                return default
            value = int(raw)
            if value < minimum:
                problems.append(f"{name} must be >= {minimum}, got {raw!r}")
            return value

        registry = required("REGISTRY_PATH", _REGISTRY_PATH, "an SSM parameter path like /selfheal/prod")
        table = required("LEDGER_TABLE_NAME", _TABLE_NAME, "a DynamoDB table name")
        topic = required("ESCALATION_TOPIC_ARN", _TOPIC_ARN, "an SNS topic ARN")
        in_flight = whole("FLEET_MAX_IN_FLIGHT", cls.fleet_max_in_flight, minimum=1)
        per_hour = whole("FLEET_MAX_ACTIONS_PER_HOUR", cls.fleet_max_actions_per_hour, minimum=1)
        raw_dry = env.get("DRY_RUN", "").strip().lower()
        if raw_dry not in _TRUE | _FALSE:
            problems.append(f"DRY_RUN must be true or false, got {env.get('DRY_RUN')!r}")
        if problems:
            raise ConfigError(problems)
        return cls(
            registry_path=registry.rstrip("/"),
            ledger_table_name=table,
            escalation_topic_arn=topic,
            fleet_max_in_flight=in_flight,
            fleet_max_actions_per_hour=per_hour,
            dry_run=raw_dry in _TRUE,
            healer_name=env.get("AWS_LAMBDA_FUNCTION_NAME", "").strip() or cls.healer_name,
            metrics_namespace=env.get("POWERTOOLS_METRICS_NAMESPACE", "").strip() or cls.metrics_namespace,
        )
