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

_FUNCTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
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
    """Validated healer settings (see docs/internals.md for the variable names)."""

    target_function_name: str
    ledger_table_name: str
    escalation_topic_arn: str
    cooldown_seconds: float = 300.0
    max_actions_per_window: int = 3
    action_window_seconds: float = 3600.0
    verify_timeout_seconds: float = 300.0
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

        def number(name: str, default: float, *, minimum: float, integer: bool = False) -> float:
            raw = env.get(name, "").strip()
            if not raw:
                return default
            try:
                value = int(raw) if integer else float(raw)
            except ValueError:
                problems.append(f"{name} is not {'an integer' if integer else 'a number'}: {raw!r}")
                return default
            if not value >= minimum or value != value or value == float("inf"):
                problems.append(f"{name} must be a finite number >= {minimum:g}, got {raw!r}")
            return value

        target = required("TARGET_FUNCTION_NAME", _FUNCTION_NAME, "a Lambda function name")
        table = required("LEDGER_TABLE_NAME", _TABLE_NAME, "a DynamoDB table name")
        topic = required("ESCALATION_TOPIC_ARN", _TOPIC_ARN, "an SNS topic ARN")
        cooldown = number("COOLDOWN_SECONDS", cls.cooldown_seconds, minimum=0)
        cap = number("MAX_ACTIONS_PER_WINDOW", cls.max_actions_per_window, minimum=1, integer=True)
        window = number("ACTION_WINDOW_SECONDS", cls.action_window_seconds, minimum=1)
        verify = number("VERIFY_TIMEOUT_SECONDS", cls.verify_timeout_seconds, minimum=0)
        raw_dry = env.get("DRY_RUN", "").strip().lower()
        if raw_dry not in _TRUE | _FALSE:
            problems.append(f"DRY_RUN must be true or false, got {env.get('DRY_RUN')!r}")
        if problems:
            raise ConfigError(problems)
        return cls(
            target_function_name=target,
            ledger_table_name=table,
            escalation_topic_arn=topic,
            cooldown_seconds=cooldown,
            max_actions_per_window=int(cap),
            action_window_seconds=window,
            verify_timeout_seconds=verify,
            dry_run=raw_dry in _TRUE,
            healer_name=env.get("AWS_LAMBDA_FUNCTION_NAME", "").strip() or cls.healer_name,
            metrics_namespace=env.get("POWERTOOLS_METRICS_NAMESPACE", "").strip() or cls.metrics_namespace,
        )
