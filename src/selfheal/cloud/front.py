"""An asyncio HTTP/1.1 front for the local cloud's WSGI application: keep-alive, no thread per connection.

:class:`AsyncWSGIServer` has the interface and bounds of ``serving.BoundedWSGIServer`` (loopback only; at
most ``max_connections`` — at the cap, the longest-idle kept-alive connection is closed to admit a new
one, and only when none is idle is the new one answered ``503`` with ``Retry-After: 1`` at once;
``idle_timeout`` for a client that sends nothing, ``header_timeout`` for the whole head,
``body_timeout`` for the whole body; a write blocked ``idle_timeout`` by a client that does not read
ends the connection),
but one event loop thread owns every connection, and connections stay open between requests (closed after
``idle_timeout`` of silence). Heads and bodies are parsed by httptools (llhttp, the parser of Node and
uvicorn). uvicorn itself is not used: it has no head or body deadline (slowloris), caps requests rather
than connections, and its WSGI adapter reads a whole body into memory before the application runs.

Each request's WSGI call runs in a thread pool of ``max_connections`` threads, created as needed: a
connection carries one request at a time, so a request never waits for a thread, and a 15-minute Lambda
invocation or an event stream holds only its own. The body is streamed to the application
(:class:`~selfheal.cloud.front_wsgi.BodyStream`), with the loop reading no further than 1 MiB ahead, so
:func:`~selfheal.cloud.serving.read_bounded_body` refuses a body above its limit without reading the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
from collections import deque
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httptools

from .front_wsgi import BodyStream, ClientGone, Request, Response, build_environ, simple_response
from .serving import BUSY_RESPONSE, ConnectionLimits

__all__ = ["AsyncWSGIServer"]

_LOG = logging.getLogger(__name__)
_HIGH_WATER = 1024 * 1024
_LOW_WATER = 256 * 1024
#: A request head (line and headers) above this many bytes is refused, as http.server refuses a 64 KiB line.
_MAX_HEAD = 64 * 1024
_MAX_HEADERS = 100
# After a response that left part of the body unread, the rest is read and dropped for this long at most,
# so that closing does not reset the connection before the client has read the response.
_LINGER = 2.0
# A refused connection is held no longer: a flood of them must not use up file descriptors.
_REFUSED_LINGER = 0.25


class _Connection(asyncio.Protocol):
    """One client connection: parse requests, run them one at a time in the pool, keep alive in between."""

    def __init__(self, server: AsyncWSGIServer, loop: asyncio.AbstractEventLoop) -> None:
        self._server = server
        self._loop = loop
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpRequestParser(self)
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._head_size = 0
        self._parsing: BodyStream | None = None
        self._queue: deque[Request] = deque()
        self._running = False
        self._closed = False
        self._discarding = False
        self._counted_timeout = False
        self._admitted = False
        self._eof = False
        self._timer: asyncio.TimerHandle | None = None
        self._phase_end: float | None = None  # the head's or body's deadline (loop time)
        self._pauses: set[str] = set()
        self._paused_at = 0.0
        self._writable = threading.Event()
        self._writable.set()
        self._peer: tuple[str, int] = ("127.0.0.1", 0)
        # Loop time since when the connection waits for its next request after a complete exchange; None
        # while it carries one (or has carried none: a silent new connection is not evicted, it times out).
        self.idle_since: float | None = None

    # asyncio's callbacks
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        if not self._server.admit(self):
            transport.write(BUSY_RESPONSE)
            self._lingering_close(_REFUSED_LINGER)
            return
        self._admitted = True
        # asyncio sets TCP_NODELAY only on sockets whose proto is IPPROTO_TCP, and create_server's are 0:
        # without it, a response written in two parts waits for the client's delayed ACK (Nagle).
        with contextlib.suppress(OSError):
            transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple) and len(peer) >= 2:
            self._peer = (str(peer[0]), int(peer[1]))
        self._arm(self._server.idle_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._disarm()
        self._writable.set()
        gone = ClientGone("the client closed the connection")
        if self._parsing is not None:
            self._parsing.fail(gone)
        for request in self._queue:
            request.body.fail(gone)
        self._transport = None
        if self._admitted:
            self._admitted = False
            self._server.release(self)

    def data_received(self, data: bytes) -> None:
        if self._discarding or self._closed:
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._refuse("501 Not Implemented", "protocol upgrades are not supported by the local cloud")
            return
        except httptools.HttpParserError as error:
            # httptools reports an exception raised in a callback as its own error, caused by ours.
            if isinstance(error.__context__, _HeadTooLarge):
                self._refuse("431 Request Header Fields Too Large", "request head too large")
            else:
                self._refuse("400 Bad Request", f"malformed HTTP request: {error}")
            return
        if self._phase_end is not None and not self._pauses and not self._closed:
            self._arm(min(self._phase_end - self._loop.time(), self._server.idle_timeout))
        self._start_next()

    def eof_received(self) -> bool | None:
        self._eof = True
        if self._parsing is not None:
            self._parsing.fail(ClientGone("the client ended its request before the body was complete"))
        if self._discarding or (not self._running and not self._queue):
            self._close()
        return True  # keep our side open to finish a response under way

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    # httptools' callbacks
    def on_message_begin(self) -> None:
        self.idle_since = None
        self._url, self._headers, self._head_size = b"", [], 0
        self._phase_end = self._loop.time() + self._server.header_timeout

    def on_url(self, url: bytes) -> None:
        self._url += url
        self._grow_head(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))
        self._grow_head(len(name) + len(value) + 4)
        if len(self._headers) > _MAX_HEADERS:
            raise _HeadTooLarge

    def on_headers_complete(self) -> None:
        parser = self._parser
        body = BodyStream(self._body_drained, _HIGH_WATER, _LOW_WATER)
        environ = build_environ(
            parser.get_method().decode("latin-1"),
            self._url,
            parser.get_http_version(),
            self._headers,
            server=self._server.server_address,
            peer=self._peer,
            body=body,
        )
        self._parsing = body
        self._queue.append(Request(environ, body, parser.should_keep_alive()))
        self._phase_end = self._loop.time() + self._server.body_timeout
        if str(environ.get("HTTP_EXPECT", "")).lower() == "100-continue":
            # Asked for when the application first reads the body: one that refuses the request from its
            # head (a declared length above its limit) answers before the client sends the body.
            body.on_first_read = lambda: self._call(self._write, b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, chunk: bytes) -> None:
        if self._parsing is not None and self._parsing.feed(chunk):
            self._pause("body")

    def on_message_complete(self) -> None:
        if self._parsing is not None:
            self._parsing.finish()
        self._parsing = None
        self._phase_end = None
        if self._running or self._queue:
            self._disarm()
            if self._queue and self._running:
                self._pause("pipelined")  # one request ahead at most
        else:
            self._arm(self._server.idle_timeout)

    # Running requests
    def _start_next(self) -> None:
        if self._running or not self._queue or self._closed:
            return
        request = self._queue.popleft()
        self._running = True
        if self._parsing is None:
            self._disarm()  # the application's time is not limited, only the client's
        if not self._server.submit(self._respond, request):
            self._close()

    def _respond(self, request: Request) -> None:
        """Run the application for ``request`` and send its response (in a pool thread)."""
        close = True
        try:
            close = self._serve(request)
        except ClientGone:
            pass
        except Exception:
            _LOG.exception(
                "error serving %s %s", request.environ["REQUEST_METHOD"], request.environ["RAW_URI"]
            )
        finally:
            keep = not close and request.body.complete
            self._call(self._finished, keep)

    def _serve(self, request: Request) -> bool:
        """Call the application; whether the connection must close afterwards."""
        environ = request.environ
        response = Response(request, self._send)
        try:
            result: Iterable[bytes] = self._server.app(environ, response.start)
        except ClientGone:
            raise
        except Exception:
            _LOG.exception("error in the application for %s", environ.get("RAW_URI"))
            self._send(simple_response("500 Internal Server Error", "internal server error"))
            return True
        try:
            for piece in result:
                if piece:
                    response.write(piece)
            response.end()
        except ClientGone:
            raise
        except Exception:
            _LOG.exception("error in the application's response for %s", environ.get("RAW_URI"))
            if not response.head_sent:
                self._send(simple_response("500 Internal Server Error", "internal server error"))
            return True
        finally:
            close_result = getattr(result, "close", None)
            if callable(close_result):
                close_result()
        return response.must_close

    def _send(self, data: bytes) -> None:
        """Write from a pool thread; wait while the client's buffer is full (at most the idle timeout)."""
        if not data:
            return
        if not self._writable.wait(self._server.idle_timeout):
            self._call(self._time_out)
            raise ClientGone("the client stopped reading the response")
        if self._closed or not self._call(self._write, data):
            raise ClientGone("the connection is closed")

    def _call(self, function: Any, *args: Any) -> bool:
        """Run ``function(*args)`` on the loop (from a pool thread); False once the server has stopped."""
        try:
            self._loop.call_soon_threadsafe(function, *args)
        except RuntimeError:  # the loop is closed
            return False
        return True

    def _write(self, data: bytes) -> None:
        if self._transport is not None and not self._closed:
            self._transport.write(data)

    def _finished(self, keep_alive: bool) -> None:
        self._running = False
        self._resume("pipelined")
        self._resume("body")  # a body the application left unread holds nothing up any more
        if self._closed:
            return
        if self._eof:
            # The client has closed its side: nothing is left to drain, so no lingering (that would hold
            # the connection's place for seconds after each client that closes as soon as it has read).
            self._close()
            return
        if not keep_alive:
            self._lingering_close()
            return
        if self._queue:
            self._start_next()
        elif self._parsing is None:
            self._arm(self._server.idle_timeout)
            self.idle_since = self._loop.time()

    # Flow control and timers
    def _body_drained(self) -> None:
        self._call(self._resume, "body")

    def _pause(self, reason: str) -> None:
        if not self._pauses and self._transport is not None:
            self._transport.pause_reading()
            self._disarm()  # the client is not the one waiting now
            self._paused_at = self._loop.time()
        self._pauses.add(reason)

    def _resume(self, reason: str) -> None:
        if reason not in self._pauses:
            return
        self._pauses.discard(reason)
        if not self._pauses and self._transport is not None and not self._closed:
            self._transport.resume_reading()
            if self._phase_end is not None:
                # Paused time was ours, not the client's: the deadline moves by as much.
                self._phase_end += self._loop.time() - self._paused_at
                self._arm(min(self._phase_end - self._loop.time(), self._server.idle_timeout))

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._timer = self._loop.call_later(max(0.0, seconds), self._time_out)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _time_out(self) -> None:
        if self._closed:
            return
        if not self._counted_timeout:
            self._counted_timeout = True
            self._server.count_timeout()
        gone = ClientGone("the client took too long")
        if self._parsing is not None:
            self._parsing.fail(gone)
        self._close()

    # Closing
    def _grow_head(self, size: int) -> None:
        self._head_size += size
        if self._head_size > _MAX_HEAD:
            raise _HeadTooLarge

    def _refuse(self, status: str, text: str) -> None:
        if self._transport is not None:
            self._transport.write(simple_response(status, text))
        if self._parsing is not None:
            self._parsing.fail(ClientGone(text))
        self._lingering_close()

    def _lingering_close(self, linger: float = _LINGER) -> None:
        """Send what is buffered, stop writing, drop what the client still sends for a moment, close."""
        transport = self._transport
        if transport is None:
            return
        self._discarding = True
        self._pauses.clear()
        try:
            transport.resume_reading()
            if transport.can_write_eof():
                transport.write_eof()
        except (OSError, RuntimeError):
            pass
        self._disarm()
        self._timer = self._loop.call_later(min(linger, self._server.idle_timeout), self._close)
        self._closed = True

    def close(self) -> None:
        """Close the connection now (on shutdown)."""
        self._close()

    @property
    def evictable(self) -> bool:
        """Whether closing now loses nothing: between exchanges, or only lingering after its last one."""
        return self.idle_since is not None or (self._discarding and self._admitted)

    def evict(self) -> None:
        """Close this idle kept-alive connection to make room for a new one (from the loop); the server
        has already stopped counting it."""
        self._admitted = False
        self.idle_since = None
        self._close()

    def _close(self) -> None:
        self._disarm()
        self._closed = True
        self._writable.set()
        if self._transport is not None:
            self._transport.close()


