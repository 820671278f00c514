"""The Lambda service of the local cloud: run functions stored in moto, synchronously or as events.

:class:`LambdaService` is the façade the rest of the cloud uses (moto's ``Invoke`` hook, components, tests).
It composes three parts, each in its own module:

- :mod:`.lambda_functions`: the function as moto stores it (configuration snapshot, code extraction);
- :mod:`.lambda_invoke`: synchronous invocation in pooled environments (concurrency, throttles);
- :mod:`.lambda_async`: the Event invocation queue (retries, event age, destinations, dead-letter queue).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from selfheal.clock import Clock

from .errors import InvalidRequestContent
from .lambda_async import DEFAULT_RETRY_DELAYS, AsyncInvocations
from .lambda_functions import CodeCache, FunctionConfig, lookup_function
from .lambda_invoke import InvocationType, Invoker, InvokeResult, LogType, checked_payload
from .lambda_logs import LogShipper
from .lambda_runtime import ExecutionEnvironment
from .metrics import MetricsPublisher

__all__ = ["InvocationType", "InvokeResult", "LambdaService", "LogType"]


class LambdaService:
    """Invoke functions defined in moto's Lambda backend by running their code in execution environments.

    ``backend(service)`` returns moto's backend for the cloud's account and region.
    """

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
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        credentials: Callable[[str, str], Mapping[str, str]] | None = None,
    ) -> None:
        if max_environments < 1:
            raise ValueError(f"max_environments must be at least 1, got {max_environments!r}")
        self._backend = backend
        self.endpoint = endpoint
        self.region = region
        self.account_id = account_id
        self.clock = clock
        self.metrics = metrics
        self.logs = logs
        self.max_environments = max_environments
        self.idle_seconds = idle_seconds
        self.retry_delays = tuple(retry_delays)
        self._code = CodeCache()
        self._invoker = Invoker(
            self._code,
            endpoint=endpoint,
            region=region,
            clock=clock,
            metrics=metrics,
            logs=logs,
            max_environments=max_environments,
            idle_seconds=idle_seconds,
            credentials=credentials,
        )
        self._async = AsyncInvocations(
            lookup=self._lookup,
            run=self._invoker.run,
            backend=backend,
            clock=clock,
            logs=logs,
            retry_delays=self.retry_delays,
        )

    def _lookup(self, function: str, qualifier: str | None = None) -> FunctionConfig:
        return lookup_function(self._backend, function, qualifier)

    @property
    def cold_starts(self) -> int:
        """How many environments were started (each a cold start)."""
        return self._invoker.cold_starts

    # White-box access for tests (tests/security/test_runtime_api_foreign_client.py reads the environments
    # under the service's lock).
    @property
    def _lock(self) -> Any:
        return self._invoker._lock

    @property
    def _environments(self) -> set[ExecutionEnvironment]:
        return self._invoker._environments

    # ----- public API ------------------------------------------------------------------------------

    def invoke(
        self,
        function: str,
        payload: bytes,
        invocation_type: InvocationType = "RequestResponse",
        qualifier: str | None = None,
        *,
        log_type: LogType = "None",
    ) -> InvokeResult:
        """Invoke ``function`` (name or ARN).

        Raises FunctionNotFound, TooManyRequests or InvalidRequestContent.
        """
        if invocation_type not in ("RequestResponse", "Event", "DryRun"):
            raise InvalidRequestContent(f"unknown invocation type {invocation_type!r}")
        payload = checked_payload(payload)
        fn = self._lookup(function, qualifier)
        if invocation_type == "DryRun":
            return InvokeResult(204, b"", None, fn.version, None)
        if invocation_type == "Event":
            self._async.enqueue(fn, uuid.uuid4().hex, payload)
            return InvokeResult(202, b"", None, fn.version, None)
        return self._invoker.invoke(fn, payload, log_type)

    def invoke_async(self, function: str, payload: bytes) -> str:
        """Queue an Event invoke and return its request id."""
        return self._async.invoke_async(function, payload)

    def retire(self, function: str) -> None:
        """Retire ``function``'s warm environments; the next invoke cold-starts."""
        self._invoker.retire(function)

    def environments(self, function: str | None = None) -> int:
        """Return how many environments exist (for ``function``, or all)."""
        return self._invoker.environments(function)

    def child_pids(self) -> list[int]:
        """Return the process ids of every live environment."""
        return self._invoker.child_pids()

    def shutdown(self) -> None:
        """Stop the workers and kill every environment (idempotent)."""
        self._async.close()
        # Kill every environment, busy ones included, before joining the workers: a worker may be
        # inside a long invocation (a healer verifying its action) that would otherwise hold stop().
        self._invoker.close()
        self._async.join()
        self._invoker.join()
        self._code.remove()
