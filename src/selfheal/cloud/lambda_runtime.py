"""Lambda execution environments: an ``awslambdaric`` child process serving one function.

:class:`ExecutionEnvironment` starts awslambdaric's ``__main__`` (see :data:`BOOTSTRAP`) with
``AWS_LAMBDA_RUNTIME_API`` pointing at the environment's own Runtime API server (which answers that child
only: the default serves every environment on one event loop thread, :mod:`.lambda_runtime_loop`;
``SELFHEAL_RUNTIME_API=threads`` picks the threaded one of :mod:`.lambda_runtime_api`), forwards the
child's output lines and runs one invocation at a time. A timed-out or crashed invocation kills the
environment: the caller replaces it.
:class:`EnvironmentSpec` is everything that fixes an environment; :class:`RawResult` is what one invocation
produced.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from . import cooperative
from .lambda_output import ChildOutput
from .lambda_runtime_api import API_PREFIX, MAX_PAYLOAD_BYTES, PendingInvocation, error_payload
from .lambda_runtime_api import RuntimeApiServer as ThreadedRuntimeApiServer
from .lambda_runtime_loop import LoopRuntimeApiServer

__all__ = [
    "API_PREFIX",
    "BOOTSTRAP",
    "MAX_PAYLOAD_BYTES",
    "RUNTIME_API_VARIABLE",
    "EnvironmentSpec",
    "ExecutionEnvironment",
    "RawResult",
    "RuntimeApiServer",
    "exit_message",
]

INIT_TIMEOUT_SECONDS = 10.0

#: The child's program: awslambdaric's own ``__main__`` (argv[1] is the handler), with ``/next`` awaited on
#: the main thread. For AWS_EXECUTION_ENV python3.12 and later, awslambdaric otherwise starts and joins a
#: new thread for every ``/next`` so that the idle main thread can run signal handlers; the local cloud
#: never signals an idle environment (it is killed with SIGKILL, which runs no handler), and that thread
#: cost about 0.13 ms of CPU per invocation (bench/README.md §6). An awslambdaric without the hook runs
#: unchanged.
BOOTSTRAP = (
    "import runpy, importlib.util as u; m = 'awslambdaric.lambda_config'; "
    "c = u.find_spec(m) and __import__(m, fromlist=['*']); "
    "c and setattr(c.LambdaConfigProvider, '_parse_thread_polling', lambda self: False); "
    "runpy.run_module('awslambdaric', run_name='__main__', alter_sys=True)"
)  # one line, so that ps shows the environment on one line

#: Which Runtime API server the environments use: ``loop`` (default: every environment's on one event loop
#: thread) or ``threads`` (a thread per connection, the earlier server).
RUNTIME_API_VARIABLE = "SELFHEAL_RUNTIME_API"
_RUNTIME_API_SERVERS: dict[str, type[LoopRuntimeApiServer] | type[ThreadedRuntimeApiServer]] = {
    "loop": LoopRuntimeApiServer,
    "threads": ThreadedRuntimeApiServer,
}


def _runtime_api_server() -> type[LoopRuntimeApiServer] | type[ThreadedRuntimeApiServer]:
    choice = os.environ.get(RUNTIME_API_VARIABLE, "loop").strip().lower() or "loop"
    if choice not in _RUNTIME_API_SERVERS:
        raise ValueError(
            f"{RUNTIME_API_VARIABLE}={choice!r}: expected one of {', '.join(sorted(_RUNTIME_API_SERVERS))}"
        )
    return _RUNTIME_API_SERVERS[choice]


if TYPE_CHECKING:
    # Both servers have one interface; the type checker follows the default.
    RuntimeApiServer = LoopRuntimeApiServer
else:
    RuntimeApiServer = _runtime_api_server()

# How Lambda names a signal that ended the runtime: Go's names (Lambda's runtime manager is written in Go),
# as in "Runtime exited with error: signal: killed" and "... signal: segmentation fault".
_SIGNAL_NAMES = {
    signal.SIGABRT: "aborted",
    signal.SIGBUS: "bus error",
    signal.SIGFPE: "floating point exception",
    signal.SIGHUP: "hangup",
    signal.SIGILL: "illegal instruction",
    signal.SIGINT: "interrupt",
    signal.SIGKILL: "killed",
    signal.SIGPIPE: "broken pipe",
    signal.SIGQUIT: "quit",
    signal.SIGSEGV: "segmentation fault",
    signal.SIGTERM: "terminated",
    signal.SIGTRAP: "trace/breakpoint trap",
    signal.SIGUSR1: "user defined signal 1",
    signal.SIGUSR2: "user defined signal 2",
}

#: Kept under its old name for tests/security/test_runtime_api_foreign_client.py.
_Pending = PendingInvocation


@dataclass(frozen=True)
class EnvironmentSpec:
    """Everything that fixes an environment: a change to any of it needs a new environment."""

    function_name: str
    function_arn: str
    version: str
    handler: str
    code_dir: Path
    code_sha256: str
    timeout: float
    memory_size: int
    variables: Mapping[str, str] = field(default_factory=dict)
    layers: tuple[str, ...] = ()
    role_arn: str = ""
    runtime: str = ""


@dataclass(frozen=True)
class RawResult:
    """What one invocation in an environment produced (``error_type`` None means success)."""

    request_id: str
    payload: bytes
    error_type: str | None
    duration_ms: float
    log_tail: str


def exit_message(returncode: int | None) -> str:
    """What Lambda says of a runtime process that ended with ``returncode`` (negative: killed by a signal).

    AWS: ``Runtime exited without providing a reason`` for exit status 0 (AWS Lambda Developer Guide,
    "Lambda execution environment lifecycle", the runtime-crash log example), ``Runtime exited with error:
    exit status 129`` (AWS re:Post Knowledge Center, "lambda-runtime-error"), ``Runtime exited with error:
    signal: killed`` for a signal.
    """
    if returncode == 0 or returncode is None:
        return "Runtime exited without providing a reason"
    if returncode > 0:
        return f"Runtime exited with error: exit status {returncode}"
    try:
        name = _SIGNAL_NAMES.get(signal.Signals(-returncode))
    except ValueError:
        name = None
    return f"Runtime exited with error: signal: {name or f'signal {-returncode}'}"


class ExecutionEnvironment:
    """One awslambdaric child process plus its Runtime API server; ``log_line`` gets each output line.

    ``executable`` is the Python that runs awslambdaric (default: this venv's).
    """

    # Readable once the child has exited (a pidfd, set by start), checked by ``alive`` at every invocation.
    _exit_watch: select.poll | None = None
    _pidfd: int | None = None
    _stat_fd: int | None = None

    def __init__(
        self,
        spec: EnvironmentSpec,
        base_env: Mapping[str, str],
        log_line: Callable[[str], None],
        *,
        environment_id: str | None = None,
        executable: str | None = None,
    ) -> None:
        self.spec = spec
        self.executable = executable or sys.executable
        self.id = environment_id or uuid.uuid4().hex
        self._base_env = dict(base_env)
        self._api = RuntimeApiServer()
        self._process: subprocess.Popen[bytes] | None = None
        self._output = ChildOutput(log_line)
        self._pidfd_lock = threading.Lock()
        self.last_used = time.monotonic()
        self.invocations = 0

    @property
    def pid(self) -> int | None:
        """The child's process id, once started."""
        return self._process.pid if self._process is not None else None

    @property
    def runtime_api(self) -> RuntimeApiServer:
        """The environment's Runtime API server (its address, its refused connections)."""
        return self._api

    def _child_env(self) -> dict[str, str]:
        # The function's variables cannot override the runtime's reserved ones, as on AWS.
        env = dict(self.spec.variables)
        env.update(self._base_env)
        task_root = str(self.spec.code_dir)
        inherited = env.get("PYTHONPATH", "")
        env.update(
            {
                "AWS_LAMBDA_RUNTIME_API": self._api.address,
                "_HANDLER": self.spec.handler,
                "LAMBDA_TASK_ROOT": task_root,
                "PYTHONPATH": os.pathsep.join(p for p in (task_root, inherited) if p),
                "PYTHONUNBUFFERED": "1",
                "PYTHONDONTWRITEBYTECODE": "1",
            }
        )
        return env

    def start(self) -> None:
        """Start the child process and the Runtime API server (initialisation continues in the child)."""
        try:
            self._process = subprocess.Popen(
                [self.executable, "-c", BOOTSTRAP, self.spec.handler],
                cwd=self.spec.code_dir,
                env=self._child_env(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            assert self._process.stdout is not None
            self._output.attach(self._process.stdout)
            # The Runtime API answers this process only.
            self._api.owner_pid = self._process.pid
            self._watch_exit(self._process.pid)
        finally:
            # Accept only now that the owner is known: the server listens since it was created, so a
            # connection the child makes meanwhile waits in the backlog instead of being refused.
            self._api.start()
        process = self._process
        self._output.start_reader(f"lambda-env-{self.id[:8]}", lambda: process.poll() is not None)

    def _watch_exit(self, pid: int) -> None:
        # Opened once: a pread on it costs about 3 µs, opening /proc/<pid>/stat anew 10-40 µs (healthy() asks
        # at every warm start). It keeps naming this child: once reaped, it reads ESRCH. Without /proc,
        # healthy() relies on ``alive``.
        with contextlib.suppress(OSError):
            self._stat_fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY | os.O_CLOEXEC)
        try:
            pidfd = os.pidfd_open(pid)
        except (AttributeError, OSError):
            return  # no pidfds here (not Linux 5.3+): ``alive`` reads /proc instead
        watch = select.poll()
        watch.register(pidfd, select.POLLIN)
        self._pidfd, self._exit_watch = pidfd, watch

    @property
    def alive(self) -> bool:
        """Whether the child process is still running."""
        process = self._process
        if process is None:
            return False
        # The pidfd answers alone, in one syscall (readable once the child exited, reaped or not): this runs
        # three times per invocation. close() unsets the watch before it closes the pidfd.
        watch = self._exit_watch
        if watch is not None:
            return not watch.poll(0)
        if process.poll() is not None:
            return False
        # poll() also answers None while another thread (the output reader) is inside waitpid, so a killed
        # child could pass for alive and be handed an invocation: ask the kernel whether it is a zombie
        # through /proc (a file read, 20 times dearer than a pidfd).
        return self._proc_running()

    @property
    def healthy(self) -> bool:
        """``alive``, and not exiting: what a warm environment must be to be handed an invocation.

        A killed child's main thread shows as a zombie before its other threads are gone, and its pidfd turns
        readable only then: in between, ``alive`` is still true, and an invocation handed over fails with
        ``Runtime.ExitError`` where Lambda would have started a new environment. One /proc read per warm
        start closes that window."""
        return self.alive and self._proc_running()

    def _proc_running(self) -> bool:
        """Whether /proc shows the child running (not a zombie, not reaped); True where it cannot tell."""
        if self._stat_fd is not None:
            with self._pidfd_lock:  # not while close() closes it (its number could be another file's)
                stat_fd = self._stat_fd
                try:
                    return stat_fd is None or _stat_running(os.pread(stat_fd, 512, 0))
                except ProcessLookupError:
                    return False  # reaped
                except OSError:
                    return True
        process = self._process
        if process is None:
            return False
        try:
            with open(f"/proc/{process.pid}/stat", "rb") as stat:
                return _stat_running(stat.read())
        except FileNotFoundError:
            return not os.path.isdir("/proc")  # gone (reaped meanwhile), unless there is no /proc at all
        except OSError:
            return True

    def wait_ready(self, timeout: float = INIT_TIMEOUT_SECONDS) -> bool:
        """Wait until the child finished initialising (asked for its first invocation) or died."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._api.ready.wait(0.02):
                return True
            if not self.alive:
                return False
        return False

    def invoke(
        self,
        request_id: str,
        payload: bytes,
        *,
        invoked_arn: str | None = None,
        client_context: str | None = None,
    ) -> RawResult:
        """Run one invocation, enforcing the spec's timeout in real seconds.

        ``invoked_arn`` is the ARN the caller used (an alias's, or the unqualified one), which the handler's
        ``context.invoked_function_arn`` reports as on AWS; None: the version's.

        A timeout or a crash kills the environment (``alive`` is False afterwards); the caller replaces it.
        In a request greenlet on the front's loop it yields while it waits, if the runtime's connection has
        been handed over (else it runs in a pool thread: see :mod:`.cooperative`).
        """
        if cooperative.active() and not self._api.direct_ready():
            return cooperative.off_loop(self._invoke_here, request_id, payload, invoked_arn, client_context)
        return self._invoke_here(request_id, payload, invoked_arn, client_context)

    def _invoke_here(
        self, request_id: str, payload: bytes, invoked_arn: str | None, client_context: str | None
    ) -> RawResult:
        started = time.monotonic()
        self._output.begin()  # until _finish, this thread reads the child's output
        self.last_used = started
        self.invocations += 1
        timeout = float(self.spec.timeout)
        pending = PendingInvocation(
            request_id=request_id,
            payload=payload,
            deadline_ms=int((time.time() + timeout) * 1000),
            function_arn=invoked_arn or self.spec.function_arn,
            client_context=client_context,
        )
        if self._api.init_error is not None or not self.alive:
            return self._finish(request_id, started, *self._dead_result(request_id))
        self._api.submit(pending)
        end = started + timeout
        while not self._api.wait_done(pending, min(0.05, max(0.0, end - time.monotonic()))):
            self._output.drain()  # the reader thread is muted: a full pipe would block the function
            if time.monotonic() >= end:
                self._api.forget(request_id)
                self.close()
                message = f"RequestId: {request_id} Error: Task timed out after {timeout:.2f} seconds"
                return self._finish(request_id, started, error_payload("Sandbox.Timedout", message), True)
            if not self.alive:
                self._api.forget(request_id)
                # The child may have posted its result just before it exited.
                if pending.done.is_set():
                    break
                return self._finish(request_id, started, *self._dead_result(request_id))
        if not pending.response and pending.error and not self.alive:
            return self._finish(request_id, started, *self._dead_result(request_id))
        if pending.fatal:
            # awslambdaric exits when its response is refused (413): retire the environment now, so that
            # the next invocation cold-starts instead of meeting a dying child.
            self.close()
        return self._finish(request_id, started, pending.response, pending.error)

    def _dead_result(self, request_id: str) -> tuple[bytes, bool]:
        if self._api.init_error is not None:
            return self._api.init_error, True
        code = self._process.poll() if self._process is not None else None
        message = f"RequestId: {request_id} Error: {exit_message(code)}"
        return error_payload("Runtime.ExitError", message), True

    def _finish(self, request_id: str, started: float, payload: bytes, error: bool) -> RawResult:
        tail = self._output.end()
        self.last_used = time.monotonic()
        return RawResult(
            request_id=request_id,
            payload=payload,
            error_type="Unhandled" if error else None,
            duration_ms=(self.last_used - started) * 1000.0,
            log_tail="\n".join(tail),
        )

    def close(self) -> None:
        """Kill and reap the child and close the Runtime API server (idempotent)."""
        if cooperative.active():
            cooperative.off_loop(self.close)  # it waits for the reader thread and the server: not on the loop
            return
        process = self._process
        if process is not None and process.poll() is None:
            process.kill()
        if process is not None:
            process.wait()
        if not self._api.closing:
            self._api.close()
        self._output.close()
        with self._pidfd_lock:  # close() may run in two threads at once: close each fd only once
            pidfd, self._pidfd, self._exit_watch = self._pidfd, None, None
            stat_fd, self._stat_fd = self._stat_fd, None
        for fd in (pidfd, stat_fd):
            if fd is not None:
                os.close(fd)


def _stat_running(stat: bytes) -> bool:
    """Whether a /proc/<pid>/stat line shows a live process (its state is neither zombie nor dead)."""
    return stat.rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
