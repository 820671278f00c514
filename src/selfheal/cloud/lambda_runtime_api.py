"""The Lambda Runtime API of one execution environment: a small threaded HTTP server on 127.0.0.1.

This is the server of ``SELFHEAL_RUNTIME_API=threads``; the default serves every environment on one event
loop (:mod:`.lambda_runtime_loop`). Both share what is defined here: :class:`PendingInvocation`, the peer
check (:class:`RuntimeApiOwner`), the handling of posted results and the replies.

:class:`RuntimeApiServer` listens on an ephemeral 127.0.0.1 port and implements the Lambda Runtime API
(``/2018-06-01/runtime/invocation/next``, ``…/{id}/response``, ``…/{id}/error``, ``/runtime/init/error``)
for the ``awslambdaric`` child of its :class:`~selfheal.cloud.lambda_runtime.ExecutionEnvironment`: it hands
out one :class:`PendingInvocation` at a time and collects its result.

The Runtime API answers only its own runtime process. ``awslambdaric`` cannot carry a secret (its native
client knows only ``host:port``), so each accepted connection is checked against the kernel's socket table:
the server asks psutil for the TCP connections of the environment's child (``owner_pid``, set right after
``Popen`` and before the server accepts anything) and serves the connection only if one of them is its
client end (``laddr`` is the peer's address, ``raddr`` the server's). Any other process, and every process
while no owner is set, has its connection closed before a byte is read (counted in
``refused_connections``, one WARNING per refusal). If psutil cannot see the child's sockets (access denied,
unsupported platform) the check fails closed. The check costs a few milliseconds, once per environment:
awslambdaric keeps one connection for its whole life.

Request bodies are bounded as on AWS: a ``Content-Length`` above 6 MB (6291456 bytes) is answered 413
``RequestEntityTooLarge`` without reading the body, and an invocation whose response (or error) is that
large fails with ``Function.ResponseSizeTooLarge`` and retires its environment (awslambdaric exits on the
413); a malformed ``Content-Length`` is answered 400.

Two exchanges per invocation go through this server (``/next`` and the result), so it is lean: the request
line and headers are parsed without the ``email`` package that ``http.server`` uses (a tenth of the cost;
lines are bounded at 64 KiB and headers at 100, as there, and the first of a repeated header wins, as
there), and each reply is written in one ``send``.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

import psutil

__all__ = [
    "API_PREFIX",
    "MAX_PAYLOAD_BYTES",
    "NEXT_POLL_SECONDS",
    "SHUTDOWN_POLL_SECONDS",
    "InvocationBook",
    "PendingInvocation",
    "RuntimeApiOwner",
    "RuntimeApiServer",
    "error_payload",
    "http_reply",
    "invocation_headers",
    "post_result",
    "refuse_oversize",
]

API_PREFIX = "/2018-06-01/runtime"
# How long /next holds a connection before re-checking whether the environment is closing.
NEXT_POLL_SECONDS = 0.5
SHUTDOWN_POLL_SECONDS = 0.05
# AWS's limit on a synchronous invocation's response (and on any body posted to the Runtime API here).
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024

# http.server's bounds on a request's head (http.client's _MAXLINE and _MAXHEADERS).
_MAX_LINE = 65536
_MAX_HEADERS = 100

# One logger for the execution environments and their Runtime API (operators and tests filter by it).
logger = logging.getLogger("selfheal.cloud.lambda_runtime")


@dataclass
class PendingInvocation:
    """One invocation handed to the runtime: what /next returns, and the result it posts back."""

    request_id: str
    payload: bytes
    deadline_ms: int
    function_arn: str
    done: threading.Event = field(default_factory=threading.Event)
    response: bytes = b""
    error: bool = False
    # The runtime's answer was refused (too large): awslambdaric exits on that, the environment is done for.
    fatal: bool = False
    # Lambda-Runtime-Client-Context and -Cognito-Identity (JSON), sent only when set.
    client_context: str | None = None
    cognito_identity: str | None = None


class RuntimeApiOwner:
    """The peer check both Runtime API servers share: only the environment's own runtime process is served."""

    server_address: Any
    address_family: int

    def __init__(self) -> None:
        # The one runtime process allowed to connect (None: refuse all) and how many connections were refused.
        self._owner: psutil.Process | None = None
        self.refused_connections = 0

    @property
    def address(self) -> str:
        """``host:port`` for ``AWS_LAMBDA_RUNTIME_API``."""
        host, port = self.server_address[:2]
        return f"{host!s}:{port}"

    @property
    def owner_pid(self) -> int | None:
        """The process id of the runtime process this API answers (None until set: everyone is refused)."""
        owner = self._owner
        return owner.pid if owner is not None else None

    @owner_pid.setter
    def owner_pid(self, pid: int | None) -> None:
        if pid is None:
            self._owner = None
            return
        try:
            self._owner = psutil.Process(pid)
        except psutil.Error as exc:
            # Gone already (or invisible): nobody may connect; the environment notices its dead child.
            self._owner = None
            logger.warning("Lambda Runtime API %s has no owner: process %d: %s", self.address, pid, exc)

    def _count_refusal(self, client_address: Any, reason: str) -> None:
        self.refused_connections += 1
        peer = ":".join(str(part) for part in tuple(client_address)[:2])
        logger.warning("Lambda Runtime API %s refused a connection from %s: %s", self.address, peer, reason)

    def _refusal(self, client_address: Any) -> str | None:
        """Why the connection from ``client_address`` is refused; None if the owner process made it."""
        owner = self._owner
        if owner is None:
            return "no runtime process owns this environment yet"
        kind = "tcp6" if self.address_family == socket.AF_INET6 else "tcp4"
        try:
            connections = owner.net_connections(kind=kind)
        except psutil.NoSuchProcess:
            return f"runtime process {owner.pid} is gone"
        except psutil.AccessDenied:
            return (
                f"cannot inspect the sockets of runtime process {owner.pid} (access denied): failing closed"
            )
        except (psutil.Error, NotImplementedError, OSError) as exc:
            return (
                f"cannot inspect the sockets of runtime process {owner.pid} "
                f"({type(exc).__name__}: {exc}): failing closed"
            )
        peer, server = tuple(client_address)[:2], tuple(self.server_address)[:2]
        if any(tuple(c.laddr) == peer and tuple(c.raddr) == server for c in connections):
            return None
        return f"not the environment's runtime process (pid {owner.pid})"


