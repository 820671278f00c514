"""Run Lambda functions stored in moto: synchronous and asynchronous invokes, throttling, destinations.

Environments are pooled per function configuration; reserved concurrency and a global environment cap bound
them. Event invokes go to a per-function queue drained by worker threads, retried on function error with
backoff per the function's event invoke config, then sent to the on-failure destination or dead-letter queue.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from selfheal.clock import Clock

from .lambda_logs import LogShipper
from .metrics import MetricsPublisher

__all__ = ["InvocationType", "InvokeResult", "LambdaService"]

InvocationType = Literal["RequestResponse", "Event", "DryRun"]


@dataclass(frozen=True)
class InvokeResult:
    """The answer of one Invoke, as Lambda's API gives it."""

    status_code: int
    payload: bytes
    function_error: str | None
    executed_version: str
    log_result: str | None


class LambdaService:
    """Invoke functions defined in moto's Lambda backend by running their code in execution environments."""

    def __init__(
        self,
        backend: Callable[[str], Any],
        *,
        endpoint: str,
        region: str,
        account_id: str,
        clock: Clock,
        metrics: MetricsPublisher,
        logs: LogShipper,
        max_environments: int = 32,
        idle_seconds: float = 300.0,
    ) -> None:
        self._backend = backend
        self.endpoint = endpoint

    def invoke(
        self,
        function: str,
        payload: bytes,
        invocation_type: InvocationType = "RequestResponse",
        qualifier: str | None = None,
    ) -> InvokeResult:
        """Invoke ``function`` (name or ARN).

        Raises FunctionNotFound, TooManyRequests or InvalidRequestContent.
        """
        raise NotImplementedError

    def invoke_async(self, function: str, payload: bytes) -> str:
        """Queue an Event invoke and return its request id."""
        raise NotImplementedError

    def retire(self, function: str) -> None:
        """Retire ``function``'s warm environments; the next invoke cold-starts."""
        raise NotImplementedError

    def shutdown(self) -> None:
        """Stop the workers and kill every environment."""
        raise NotImplementedError
