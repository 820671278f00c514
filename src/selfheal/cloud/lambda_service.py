"""The Lambda service of the local cloud: run functions stored in moto, synchronously or as events.

:class:`LambdaService` is the façade the rest of the cloud uses (moto's ``Invoke`` hook, components, tests).
It composes three parts, each in its own module (the cloud builds the :class:`~.lambda_invoke.Invoker` and
hands it over):

- :mod:`.lambda_functions`: the function as moto stores it (configuration snapshot, code extraction);
- :mod:`.lambda_invoke`: synchronous invocation in pooled environments (concurrency, throttles);
- :mod:`.lambda_async`: the Event invocation queue (retries, event age, destinations, dead-letter queue).

An invocation names a version or an alias by ``Qualifier`` or inside the function name (``name:q``, a
qualified ARN; that one wins, as in Lambda's API). An alias with ``RoutingConfig.AdditionalVersionWeights``
(``{"2": 0.1}``) sends that share of its invocations to the additional version, chosen per invocation
(:func:`routed_version`) from :attr:`LambdaService.draw` (``random.random``; tests give a fixed sequence);
an Event invoke routes when it runs, each attempt afresh. The version that ran is the answer's
``ExecutedVersion``.

:func:`invoke_headers` checks Invoke's ``InvocationType``, ``LogType`` and ``ClientContext`` as Lambda does;
both ways in (the gateway's shortcut and moto's ``Invoke`` hook) call it before anything runs.
"""

from __future__ import annotations

import base64
import json
import random
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import InvalidParameterValue, InvalidRequestContent
from .lambda_async import DEFAULT_RETRY_DELAYS, AsyncInvocations
from .lambda_functions import ConfigCache, FunctionConfig, backend_in_region, function_name
from .lambda_interpreters import runtime_note
from .lambda_invoke import InvocationType, Invoker, InvokeResult, LogType, Target, checked_payload

__all__ = [
    "CLIENT_CONTEXT_BYTES",
    "InvocationType",
    "InvokeHeaders",
    "InvokeResult",
    "LambdaService",
    "LogType",
    "invoke_headers",
    "named_qualifier",
    "routed_version",
]

#: Invoke's ``ClientContext``: "up to 3,583 bytes of base64-encoded data" (Lambda API reference, Invoke).
CLIENT_CONTEXT_BYTES = 3583
_INVOCATION_TYPES = ("RequestResponse", "Event", "DryRun")
_LOG_TYPES = ("None", "Tail")
_BAD_CLIENT_CONTEXT = "Client context must be a valid Base64-encoded JSON object."


@dataclass(frozen=True)
class InvokeHeaders:
    """Invoke's ``X-Amz-*`` parameters, checked: ``client_context`` is the decoded JSON object's text, as
    the Runtime API hands it to the runtime (``Lambda-Runtime-Client-Context``), None when not given."""

    invocation_type: InvocationType = "RequestResponse"
    log_type: LogType = "None"
    client_context: str | None = None


def invoke_headers(
    invocation_type: str | None, log_type: str | None, client_context: str | None
) -> InvokeHeaders:
    """Check Invoke's ``X-Amz-Invocation-Type``, ``X-Amz-Log-Type`` and ``X-Amz-Client-Context`` headers
    (absent or empty: the default) as Lambda does, before anything runs.

    Raises InvalidParameterValue for a value outside an enum, InvalidRequestContent for a ClientContext
    that is over 3,583 bytes or not base64 of a JSON object (the documented code for an invalid header).
    """
    kind = invocation_type or "RequestResponse"
    if kind not in _INVOCATION_TYPES:
        raise _not_in_enum(kind, "invocationType", "[Event, RequestResponse, DryRun]")
    log = log_type or "None"
    if log not in _LOG_TYPES:
        raise _not_in_enum(log, "logType", "[None, Tail]")
    context = None
    if client_context:
        if len(client_context.encode()) > CLIENT_CONTEXT_BYTES:
            raise InvalidRequestContent(
                f"Client context must be at most {CLIENT_CONTEXT_BYTES} bytes of base64-encoded data."
            )
        try:
            decoded = base64.b64decode(client_context, validate=True).decode()
            parsed = json.loads(decoded)
        except (ValueError, UnicodeError) as exc:
            raise InvalidRequestContent(_BAD_CLIENT_CONTEXT) from exc
        if not isinstance(parsed, dict):
            raise InvalidRequestContent(_BAD_CLIENT_CONTEXT)
        context = decoded
    return InvokeHeaders(kind, log, context)  # type: ignore[arg-type]


def _not_in_enum(value: str, member: str, allowed: str) -> InvalidParameterValue:
    return InvalidParameterValue(
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: "
        f"Member must satisfy enum value set: {allowed}"
    )


