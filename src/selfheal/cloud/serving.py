"""A bounded variant of werkzeug's threaded WSGI server for selfheal's local servers (cloud, dashboard).

werkzeug's threaded server starts one thread per connection and waits for the client forever, so a few
hundred idle or half-sent connections (slowloris) hold as many threads indefinitely. The server here:

* binds to a loopback address only;
* keeps at most ``max_connections`` connections; one more is answered ``503`` with ``Retry-After: 1`` by
  the accepting thread and closed at once, without a thread;
* waits at most ``idle_timeout`` for any one read from the client (a connection that sends nothing is
  closed), at most ``header_timeout`` in all for the request line and headers once the first byte has
  come, and at most ``body_timeout`` in all for reading the body. These bound only the waiting for the
  client: the time the application takes (a 15-minute Lambda invocation, a server-sent-event stream) is not
  limited. A write blocked for ``idle_timeout`` by a client that does not read also ends the connection.

:func:`read_bounded_body` reads a request body of at most a given size, with ``Content-Length`` or
chunked; past the limit it raises :class:`BodyTooLarge` and, on this server, the rest is never read.
"""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypedDict, Unpack, cast

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler
from werkzeug.wsgi import get_content_length

from selfheal.loopback import is_loopback_host

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

__all__ = [
    "ABANDONED_BODY_KEY",
    "BUSY_RESPONSE",
    "BodyTooLarge",
    "BoundedRequestHandler",
    "BoundedWSGIServer",
    "ConnectionBounds",
    "ConnectionLimits",
    "abandon_body",
    "read_bounded_body",
    "require_loopback",
]

#: The environ key by which an application tells the server to read nothing more of the request body.
ABANDONED_BODY_KEY = "selfheal.body_abandoned"

_BUSY_BODY = b"too many connections, retry shortly\n"
#: The answer to a connection beyond the cap, sent without reading its request.
BUSY_RESPONSE = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Length: " + str(len(_BUSY_BODY)).encode() + b"\r\n"
    b"Retry-After: 1\r\n"
    b"Connection: close\r\n"
    b"\r\n" + _BUSY_BODY
)
# The accepting thread must not wait on a client: the refusal is a few bytes into an empty send buffer.
_REFUSAL_SEND_TIMEOUT = 0.25
_READ_PIECE = 1024 * 1024


class BodyTooLarge(Exception):
    """A request body is larger than the limit it was read with."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body larger than {limit} bytes")
        self.limit = limit


def abandon_body(environ: dict[str, Any]) -> None:
    """Read nothing more of this request's body (not even werkzeug's drain after the response).

    The connection is closed after the response anyway (werkzeug never keeps one alive; the asyncio front
    of :mod:`front` closes a connection whose request body was not all received); unread bytes are
    dropped. Without effect on other servers.
    """
    environ[ABANDONED_BODY_KEY] = True


def read_bounded_body(environ: dict[str, Any], limit: int) -> bytes:
    """The request body, with ``Content-Length`` or chunked; :class:`BodyTooLarge` if above ``limit`` bytes.

    A declared length above the limit is refused before anything is read; a chunked body is read up to
    ``limit + 1`` bytes. When refused, the rest of the body is abandoned (:func:`abandon_body`).
    """
    if limit < 0:
        raise ValueError(f"limit must not be negative, got {limit!r}")
    stream = environ["wsgi.input"]
    if environ.get("wsgi.input_terminated"):
        body = _read_up_to(stream, limit + 1)
    else:
        length = get_content_length(environ) or 0
        if length > limit:
            abandon_body(environ)
            raise BodyTooLarge(limit)
        body = _read_up_to(stream, length)
    if len(body) > limit:
        abandon_body(environ)
        raise BodyTooLarge(limit)
    return body


def _read_up_to(stream: Any, size: int) -> bytes:
    """At most ``size`` bytes of ``stream``: fewer only at its end."""
    pieces = bytearray()
    while len(pieces) < size:
        piece = stream.read(min(size - len(pieces), _READ_PIECE))
        if not piece:
            break
        pieces += piece
    return bytes(pieces)


def require_loopback(host: str) -> None:
    """Raise ValueError unless ``host`` is a loopback address (or ``localhost``)."""
    if not is_loopback_host(host):
        raise ValueError(
            f"selfheal's servers bind only to a loopback address such as 127.0.0.1, got {host!r}"
        )


class _ClientReader(io.RawIOBase):
    """The socket under a handler's ``rfile``: each read waits at most ``idle`` seconds and what is left of
    the phase's ``budget`` (the total time to wait for the request head or body; ``None``: no budget)."""

    def __init__(self, sock: socket.socket, idle: float, on_timeout: Callable[[], None]) -> None:
        super().__init__()
        self._sock = sock
        self._idle = idle
        self._on_timeout = on_timeout
        self.budget: float | None = None
        self.environ: dict[str, Any] | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        if self.environ is not None and self.environ.get(ABANDONED_BODY_KEY):
            return 0
        wait = self._idle
        if self.budget is not None:
            if self.budget <= 0:
                self._on_timeout()
                raise TimeoutError("the client took too long to send its request")
            wait = min(wait, self.budget)
        self._sock.settimeout(wait)
        started = time.monotonic()
        try:
            return self._sock.recv_into(buffer)
        except TimeoutError:
            self._on_timeout()
            raise
        finally:
            if self.budget is not None:
                self.budget -= time.monotonic() - started
            # Writes (the response) keep the idle timeout, not a nearly spent budget.
            self._sock.settimeout(self._idle)


