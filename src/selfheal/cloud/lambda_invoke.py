"""Synchronous Lambda invocation: pooled execution environments, concurrency caps and throttles.

:class:`Invoker` runs one invocation of a function in an execution environment (:mod:`.lambda_runtime`),
with Lambda's START/END/REPORT log lines and metrics. Environments are pooled per function; an idle one is
reused only while the function's configuration and code are unchanged. Reserved concurrency
(``PutFunctionConcurrency``) caps a function's running invocations and ``max_environments`` bounds all
environments (the least recently used idle one is evicted); beyond either an invocation is throttled
(``TooManyRequests``). Idle environments are reaped after ``idle_seconds``. An environment runs the Python
its function's runtime names when one is installed (:mod:`.lambda_interpreters`); when not, its cold start
writes why into its log stream.

A :class:`Target` is what one invocation runs: the configuration of the version that runs, plus the version
or alias the caller named (its metrics then carry AWS's ``Resource`` and ``ExecutedVersion`` dimension sets).
A function's environments serve all its versions; an idle one is reused by an invocation of its own
version only, so that an alias splitting traffic between two versions keeps both warm.
"""

from __future__ import annotations

import base64
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from selfheal.clock import Clock

from . import cooperative, json_codec
from .errors import InvalidRequestContent, ServiceUnavailable, TooManyRequests
from .lambda_functions import CodeCache, FunctionConfig, check_invocable, function_name, region_of
from .lambda_interpreters import child_base_environment, choose_interpreter
from .lambda_logs import LogShipper, log_group_name, log_stream_name
from .lambda_runtime import EnvironmentSpec, ExecutionEnvironment, RawResult
from .metrics import MetricsPublisher

__all__ = [
    "TAIL_BYTES",
    "InvocationType",
    "InvokeResult",
    "Invoker",
    "LogType",
    "Target",
    "checked_payload",
    "json_or_text",
]

InvocationType = Literal["RequestResponse", "Event", "DryRun"]
LogType = Literal["None", "Tail"]

TAIL_BYTES = 4096


@dataclass(frozen=True)
class InvokeResult:
    """The answer of one Invoke, as Lambda's API gives it (``request_id``: its ``x-amzn-RequestId``)."""

    status_code: int
    payload: bytes
    function_error: str | None
    executed_version: str
    log_result: str | None
    request_id: str = ""


@dataclass(frozen=True)
class Target:
    """What one invocation runs: ``fn``, the version that runs, as the caller named it.

    ``qualifier`` is the version or alias the caller named (None: unqualified, ``$LATEST``); ``alias`` says
    it is an alias (``fn`` is then the version the alias routed this invocation to).
    """

    fn: FunctionConfig
    qualifier: str | None = None
    alias: bool = False

    @property
    def resource(self) -> str | None:
        """The metrics' ``Resource`` dimension (``name:qualifier``), None when unqualified."""
        return f"{self.fn.name}:{self.qualifier}" if self.qualifier else None

    @property
    def executed_version(self) -> str | None:
        """The metrics' ``ExecutedVersion`` dimension: the version that ran, through an alias only."""
        return self.fn.version if self.alias else None

    @property
    def reference(self) -> str:
        """The function's ARN with the caller's qualifier: looking it up again routes again."""
        unqualified = ":".join(self.fn.arn.split(":")[:7])
        return f"{unqualified}:{self.qualifier}" if self.qualifier else unqualified


def _target(fn: FunctionConfig | Target) -> Target:
    return fn if isinstance(fn, Target) else Target(fn)


def checked_payload(payload: bytes) -> bytes:
    """The payload of an Invoke (``{}`` when empty); raise InvalidRequestContent when it is not JSON."""
    if not payload:
        return b"{}"
    try:
        json_codec.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequestContent(
            f"Could not parse request body into json: Could not parse payload into json: {exc}"
        ) from exc
    return payload


def json_or_text(payload: bytes) -> Any:
    """``payload`` parsed as JSON, else as text."""
    try:
        return json_codec.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return payload.decode("utf-8", "replace")


def _error_type(result: RawResult) -> str | None:
    if result.error_type is None:
        return None
    body = json_or_text(result.payload)
    return str(body.get("errorType")) if isinstance(body, dict) else None


def _close_all(environments: list[ExecutionEnvironment]) -> None:
    for env in environments:
        env.close()


class _Pool:
    """The environments of one function."""

    def __init__(self) -> None:
        self.idle: list[ExecutionEnvironment] = []
        self.running = 0