def named_qualifier(function: str, qualifier: str | None = None) -> tuple[str, str | None]:
    """(function name, qualifier) of a reference: a name, ``name:q``, an ARN or a partial ARN
    (``account:function:name[:q]``); a qualifier inside the reference wins over ``qualifier``."""
    parts = function.split(":")
    if function.startswith("arn:") and len(parts) >= 7:
        name, inside = parts[6], (parts[7] if len(parts) > 7 else None)
    elif len(parts) >= 3 and parts[1] == "function":
        name, inside = parts[2], (parts[3] if len(parts) > 3 else None)
    elif len(parts) == 2:
        name, inside = parts
    else:
        name, inside = function, None
    return name, (inside or qualifier or None)


def routed_version(primary: str, weights: Mapping[str, float], draw: float) -> str:
    """The version an alias runs for one invocation: an additional version with probability its weight,
    else ``primary``; ``draw`` is uniform in [0, 1) (AWS picks at random per invocation)."""
    bound = 0.0
    for version, weight in sorted(weights.items()):
        bound += float(weight)
        if draw < bound:
            return str(version)
    return primary


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
        draw: Callable[[], float] = random.random,
    ) -> None:
        self._backend = backend
        self._invoker = invoker
        #: Configuration snapshots, reused while the function is unchanged (checked at every invoke).
        self.configs = ConfigCache()
        #: The random source of weighted alias routing: a float in [0, 1) per routed invocation.
        self.draw = draw
        self._async = AsyncInvocations(
            lookup=lambda function, route: self._resolve(function, route=route),
            run=invoker.run,
            backend=backend,
            clock=invoker.clock,
            logs=invoker.logs,
            retry_delays=retry_delays,
        )

    def _lookup(
        self, function: str, qualifier: str | None = None, region: str | None = None
    ) -> FunctionConfig:
        return self.configs.lookup(self._backend, function, qualifier, region)

    def _resolve(
        self,
        function: str,
        qualifier: str | None = None,
        *,
        route: bool = True,
        region: str | None = None,
    ) -> Target:
        """What an invocation of ``function`` (``qualifier``) runs; raise FunctionNotFound.

        Through an alias with additional version weights, ``route`` picks the version for this invocation;
        without, the alias's own version.
        """
        fn = self._lookup(function, qualifier, region)
        _, named = named_qualifier(function, qualifier)
        if named is None or named == "$LATEST" or named.isdigit():
            return Target(fn, named)
        # An alias (aliases cannot be all digits, versions always are).
        weights: Mapping[str, float] = {}
        if route:
            lambdas = backend_in_region(self._backend("lambda"), "lambda", fn.region)
            alias = lambdas.get_alias(named, fn.name)
            weights = (alias.routing_config or {}).get("AdditionalVersionWeights") or {}
        if weights:
            version = routed_version(fn.version, weights, self.draw())
            if version != fn.version:
                fn = self._lookup(fn.name, version, fn.region)
        return Target(fn, named, alias=True)

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
        region: str | None = None,
        client_context: str | None = None,
        json_payload: bool = False,
    ) -> InvokeResult:
        """Invoke ``function`` (name or ARN) of ``region`` (None: the region its ARN names, else the cloud's).

        ``json_payload``: the caller encoded ``payload`` as JSON itself (the API data planes), so it is not
        parsed again to be checked.

        ``client_context`` is the decoded ClientContext JSON (:func:`invoke_headers`); as on
        Lambda, only a RequestResponse invoke passes it to the function, an Event invoke drops it.
        Raises FunctionNotFound, TooManyRequests or InvalidRequestContent.
        """
        if invocation_type not in _INVOCATION_TYPES:
            raise InvalidRequestContent(f"unknown invocation type {invocation_type!r}")
        if not json_payload:
            payload = checked_payload(payload)
        # Event invokes are routed when they run (each attempt afresh); DryRun runs nothing.
        target = self._resolve(function, qualifier, route=invocation_type == "RequestResponse", region=region)
        if invocation_type == "DryRun":
            return InvokeResult(204, b"", None, target.fn.version, None)
        if invocation_type == "Event":
            request_id = str(uuid.uuid4())  # Lambda's request ids are UUIDs with dashes
            self._async.enqueue(target, request_id, payload)
            return InvokeResult(202, b"", None, target.fn.version, None, request_id)
        return self._invoker.invoke(target, payload, log_type, client_context)

    def invoke_async(self, function: str, payload: bytes) -> str:
        """Queue an Event invoke of ``function`` (name, or an ARN naming its region) and return its
        request id."""
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
        self.configs.discard(function_name(function))
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
