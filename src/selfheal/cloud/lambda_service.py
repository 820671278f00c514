"""Run Lambda functions stored in moto: synchronous and asynchronous invokes, throttling, destinations.

Environments are pooled per function; an idle environment is reused only while the function's configuration
and code are unchanged. Reserved concurrency (``PutFunctionConcurrency``) caps a function's running
invocations and a global cap bounds all environments; beyond either an invoke is throttled. Event invokes go
to a per-function queue drained by worker threads: at least once, retried on function error with backoff
(``MaximumRetryAttempts``, ``MaximumEventAgeInSeconds`` of the event invoke config), then sent to the
on-failure destination or the function's dead-letter queue in AWS's record shape.
"""

from __future__ import annotations

import base64
import heapq
import io
import itertools
import json
import os
import shutil
import tempfile
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from selfheal.clock import Clock

from .errors import FunctionNotFound, InvalidRequestContent, ServiceUnavailable, TooManyRequests
from .lambda_logs import LogShipper, log_group_name, log_stream_name
from .lambda_runtime import EnvironmentSpec, ExecutionEnvironment, RawResult
from .metrics import MetricsPublisher

__all__ = ["InvocationType", "InvokeResult", "LambdaService", "LogType"]

InvocationType = Literal["RequestResponse", "Event", "DryRun"]
LogType = Literal["None", "Tail"]

DEFAULT_RETRY_DELAYS = (60.0, 120.0)  # cloud seconds before the first and second async retry
DEFAULT_MAX_EVENT_AGE = 21600.0
ASYNC_WORKERS_PER_FUNCTION = 4
TAIL_BYTES = 4096


@dataclass(frozen=True)
class InvokeResult:
    """The answer of one Invoke, as Lambda's API gives it."""

    status_code: int
    payload: bytes
    function_error: str | None
    executed_version: str
    log_result: str | None


@dataclass(frozen=True)
class _Function:
    """A snapshot of a function's configuration taken at invoke time."""

    name: str
    arn: str
    version: str
    handler: str
    code_sha256: str
    timeout: float
    memory_size: int
    variables: dict[str, str]
    layers: tuple[str, ...]
    reserved_concurrency: int | None
    event_config: dict[str, Any]
    dead_letter_arn: str | None
    model: Any = field(compare=False, repr=False)
    role: str = ""


@dataclass(order=True)
class _Event:
    due: float
    seq: int
    request_id: str = field(compare=False)
    function: str = field(compare=False)
    payload: bytes = field(compare=False)
    first_cloud_time: float = field(compare=False)
    attempts: int = field(default=0, compare=False)


class _Pool:
    """The environments of one function."""

    def __init__(self) -> None:
        self.idle: list[ExecutionEnvironment] = []
        self.running = 0