class InvocationBook:
    """What both Runtime API servers keep of an environment's invocations: the one queued for ``/next``,
    those awaiting a result, the initialisation error; ``lock`` guards them (a Condition where ``/next``
    waits on it)."""

    def __init__(self, lock: threading.Lock | threading.Condition) -> None:
        self._lock = lock
        self._queued: PendingInvocation | None = None
        self._active: dict[str, PendingInvocation] = {}
        self.closing = False
        self.ready = threading.Event()
        self.init_error: bytes | None = None

    def complete(self, request_id: str, body: bytes, error: bool, *, fatal: bool = False) -> bool:
        """Record the result of ``request_id`` (``fatal``: the environment must go); False if unknown."""
        with self._lock:
            pending = self._active.pop(request_id, None)
        if pending is None:
            return False
        pending.response, pending.error, pending.fatal = body, error, fatal
        pending.done.set()
        return True

    def forget(self, request_id: str) -> None:
        """Drop ``request_id`` (timed out or abandoned)."""
        with self._lock:
            self._active.pop(request_id, None)
            if self._queued is not None and self._queued.request_id == request_id:
                self._queued = None

    def fail_init(self, body: bytes) -> None:
        """Record an initialisation error and fail whatever is waiting."""
        with self._lock:
            self.init_error = body
            active = list(self._active.values())
            self._active.clear()
            self._queued = None
        for pending in active:
            pending.response, pending.error = body, True
            pending.done.set()