class Invoker:
    """Run invocations in pooled execution environments; ``close`` kills them all, ``join`` waits.

    Functions' code is extracted under a temporary directory, deleted by :meth:`join`.
    """

    def __init__(
        self,
        *,
        endpoint: str,
        region: str,
        clock: Clock,
        metrics: MetricsPublisher,
        logs: LogShipper,
        max_environments: int = 32,
        idle_seconds: float = 300.0,
        credentials: Callable[[str, str], Mapping[str, str]] | None = None,
    ) -> None:
        if max_environments < 1:
            raise ValueError(f"max_environments must be at least 1, got {max_environments!r}")
        self._code = CodeCache()
        self.endpoint = endpoint
        self.region = region
        self.clock = clock
        self.metrics = metrics
        self.logs = logs
        self.max_environments = max_environments
        self.idle_seconds = idle_seconds
        # (role ARN, function name) → AWS_ACCESS_KEY_ID/…; None: no credentials at all (the function's
        # AWS calls then fail with NoCredentialsError; the local cloud always gives its role sessions).
        self._credentials = credentials
        self._lock = threading.Lock()
        # By (region, function name): one name in two regions is two functions.
        self._pools: dict[tuple[str, str], _Pool] = {}
        self._environments: set[ExecutionEnvironment] = set()
        self._closed = False
        self._stop = threading.Event()
        self._reaper = threading.Thread(target=self._reap_idle, name="lambda-reaper", daemon=True)
        self._reaper.start()
        self._closers: list[threading.Thread] = []
        self.cold_starts = 0

    # ----- one invocation --------------------------------------------------------------------------

    def invoke(
        self,
        target: FunctionConfig | Target,
        payload: bytes,
        log_type: LogType = "None",
        client_context: str | None = None,
    ) -> InvokeResult:
        """Run a RequestResponse invoke of ``target``; raise TooManyRequests when throttled,
        FunctionPending while it is still being created.

        ``client_context`` (the decoded ClientContext JSON) is the function's ``context.client_context``.
        """
        fn = _target(target).fn
        check_invocable(fn.model, self.clock.now())
        request_id = str(uuid.uuid4())
        result, lines = self.run(target, request_id, payload, client_context)
        tail = None
        if log_type == "Tail":
            encoded = "\n".join(lines).encode()[-TAIL_BYTES:] + b"\n"
            tail = base64.b64encode(encoded).decode()
        return InvokeResult(200, result.payload, result.error_type, fn.version, tail, request_id)

    def run(
        self,
        target: FunctionConfig | Target,
        request_id: str,
        payload: bytes,
        client_context: str | None = None,
    ) -> tuple[RawResult, list[str]]:
        """Run one invocation, with Lambda's START/END/REPORT lines; raise TooManyRequests when throttled."""
        qualified = _target(target)
        fn = qualified.fn
        region = fn.region
        dimensions = {
            "resource": qualified.resource,
            "executed_version": qualified.executed_version,
            "region": region,
        }
        spec = self._code.spec(fn)
        try:
            env, cold = self._acquire(fn, spec)
        except TooManyRequests:
            self.metrics.record_throttle(fn.name, **dimensions)
            raise
        with self._lock:
            running = self._pools[(region, fn.name)].running
        self.metrics.record_concurrency(fn.name, running, region=region)
        group, stream = env.log_group, env.log_stream  # type: ignore[attr-defined]

        def write(line: str) -> None:
            self.logs.write(group, stream, line, region=region)

        try:
            # A cold start waits for a child process: off the front's loop for a request served there.
            init_ms = cooperative.off_loop(self._cold_start, fn, spec, env, write) if cold else 0.0
            start_line = f"START RequestId: {request_id} Version: {fn.version}"
            write(start_line)
            result = env.invoke(
                request_id, payload, invoked_arn=qualified.reference, client_context=client_context
            )
            lines = [start_line, *result.log_tail.splitlines()]
            if _error_type(result) == "Sandbox.Timedout":
                timed_out = f"{request_id} Task timed out after {fn.timeout:.2f} seconds"
                lines.append(timed_out)
                write(timed_out)
            report = (
                f"REPORT RequestId: {request_id}\tDuration: {result.duration_ms:.2f} ms\t"
                f"Billed Duration: {max(1, round(result.duration_ms))} ms\tMemory Size: {fn.memory_size} MB\t"
                f"Max Memory Used: {fn.memory_size} MB"
            )
            if cold:
                report += f"\tInit Duration: {init_ms:.2f} ms"
            end_line = f"END RequestId: {request_id}"
            for line in (end_line, report):
                write(line)
            lines += [end_line, report]
        finally:
            self._release(fn, env)
        self.metrics.record_invocation(
            fn.name, result.duration_ms, result.error_type is not None, **dimensions
        )
        return result, lines

    def _cold_start(
        self,
        fn: FunctionConfig,
        spec: EnvironmentSpec,
        env: ExecutionEnvironment,
        write: Callable[[str], None],
    ) -> float:
        """Start ``env`` and wait until its runtime asks for work: the init duration in milliseconds."""
        # Warm invokes trust the extracted code; a cold start checks it is still on disk.
        self._code.ensure(fn)
        # Chosen here, outside the pool lock: the first check of an interpreter runs it once.
        interpreter = choose_interpreter(spec.runtime)
        env.executable = interpreter.executable
        if interpreter.note:
            write(interpreter.note)
        started = time.monotonic()
        env.start()
        env.wait_ready()
        return (time.monotonic() - started) * 1000.0

    # ----- environments ----------------------------------------------------------------------------

    def _base_env(self, spec: EnvironmentSpec, environment_id: str, stream: str) -> dict[str, str]:
        env = child_base_environment()
        runtime = spec.runtime or f"python{sys.version_info[0]}.{sys.version_info[1]}"
        env.update(
            {
                "AWS_LAMBDA_FUNCTION_NAME": spec.function_name,
                "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
                "AWS_LAMBDA_LOG_GROUP_NAME": log_group_name(spec.function_name),
                "AWS_LAMBDA_LOG_STREAM_NAME": stream,
                "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
                # The function's own region (its ARN's), as Lambda sets it.
                "AWS_REGION": region_of(spec.function_arn) or self.region,
                "AWS_DEFAULT_REGION": region_of(spec.function_arn) or self.region,
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{runtime}",
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
        day = datetime.fromtimestamp(self.clock.now(), UTC).strftime("%Y/%m/%d")
        stream = log_stream_name(day, spec.version, environment_id)
        group = log_group_name(spec.function_name)
        region = region_of(spec.function_arn)

        def log_line(line: str) -> None:
            self.logs.write(group, stream, line, region=region)

        env = ExecutionEnvironment(
            spec, self._base_env(spec, environment_id, stream), log_line, environment_id=environment_id
        )
        env.log_group, env.log_stream = group, stream  # type: ignore[attr-defined]
        return env

    def _acquire(self, fn: FunctionConfig, spec: EnvironmentSpec) -> tuple[ExecutionEnvironment, bool]:
        """Return an environment for one invocation and whether it is new; raise TooManyRequests."""
        stale: list[ExecutionEnvironment] = []
        try:
            with self._lock:
                if self._closed:
                    raise ServiceUnavailable("the local cloud is stopping")
                pool = self._pools.setdefault((fn.region, fn.name), _Pool())
                if fn.reserved_concurrency is not None and pool.running >= fn.reserved_concurrency:
                    raise TooManyRequests("Rate Exceeded.")
                # The most recently used idle environment of this version; those of the version that no
                # longer match (or died) are stale; other versions' are kept for their own invocations.
                for env in list(reversed(pool.idle)):
                    if env.spec.version != spec.version:
                        continue
                    pool.idle.remove(env)
                    if (env.spec is spec or env.spec == spec) and env.healthy:
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

    def _release(self, fn: FunctionConfig, env: ExecutionEnvironment) -> None:
        close = False
        with self._lock:
            pool = self._pools.setdefault((fn.region, fn.name), _Pool())
            pool.running = max(0, pool.running - 1)
            running = pool.running
            if env.alive and not self._closed and env in self._environments:
                pool.idle.append(env)
            else:
                self._environments.discard(env)
                close = True
        self.metrics.record_concurrency(fn.name, running, region=fn.region)
        if close:
            env.close()

    def retire(self, function: str) -> None:
        """Retire ``function``'s warm environments (of every region, unless an ARN names one); the next
        invoke cold-starts."""
        name, region = function_name(function), region_of(function)
        idle: list[ExecutionEnvironment] = []
        with self._lock:
            for (pool_region, pool_name), pool in self._pools.items():
                if pool_name == name and region in (None, pool_region):
                    idle += pool.idle
                    pool.idle = []
            for env in idle:
                self._environments.discard(env)
        if idle:
            # Closing waits for each Runtime API server to stop: do it off the caller's thread so that
            # UpdateFunctionConfiguration answers at once, as on AWS. join() joins the closers.
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

    # ----- idle reaping and shutdown ---------------------------------------------------------------

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

    def close(self) -> None:
        """Refuse new invocations and kill every environment, busy ones included (idempotent)."""
        with self._lock:
            self._closed = True
            environments = list(self._environments)
            self._environments.clear()
            self._pools.clear()
        self._stop.set()
        _close_all(environments)

    def join(self) -> None:
        """Wait for the reaper and for environments being retired, then delete the extracted code."""
        if self._reaper.is_alive():
            self._reaper.join(timeout=10)
        with self._lock:
            closers = list(self._closers)
        for closer in closers:
            closer.join(timeout=30)
        self._code.remove()