class _HeadTooLarge(Exception):
    """A request head beyond :data:`_MAX_HEAD` bytes or :data:`_MAX_HEADERS` headers."""


class AsyncWSGIServer(ConnectionLimits):
    """Serve a WSGI application on an asyncio loop, with the bounds of ``BoundedWSGIServer`` (module doc).

    Constructing it binds and listens (port 0 picks one); ``serve_forever`` runs the loop in the calling
    thread until ``shutdown``; ``server_close`` releases the socket and the pool. Raises ``ValueError`` for
    a non-loopback host or a non-positive bound, ``OSError`` when the address cannot be bound.
    """

    def __init__(
        self,
        host: str,
        port: int,
        app: Any,
        *,
        max_connections: int = 64,
        idle_timeout: float = 15.0,
        header_timeout: float = 10.0,
        body_timeout: float = 60.0,
    ) -> None:
        ConnectionLimits.__init__(self, host, max_connections, idle_timeout, header_timeout, body_timeout)
        self.app = app
        self.evicted_connections = 0  # idle kept-alive connections closed to admit a new one
        self._connections: set[_Connection] = set()
        self._lock = threading.Lock()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            self.socket = socket.create_server((host, port), family=family, backlog=1024)
        except OSError as error:
            raise OSError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
        self.server_address: tuple[str, int] = (host, int(self.socket.getsockname()[1]))
        self.server_port = self.server_address[1]
        self._pool = ThreadPoolExecutor(max_workers=max_connections, thread_name_prefix="front")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._shutdown_requested = False
        self._stopped = threading.Event()

    @property
    def active_connections(self) -> int:
        """Connections open now (a connection waiting for its next request included)."""
        with self._lock:
            return len(self._connections)

    def admit(self, connection: _Connection) -> bool:
        """Take one more connection if under the cap, else close the longest-idle kept-alive one to make
        room (HTTP lets a server close an idle persistent connection; nginx does so when out of
        connections), else count a rejection (from the loop).

        A client that does not read a response body to its end (boto3's ``Invoke`` ``Payload``, say) leaves
        its connection idle until its garbage collector closes it: without eviction such a client would
        use up the cap within a few hundred calls, where the werkzeug front closed every connection.
        """
        with self._lock:
            if len(self._connections) >= self.max_connections:
                idle = [c for c in self._connections if c.evictable]
                if not idle:
                    self.rejected_connections += 1
                    return False
                # Lingering ones first (their exchange is over), then the longest idle.
                oldest = min(idle, key=lambda c: c.idle_since if c.idle_since is not None else -1.0)
                self._connections.discard(oldest)
                self.evicted_connections += 1
            else:
                oldest = None
            self._connections.add(connection)
        if oldest is not None:
            oldest.evict()
        return True

    def release(self, connection: _Connection) -> None:
        """An admitted connection has closed."""
        with self._lock:
            self._connections.discard(connection)

    def count_timeout(self) -> None:
        """Count one connection closed for waiting too long on its client."""
        with self._lock:
            self.timed_out_connections += 1

    def submit(self, function: Any, *args: Any) -> bool:
        """Run ``function(*args)`` in the request pool; False once the server is closed."""
        try:
            self._pool.submit(function, *args)
        except RuntimeError:
            return False
        return True

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        """Serve until :meth:`shutdown` (``poll_interval`` is accepted for socketserver compatibility)."""
        loop = asyncio.new_event_loop()
        stop = asyncio.Event()
        with self._lock:
            if self._shutdown_requested:
                loop.close()
                self._stopped.set()
                return
            self._loop, self._stop = loop, stop
        try:
            loop.run_until_complete(self._serve(loop, stop))
        finally:
            with self._lock:
                self._loop = None
            loop.close()
            self._stopped.set()

    async def _serve(self, loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
        server = await loop.create_server(lambda: _Connection(self, loop), sock=self.socket, backlog=1024)
        await stop.wait()
        server.close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            connection.close()
        await asyncio.sleep(0)  # let the transports report their closing

    def shutdown(self) -> None:
        """Stop serving and wait for ``serve_forever`` to return."""
        with self._lock:
            self._shutdown_requested = True
            loop, stop = self._loop, self._stop
        if loop is None or stop is None:
            return
        try:
            loop.call_soon_threadsafe(stop.set)
        except RuntimeError:  # already stopped
            return
        self._stopped.wait(timeout=10)

    def server_close(self) -> None:
        """Close the listening socket and let the pool's threads end once their requests have."""
        self.socket.close()
        self._pool.shutdown(wait=False, cancel_futures=True)