class BoundedRequestHandler(WSGIRequestHandler):
    """werkzeug's request handler with its reads from the client bounded by the server's timeouts.

    Mixed in front of any :class:`WSGIRequestHandler` subclass by :class:`BoundedWSGIServer`.
    """

    server: BoundedWSGIServer
    _timed_out = False

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.idle_timeout)
        self.rfile.close()  # werkzeug's buffered socket file; the one below reads the socket itself
        self._reader = _ClientReader(self.connection, self.server.idle_timeout, self._time_out)
        self._buffered = io.BufferedReader(self._reader)
        self.rfile = self._buffered

    def handle_one_request(self) -> None:
        if self._timed_out:
            self.close_connection = True
            return
        self._reader.budget, self._reader.environ = None, None
        try:
            started = self._buffered.peek(1)  # waits up to idle_timeout for a request to begin
        except TimeoutError:
            self.close_connection = True
            return
        if not started:
            self.close_connection = True
            return
        self._reader.budget = self.server.header_timeout
        super().handle_one_request()

    def make_environ(self) -> dict[str, Any]:
        environ: dict[str, Any] = super().make_environ()
        # The head is in: from now on the reads are the body's.
        self._reader.budget = self.server.body_timeout
        self._reader.environ = environ
        return environ

    def log_error(self, format: str, *args: Any) -> None:
        if self._timed_out:  # counted in the server's timed_out_connections, not logged
            return
        super().log_error(format, *args)

    def _time_out(self) -> None:
        if not self._timed_out:
            self._timed_out = True
            self.server.count_timeout()


def _bounded(handler: type[WSGIRequestHandler]) -> type[BoundedRequestHandler]:
    if issubclass(handler, BoundedRequestHandler):
        return handler
    bounded = type(f"Bounded{handler.__name__}", (BoundedRequestHandler, handler), {"__module__": __name__})
    return cast(type[BoundedRequestHandler], bounded)


class ConnectionBounds(TypedDict, total=False):
    """The bounds a front takes as keywords; one left out keeps :class:`ConnectionLimits`'s default."""

    max_connections: int
    idle_timeout: float
    header_timeout: float
    body_timeout: float


class ConnectionLimits:
    """The bounds both fronts keep (see the module doc), checked once: a loopback host, a connection cap and
    positive client timeouts; ``rejected_connections`` and ``timed_out_connections`` count what they cut."""

    def __init__(
        self,
        host: str,
        max_connections: int = 64,
        idle_timeout: float = 15.0,
        header_timeout: float = 10.0,
        body_timeout: float = 60.0,
    ) -> None:
        require_loopback(host)
        if max_connections < 1:
            raise ValueError(f"max_connections must be at least 1, got {max_connections!r}")
        for name, value in (
            ("idle_timeout", idle_timeout),
            ("header_timeout", header_timeout),
            ("body_timeout", body_timeout),
        ):
            if not value > 0:
                raise ValueError(f"{name} must be positive, got {value!r}")
        self.max_connections = max_connections
        self.idle_timeout = float(idle_timeout)
        self.header_timeout = float(header_timeout)
        self.body_timeout = float(body_timeout)
        self.rejected_connections = 0
        self.timed_out_connections = 0


class BoundedWSGIServer(ThreadedWSGIServer, ConnectionLimits):
    """werkzeug's threaded WSGI server with a connection cap and client timeouts (see the module doc).

    Constructing it binds and listens (run it with ``serve_forever``; port 0 picks one). ``handler`` is the
    request handler class (default werkzeug's); raises ``ValueError`` for a non-loopback host and
    ``OSError`` when the address cannot be bound.

    ``rejected_connections`` and ``timed_out_connections`` count the refused and the timed-out
    connections; ``active_connections`` is the number being served.
    """

    def __init__(
        self,
        host: str,
        port: int,
        app: Any,
        *,
        handler: type[WSGIRequestHandler] | None = None,
        **bounds: Unpack[ConnectionBounds],
    ) -> None:
        ConnectionLimits.__init__(self, host, **bounds)
        self._active = 0
        self._count_lock = threading.Lock()
        try:
            super().__init__(host, port, app, _bounded(handler or WSGIRequestHandler))
        except SystemExit:
            # werkzeug reports a failed bind by printing and calling sys.exit(1).
            raise OSError(f"cannot listen on {host}:{port}: address in use or not allowed") from None

    @property
    def active_connections(self) -> int:
        """Connections being served now (each holds one thread)."""
        with self._count_lock:
            return self._active

    def count_timeout(self) -> None:
        """Count one connection closed for waiting too long on its client (called by the handler)."""
        with self._count_lock:
            self.timed_out_connections += 1

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._count_lock:
            admitted = self._active < self.max_connections
            if admitted:
                self._active += 1
            else:
                self.rejected_connections += 1
        if not admitted:
            self._refuse(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._release()

    def _release(self) -> None:
        with self._count_lock:
            self._active -= 1

    def _refuse(self, request: socket.socket) -> None:
        """Answer 503 and close, in the accepting thread, never waiting long on the client."""
        try:
            request.settimeout(_REFUSAL_SEND_TIMEOUT)
            request.sendall(BUSY_RESPONSE)
            request.shutdown(socket.SHUT_WR)
            # Take what the client already sent, so that closing does not reset the connection.
            request.setblocking(False)
            request.recv(64 * 1024)
        except OSError:
            pass
        finally:
            request.close()
