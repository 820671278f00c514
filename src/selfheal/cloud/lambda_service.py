"""The Lambda service of the local cloud: run functions stored in moto, synchronously or as events.

:class:`LambdaService` is the façade the rest of the cloud uses (moto's ``Invoke`` hook, components, tests).
It composes three parts, each in its own module (the cloud builds the :class:`~.lambda_invoke.Invoker` and
hands it over):

- :mod:`.lambda_functions`: the function as moto stores it (configuration snapshot, code extraction);
- :mod:`.lambda_invoke`: synchronous invocation in pooled environments (concurrency, throttles);
- :mod:`.lambda_async`: the Event invocation queue (retries, event age, destinations, dead-letter queue).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

from .errors import InvalidRequestContent
from .lambda_async import DEFAULT_RETRY_DELAYS, AsyncInvocations
from .lambda_functions import FunctionConfig, lookup_function
from .lambda_interpreters import runtime_note
from .lambda_invoke import InvocationType, Invoker, InvokeResult, LogType, checked_payload

__all__ = ["InvocationType", "InvokeResult", "LambdaService", "LogType"]


class LambdaService:
    """Invoke functions defined in moto's Lambda backend by running their code in execution environments.

    ``backend(service)`` returns moto's backend for the cloud's account and region; ``invoker`` runs the
    invocations (the service owns it from now on: :meth:`shutdown` closes it).
    """

    def __init__(
        self,
        backend: Callable[[str], Any],
        invoker: Invoker,
        *,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
    ) -> None:
        self._backend = backend
        self._invoker = invoker
        self._async = AsyncInvocations(
            lookup=self._lookup,
            run=invoker.run,
            backend=backend,
            clock=invoker.clock,
            logs=invoker.logs,
            retry_delays=retry_delays,
        )

    def _lookup(self, function: str, qualifier: str | None = None) -> FunctionConfig:
        return lookup_function(self._backend, function, qualifier)

    @property
    def cold_starts(self) -> int:
        """How many environments were started (each a cold start)."""
        return self._invoker.cold_starts

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
            request_id = str(uuid.uuid4())  # Lambda's request ids are UUIDs with dashes
            self._async.enqueue(fn, request_id, payload)
            return InvokeResult(202, b"", None, fn.version, None, request_id)
        return self._invoker.invoke(fn, payload, log_type)

    def invoke_async(self, function: str, payload: bytes) -> str:
        """Queue an Event invoke and return its request id."""
        return self._async.invoke_async(function, payload)

    def runtime_note(self, function: str) -> str | None:
        """Why ``function`` does not run on the Python its runtime names (e.g. ``python3.12`` on this venv's
        3.11), or None when it does; raise FunctionNotFound.

        The same line is written into the function's log stream at each cold start.
        """
        return runtime_note(self._lookup(function).runtime)

    def runtime_notes(self) -> dict[str, str]:
        """:meth:`runtime_note` of every function that has one, by function name."""
        notes: dict[str, str] = {}
        for fn in self._backend("lambda").list_functions():
            note = runtime_note(str(fn.run_time or ""))
            if note:
                notes[fn.function_name] = note
        return notes

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