class RuntimeApiServer(RuntimeApiOwner, InvocationBook, ThreadingHTTPServer):
    """The Runtime API for one environment: hands out one pending invocation at a time, collects results."""

    daemon_threads = True
    block_on_close = False

    def __init__(self) -> None:
        RuntimeApiOwner.__init__(self)
        ThreadingHTTPServer.__init__(self, ("127.0.0.1", 0), _RuntimeApiHandler)
        self._condition = threading.Condition()
        InvocationBook.__init__(self, self._condition)
        # A short poll interval: shutdown() waits for the serve loop to notice, and a configuration
        # change retires environments while the caller (UpdateFunctionConfiguration) waits.
        self._thread = threading.Thread(
            target=self.serve_forever, args=(SHUTDOWN_POLL_SECONDS,), name="lambda-runtime-api", daemon=True
        )

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread.start()

    def verify_request(self, request: Any, client_address: Any) -> bool:
        """Serve a connection only if the owner process holds its client end (runs before reading a byte)."""
        reason = self._refusal(client_address)
        if reason is None:
            return True
        self._count_refusal(client_address, reason)
        return False

    def handle_error(self, request: object, client_address: object) -> None:
        """Stay quiet: a killed child drops its connection, which is expected here."""

    def close(self) -> None:
        """Stop serving and wake every waiter."""
        with self._lock:
            self.closing = True
            for pending in self._active.values():
                pending.done.set()
            self._condition.notify_all()
        # shutdown() waits for serve_forever to end: forever, if it never ran (an environment given up
        # before its start).
        started = self._thread.ident is not None
        if started:
            self.shutdown()
        self.server_close()
        if started:
            self._thread.join(timeout=5)

    def submit(self, pending: PendingInvocation) -> None:
        """Make ``pending`` the next invocation /next returns."""
        with self._lock:
            self._queued = pending
            self._active[pending.request_id] = pending
            self._condition.notify_all()

    def wait_done(self, pending: PendingInvocation, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for ``pending``'s result (a server thread records it)."""
        return pending.done.wait(timeout)

    def direct_ready(self) -> bool:
        """Never: a server thread serves every exchange (the event loop's server can hand one over)."""
        return False

    def take_next(self) -> PendingInvocation | None:
        """Block until an invocation is queued (None when closing)."""
        self.ready.set()
        with self._lock:
            while self._queued is None and not self.closing:
                self._condition.wait(NEXT_POLL_SECONDS)
            pending, self._queued = self._queued, None
            return None if self.closing else pending


class _HttpDate:
    """The ``Date`` header's value, formatted once per second."""

    def __init__(self) -> None:
        self._second = -1
        self._text = ""

    def now(self) -> str:
        second = int(time.time())
        if second != self._second:
            # A race between two threads only formats the same second twice.
            self._text, self._second = formatdate(second, usegmt=True), second
        return self._text


_DATE = _HttpDate()
# Two replies per invocation: their status lines are built once.
_STATUS_LINES = {
    int(status): f"HTTP/1.1 {status:d} {status.phrase}" for status in (HTTPStatus.OK, HTTPStatus.ACCEPTED)
}


class _RuntimeApiHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Replies go out in one write; without Nagle a reply never waits for the client's delayed ACK.
    disable_nagle_algorithm = True
    server: RuntimeApiServer
    raw_requestline: bytes  # set by http.server before parse_request
    # The request's headers, by lower-case name (parse_request fills it; http.server's ``headers`` is unused).
    fields: dict[str, str]

    def log_message(self, format: str, *args: object) -> None:
        """Silence the per-request log of ``http.server``."""

    def parse_request(self) -> bool:
        """Parse the request line and headers (``http.server``'s rules, without its email parser).

        A malformed request is answered 400 (431 for an oversize head, 505 for an HTTP version other than
        1.0 and 1.1) and its connection closed.
        """
        self.command = None  # type: ignore[assignment]  # http.server's own initial value
        self.close_connection = True
        self.fields = {}
        self.requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        words = self.requestline.split()
        # Refusals below carry a status line (http.server sends HTTP/0.9's bare body for these).
        self.request_version = self.protocol_version
        if len(words) != 3 or not words[2].startswith("HTTP/"):
            self.send_error(HTTPStatus.BAD_REQUEST, f"Bad request {self.requestline[:64]!r}")
            return False
        if words[2] not in ("HTTP/1.0", "HTTP/1.1"):
            self.send_error(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED, f"Invalid HTTP version ({words[2][:16]})")
            return False
        self.command, path, self.request_version = words
        # As http.server (gh-87389): '//path' is not taken for a host.
        self.path = "/" + path.lstrip("/") if path.startswith("//") else path
        for _ in range(_MAX_HEADERS + 1):
            line = self.rfile.readline(_MAX_LINE + 1)
            if len(line) > _MAX_LINE:
                self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Line too long")
                return False
            if line in (b"\r\n", b"\n", b""):
                break
            name, colon, value = str(line, "iso-8859-1").partition(":")
            if not colon or not name.strip():
                self.send_error(HTTPStatus.BAD_REQUEST, "Bad header line")
                return False
            self.fields.setdefault(name.strip().lower(), value.strip())
        else:
            self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Too many headers")
            return False
        connection = self.fields.get("connection", "").lower()
        self.close_connection = connection == "close" or (
            self.request_version == "HTTP/1.0" and connection != "keep-alive"
        )
        if self.fields.get("expect", "").lower() == "100-continue" and self.request_version == "HTTP/1.1":
            return self.handle_expect_100()
        return True

    def _reply(self, status: int, body: bytes = b"{}", headers: Mapping[str, str] | None = None) -> None:
        self.wfile.write(http_reply(status, body, headers))

    def handle_expect_100(self) -> bool:
        """Refuse an oversize or malformed body before the client sends it."""
        if self.command == "POST" and self._content_length() is None:
            return False
        return super().handle_expect_100()

    def _content_length(self) -> int | None:
        """The body's length, or None after refusing the request (400 malformed, 413 above 6 MB).

        Nothing of a refused body is read: the connection is closed after the reply.
        """
        raw = self.fields.get("content-length") or "0"
        if not (raw.isascii() and raw.isdigit()):
            self._refuse(HTTPStatus.BAD_REQUEST, "InvalidRequest", f"Invalid Content-Length {raw[:32]!r}.")
            return None
        length = int(raw)
        if length <= MAX_PAYLOAD_BYTES:
            return length
        refuse_oversize(self.server, self.path, length)
        self._refuse(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            "RequestEntityTooLarge",
            f"Exceeded maximum allowed payload size ({MAX_PAYLOAD_BYTES} bytes).",
        )
        return None

    def _refuse(self, status: int, error_type: str, message: str) -> None:
        self.close_connection = True
        self._reply(status, error_payload(error_type, message), {"Connection": "close"})

    def _body(self) -> bytes | None:
        length = self._content_length()
        if length is None:
            return None
        return self.rfile.read(length) if length else b""

    def do_GET(self) -> None:
        if self.path != f"{API_PREFIX}/invocation/next":
            self._reply(HTTPStatus.NOT_FOUND, b'{"errorType":"InvalidRequest"}')
            return
        pending = self.server.take_next()
        if pending is None:
            # Closing: the child is about to be killed; make it stop asking.
            self.close_connection = True
            self._reply(HTTPStatus.GONE, b'{"errorType":"EnvironmentClosing"}')
            return
        self._reply(HTTPStatus.OK, pending.payload, invocation_headers(pending))

    def do_POST(self) -> None:
        body = self._body()
        if body is None:
            return
        self._reply(*post_result(self.server, self.path, body))


def error_payload(error_type: str, message: str) -> bytes:
    """A Lambda error body: ``{"errorType": …, "errorMessage": …}``."""
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()


class ResultSink(Protocol):
    """What a Runtime API server does with a runtime's posted results."""

    def complete(self, request_id: str, body: bytes, error: bool, *, fatal: bool = False) -> bool: ...

    def fail_init(self, body: bytes) -> None: ...


def _result_path(path: str) -> list[str]:
    return path.removeprefix(API_PREFIX).strip("/").split("/")


def refuse_oversize(sink: ResultSink, path: str, length: int) -> None:
    """A body of ``length`` (above 6 MB) posted to ``path``: fail what it answered, as AWS does."""
    parts = _result_path(path)
    if len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
        # As on AWS: the invocation fails, and the runtime is told 413.
        message = (
            f"Response payload size ({length} bytes) exceeded maximum allowed payload size "
            f"({MAX_PAYLOAD_BYTES} bytes)."
        )
        sink.complete(
            parts[1], error_payload("Function.ResponseSizeTooLarge", message), error=True, fatal=True
        )
    elif parts == ["init", "error"]:
        message = f"Init error report of {length} bytes exceeded {MAX_PAYLOAD_BYTES} bytes."
        sink.fail_init(error_payload("Runtime.InitError", message))


def post_result(sink: ResultSink, path: str, body: bytes) -> tuple[int, bytes]:
    """Record a POST to the Runtime API (an init error, a response, an error): the reply's status and body."""
    parts = _result_path(path)
    if parts == ["init", "error"]:
        sink.fail_init(body)
        return HTTPStatus.ACCEPTED, b'{"status":"OK"}'
    if len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
        if sink.complete(parts[1], body, error=parts[2] == "error"):
            return HTTPStatus.ACCEPTED, b'{"status":"OK"}'
        return HTTPStatus.BAD_REQUEST, b'{"errorType":"InvalidRequestID"}'
    return HTTPStatus.NOT_FOUND, b'{"errorType":"InvalidRequest"}'


def invocation_headers(pending: PendingInvocation) -> dict[str, str]:
    """The headers of /next's answer that awslambdaric reads (the context of the handler)."""
    headers = {
        "Lambda-Runtime-Aws-Request-Id": pending.request_id,
        "Lambda-Runtime-Deadline-Ms": str(pending.deadline_ms),
        "Lambda-Runtime-Invoked-Function-Arn": pending.function_arn,
        "Lambda-Runtime-Trace-Id": f"Root=1-{int(time.time()):08x}-{os.urandom(12).hex()};Sampled=0",
    }
    if pending.client_context is not None:
        headers["Lambda-Runtime-Client-Context"] = pending.client_context
    if pending.cognito_identity is not None:
        headers["Lambda-Runtime-Cognito-Identity"] = pending.cognito_identity
    return headers


def http_reply(status: int, body: bytes = b"{}", headers: Mapping[str, str] | None = None) -> bytes:
    """A whole HTTP/1.1 reply with a JSON body, to be written in one ``send``."""
    head = [
        _STATUS_LINES.get(status) or f"HTTP/1.1 {status:d} {HTTPStatus(status).phrase}",
        f"Date: {_DATE.now()}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        *(f"{name}: {value}" for name, value in (headers or {}).items()),
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