class _AsyncQueue:
    """Due-time ordered events of one function, drained by worker threads."""

    def __init__(self) -> None:
        self.heap: list[_Event] = []
        self.cond = threading.Condition()
        self.workers: list[threading.Thread] = []


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
        # (role ARN, function name) → AWS_ACCESS_KEY_ID/…; None: no credentials at all (the function's
        # AWS calls then fail with NoCredentialsError; the local cloud always gives its role sessions).
        self._credentials = credentials
        self._lock = threading.Lock()
        self._pools: dict[str, _Pool] = {}
        self._environments: set[ExecutionEnvironment] = set()
        self._queues: dict[str, _AsyncQueue] = {}
        self._seq = itertools.count()
        self._closed = False
        self._code_root = Path(tempfile.mkdtemp(prefix="selfheal-lambda-code-"))
        self._code_lock = threading.Lock()
        self._stop = threading.Event()
        self._reaper = threading.Thread(target=self._reap_idle, name="lambda-reaper", daemon=True)
        self._reaper.start()
        self._closers: list[threading.Thread] = []
        self.cold_starts = 0

    # ----- function lookup -------------------------------------------------------------------------

    def _lookup(self, function: str, qualifier: str | None = None) -> _Function:
        from moto.awslambda.exceptions import LambdaClientError

        from .moto_state import DEAD_LETTER_ATTRIBUTE

        if not function:
            raise FunctionNotFound("Function not found: (empty name)")
        try:
            fn = self._backend("lambda").get_function(function, qualifier)
        except LambdaClientError as exc:
            raise FunctionNotFound(exc.message) from exc
        if fn is None:
            raise FunctionNotFound(f"Function not found: {function}")
        reserved = fn.reserved_concurrency
        event_config = dict(fn.event_invoke_config[0].config) if fn.event_invoke_config else {}
        dead_letter = getattr(fn, DEAD_LETTER_ATTRIBUTE, None) or {}
        return _Function(
            name=fn.function_name,
            arn=fn.function_arn,
            version=str(fn.version),
            handler=fn.handler or "",
            code_sha256=fn.code_sha_256,
            timeout=float(fn.timeout),
            memory_size=int(fn.memory_size),
            variables={str(k): str(v) for k, v in (fn.environment_vars or {}).items()},
            layers=tuple(str(layer.get("Arn", "")) for layer in fn.layers or []),
            reserved_concurrency=None if reserved is None else int(reserved),
            event_config=event_config,
            dead_letter_arn=dead_letter.get("TargetArn") or None,
            model=fn,
            role=str(fn.role or ""),
        )

    def _code_dir(self, fn: _Function) -> Path:
        target = self._code_root / (fn.code_sha256 or "empty").replace("/", "_")
        with self._code_lock:
            if not target.exists():
                staging = Path(tempfile.mkdtemp(dir=self._code_root))
                code = fn.model.code_bytes or b""
                if code:
                    try:
                        with zipfile.ZipFile(io.BytesIO(code)) as archive:
                            archive.extractall(staging)
                    except zipfile.BadZipFile as exc:
                        shutil.rmtree(staging, ignore_errors=True)
                        raise InvalidRequestContent(f"the code of {fn.name} is not a zip file") from exc
                staging.rename(target)
        return target

    def _spec(self, fn: _Function) -> EnvironmentSpec:
        return EnvironmentSpec(
            function_name=fn.name,
            function_arn=fn.arn,
            version=fn.version,
            handler=fn.handler,
            code_dir=self._code_dir(fn),
            code_sha256=fn.code_sha256,
            timeout=fn.timeout,
            memory_size=fn.memory_size,
            variables=fn.variables,
            layers=fn.layers,
            role_arn=fn.role,
        )

    # ----- environments ----------------------------------------------------------------------------

    def _base_env(self, spec: EnvironmentSpec, environment_id: str, stream: str) -> dict[str, str]:
        env = {key: os.environ[key] for key in ("PATH", "LANG", "SYSTEMROOT") if key in os.environ}
        env.update(
            {
                "AWS_LAMBDA_FUNCTION_NAME": spec.function_name,
                "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
                "AWS_LAMBDA_LOG_GROUP_NAME": log_group_name(spec.function_name),
                "AWS_LAMBDA_LOG_STREAM_NAME": stream,
                "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
                "AWS_REGION": self.region,
                "AWS_DEFAULT_REGION": self.region,
                "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
                "AWS_ENDPOINT_URL": self.endpoint,
                "TZ": ":UTC",
                "PYTHONDONTWRITEBYTECODE": "1",
            }
        )
        if self._credentials is not None:
            env.update(self._credentials(spec.role_arn, spec.function_name))
        env.update(self.clock.env())
        return env

    def _new_environment(self, spec: EnvironmentSpec) -> ExecutionEnvironment:
        environment_id = uuid.uuid4().hex
        day = datetime.now(UTC).strftime("%Y/%m/%d")
        stream = log_stream_name(day, spec.version, environment_id)
        group = log_group_name(spec.function_name)

        def log_line(line: str) -> None:
            self.logs.write(group, stream, line)

        env = ExecutionEnvironment(
            spec, self._base_env(spec, environment_id, stream), log_line, environment_id=environment_id
        )
        env.log_group, env.log_stream = group, stream  # type: ignore[attr-defined]
        return env

    def _acquire(self, fn: _Function, spec: EnvironmentSpec) -> tuple[ExecutionEnvironment, bool]:
        """Return an environment for one invocation and whether it is new; raise TooManyRequests."""
        stale: list[ExecutionEnvironment] = []
        try:
            with self._lock:
                if self._closed:
                    raise ServiceUnavailable("the local cloud is stopping")
                pool = self._pools.setdefault(fn.name, _Pool())
                if fn.reserved_concurrency is not None and pool.running >= fn.reserved_concurrency:
                    raise TooManyRequests("Rate Exceeded.")
                while pool.idle:
                    env = pool.idle.pop()
                    if env.spec == spec and env.alive:
                        pool.running += 1
                        return env, False
                    stale.append(env)
                    self._environments.discard(env)
                if len(self._environments) >= self.max_environments:
                    victim = self._oldest_idle()
                    if victim is None:
                        raise TooManyRequests("Rate Exceeded.")
                    stale.append(victim)
                env = self._new_environment(spec)
                self._environments.add(env)
                pool.running += 1
                self.cold_starts += 1
                return env, True
        finally:
            for env in stale:
                env.close()

    def _oldest_idle(self) -> ExecutionEnvironment | None:
        candidates = [(env.last_used, name, env) for name, pool in self._pools.items() for env in pool.idle]
        if not candidates:
            return None
        _, name, env = min(candidates, key=lambda item: item[0])
        self._pools[name].idle.remove(env)
        self._environments.discard(env)
        return env

    def _release(self, fn: _Function, env: ExecutionEnvironment) -> None:
        close = False
        with self._lock:
            pool = self._pools.setdefault(fn.name, _Pool())
            pool.running = max(0, pool.running - 1)
            running = pool.running
            if env.alive and not self._closed and env in self._environments:
                pool.idle.append(env)
            else:
                self._environments.discard(env)
                close = True
        self.metrics.record_concurrency(fn.name, running)
        if close:
            env.close()

    def _run(self, fn: _Function, request_id: str, payload: bytes) -> tuple[RawResult, list[str]]:
        """Run one invocation, with Lambda's START/END/REPORT lines; raise TooManyRequests when throttled."""
        spec = self._spec(fn)
        try:
            env, cold = self._acquire(fn, spec)
        except TooManyRequests:
            self.metrics.record_throttle(fn.name)
            raise
        with self._lock:
            running = self._pools[fn.name].running
        self.metrics.record_concurrency(fn.name, running)
        group, stream = env.log_group, env.log_stream  # type: ignore[attr-defined]
        try:
            init_ms = 0.0
            if cold:
                started = time.monotonic()
                env.start()
                env.wait_ready()
                init_ms = (time.monotonic() - started) * 1000.0
            start_line = f"START RequestId: {request_id} Version: {fn.version}"
            self.logs.write(group, stream, start_line)
            result = env.invoke(request_id, payload)
            lines = [start_line, *result.log_tail.splitlines()]
            if _error_type(result) == "Sandbox.Timedout":
                timed_out = f"{request_id} Task timed out after {fn.timeout:.2f} seconds"
                lines.append(timed_out)
                self.logs.write(group, stream, timed_out)
            report = (
                f"REPORT RequestId: {request_id}\tDuration: {result.duration_ms:.2f} ms\t"
                f"Billed Duration: {max(1, round(result.duration_ms))} ms\tMemory Size: {fn.memory_size} MB\t"
                f"Max Memory Used: {fn.memory_size} MB"
            )
            if cold:
                report += f"\tInit Duration: {init_ms:.2f} ms"
            end_line = f"END RequestId: {request_id}"
            for line in (end_line, report):
                self.logs.write(group, stream, line)
            lines += [end_line, report]
        finally:
            self._release(fn, env)
        self.metrics.record_invocation(fn.name, result.duration_ms, result.error_type is not None)
        return result, lines

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
        payload = _checked_payload(payload)
        fn = self._lookup(function, qualifier)
        if invocation_type == "DryRun":
            return InvokeResult(204, b"", None, fn.version, None)
        if invocation_type == "Event":
            self._enqueue(fn, uuid.uuid4().hex, payload)
            return InvokeResult(202, b"", None, fn.version, None)
        request_id = str(uuid.uuid4())
        result, lines = self._run(fn, request_id, payload)
        tail = None
        if log_type == "Tail":
            encoded = "\n".join(lines).encode()[-TAIL_BYTES:] + b"\n"
            tail = base64.b64encode(encoded).decode()
        return InvokeResult(200, result.payload, result.error_type, fn.version, tail)

    def invoke_async(self, function: str, payload: bytes) -> str:
        """Queue an Event invoke and return its request id."""
        payload = _checked_payload(payload)
        fn = self._lookup(function)
        request_id = str(uuid.uuid4())
        self._enqueue(fn, request_id, payload)
        return request_id

    def retire(self, function: str) -> None:
        """Retire ``function``'s warm environments; the next invoke cold-starts."""
        name = (
            function.split(":")[6] if function.startswith("arn:") and function.count(":") >= 6 else function
        )
        with self._lock:
            pool = self._pools.get(name)
            idle = pool.idle if pool is not None else []
            if pool is not None:
                pool.idle = []
            for env in idle:
                self._environments.discard(env)
        if idle:
            # Closing waits for each Runtime API server to stop: do it off the caller's thread so that
            # UpdateFunctionConfiguration answers at once, as on AWS. shutdown() joins the closers.
            closer = threading.Thread(target=_close_all, args=(idle,), name="lambda-retire", daemon=True)
            with self._lock:
                self._closers = [t for t in self._closers if t.is_alive()] + [closer]
            closer.start()

    def environments(self, function: str | None = None) -> int:
        """Return how many environments exist (for ``function``, or all)."""
        with self._lock:
            if function is None:
                return len(self._environments)
            return sum(1 for env in self._environments if env.spec.function_name == function)

    def child_pids(self) -> list[int]:
        """Return the process ids of every live environment."""
        with self._lock:
            return [env.pid for env in self._environments if env.pid is not None]

    def shutdown(self) -> None:
        """Stop the workers and kill every environment (idempotent)."""
        with self._lock:
            self._closed = True
            queues = list(self._queues.values())
        self._stop.set()
        for queue in queues:
            with queue.cond:
                queue.cond.notify_all()
        # Kill every environment, busy ones included, before joining the workers: a worker may be
        # inside a long invocation (a healer verifying its action) that would otherwise hold stop().
        with self._lock:
            environments = list(self._environments)
            self._environments.clear()
            self._pools.clear()
        for env in environments:
            env.close()
        for queue in queues:
            for worker in queue.workers:
                worker.join(timeout=30)
        if self._reaper.is_alive():
            self._reaper.join(timeout=10)
        with self._lock:
            closers = list(self._closers)
        for closer in closers:
            closer.join(timeout=30)
        shutil.rmtree(self._code_root, ignore_errors=True)

    # ----- idle reaping ----------------------------------------------------------------------------

    def _reap_idle(self) -> None:
        while not self._stop.wait(min(5.0, max(0.05, self.idle_seconds / 4))):
            cutoff = time.monotonic() - self.idle_seconds
            expired: list[ExecutionEnvironment] = []
            with self._lock:
                for pool in self._pools.values():
                    keep = [env for env in pool.idle if env.last_used >= cutoff and env.alive]
                    expired += [env for env in pool.idle if env not in keep]
                    pool.idle = keep
                for env in expired:
                    self._environments.discard(env)
            for env in expired:
                env.close()

    # ----- asynchronous invocation -----------------------------------------------------------------

    def _enqueue(self, fn: _Function, request_id: str, payload: bytes) -> None:
        event = _Event(time.monotonic(), next(self._seq), request_id, fn.arn, payload, self.clock.now())
        self._push(fn.name, event)

    def _push(self, name: str, event: _Event) -> None:
        with self._lock:
            if self._closed:
                raise ServiceUnavailable("the local cloud is stopping")
            queue = self._queues.get(name)
            if queue is None:
                queue = self._queues[name] = _AsyncQueue()
                for index in range(ASYNC_WORKERS_PER_FUNCTION):
                    worker = threading.Thread(
                        target=self._drain, args=(queue,), name=f"lambda-async-{name}-{index}", daemon=True
                    )
                    queue.workers.append(worker)
                    worker.start()
        with queue.cond:
            heapq.heappush(queue.heap, event)
            queue.cond.notify()

    def _drain(self, queue: _AsyncQueue) -> None:
        while True:
            with queue.cond:
                while True:
                    if self._stop.is_set():
                        return
                    now = time.monotonic()
                    if queue.heap and queue.heap[0].due <= now:
                        event = heapq.heappop(queue.heap)
                        break
                    queue.cond.wait(min(0.5, queue.heap[0].due - now) if queue.heap else 0.5)
            try:
                self._deliver(event)
            except Exception as exc:  # a worker must survive anything one event does
                self._log_service_error(event, exc)

    def _log_service_error(self, event: _Event, exc: BaseException) -> None:
        name = event.function.split(":")[6] if event.function.count(":") >= 6 else event.function
        self.logs.write(
            log_group_name(name), "selfheal-async", f"async delivery of {event.request_id}: {exc!r}"
        )

    def _deliver(self, event: _Event) -> None:
        try:
            fn = self._lookup(event.function)
        except FunctionNotFound:
            return  # deleted since: nothing left to run or to report to
        max_age = float(fn.event_config.get("MaximumEventAgeInSeconds", DEFAULT_MAX_EVENT_AGE))
        max_retries = int(fn.event_config.get("MaximumRetryAttempts", len(self.retry_delays)))
        if self.clock.now() - event.first_cloud_time > max_age:
            self._on_failure(fn, event, "EventAgeExceeded", None)
            return
        try:
            result, _ = self._run(fn, event.request_id, event.payload)
        except TooManyRequests:
            # Throttled events wait and try again until they are too old; that is not a retry attempt.
            event.due = time.monotonic() + min(2.0, 0.1 * 2 ** min(event.seq % 5, 4))
            self._push(fn.name, event)
            return
        event.attempts += 1
        if result.error_type is None:
            self._on_success(fn, event, result)
            return
        if event.attempts <= max_retries:
            delay = self.retry_delays[min(event.attempts - 1, len(self.retry_delays) - 1)]
            event.due = time.monotonic() + self.clock.real_seconds(delay)
            self._push(fn.name, event)
            return
        self._on_failure(fn, event, "RetriesExhausted", result)

    def _record(self, fn: _Function, event: _Event, condition: str, result: RawResult | None) -> str:
        record: dict[str, Any] = {
            "version": "1.0",
            "timestamp": datetime.fromtimestamp(self.clock.now(), UTC).isoformat(timespec="milliseconds")[:-6]
            + "Z",
            "requestContext": {
                "requestId": event.request_id,
                "functionArn": f"{fn.arn}:{fn.version}" if not fn.arn.endswith(fn.version) else fn.arn,
                "condition": condition,
                "approximateInvokeCount": event.attempts,
            },
            "requestPayload": _json_or_text(event.payload),
        }
        if result is not None:
            context: dict[str, Any] = {"statusCode": 200, "executedVersion": fn.version}
            if result.error_type is not None:
                context["functionError"] = result.error_type
            record["responseContext"] = context
            record["responsePayload"] = _json_or_text(result.payload)
        return json.dumps(record)

    def _on_success(self, fn: _Function, event: _Event, result: RawResult) -> None:
        target = fn.event_config.get("DestinationConfig", {}).get("OnSuccess", {}).get("Destination")
        if target:
            self._send(target, self._record(fn, event, "Success", result), {})

    def _on_failure(self, fn: _Function, event: _Event, condition: str, result: RawResult | None) -> None:
        target = fn.event_config.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        if target:
            self._send(target, self._record(fn, event, condition, result), {})
        elif fn.dead_letter_arn:
            error = _json_or_text(result.payload) if result is not None else {}
            message = error.get("errorMessage", condition) if isinstance(error, dict) else condition
            attributes = {
                "RequestID": event.request_id,
                "ErrorCode": "200",
                "ErrorMessage": str(message),
            }
            self._send(fn.dead_letter_arn, event.payload.decode("utf-8", "replace"), attributes)

    def _send(self, target_arn: str, body: str, attributes: dict[str, str]) -> None:
        """Deliver ``body`` to an SQS queue, SNS topic or Lambda function ARN."""
        service = target_arn.split(":")[2] if target_arn.count(":") >= 5 else ""
        if service == "sqs":
            sqs_attributes = {k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()}
            self._backend("sqs").send_message(
                target_arn.split(":")[5], body, message_attributes=sqs_attributes
            )
        elif service == "sns":
            sns_attributes = {k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()}
            self._backend("sns").publish(body, arn=target_arn, message_attributes=sns_attributes)
        elif service == "lambda":
            self.invoke_async(target_arn, body.encode())
        else:
            raise ValueError(f"unsupported destination {target_arn!r}")


def _checked_payload(payload: bytes) -> bytes:
    if not payload:
        return b"{}"
    try:
        json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequestContent(
            f"Could not parse request body into json: Could not parse payload into json: {exc}"
        ) from exc
    return payload


def _json_or_text(payload: bytes) -> Any:
    try:
        return json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return payload.decode("utf-8", "replace")


def _error_type(result: RawResult) -> str | None:
    if result.error_type is None:
        return None
    body = _json_or_text(result.payload)
    return str(body.get("errorType")) if isinstance(body, dict) else None


def _close_all(environments: list[ExecutionEnvironment]) -> None:
    for env in environments:
        env.close()
