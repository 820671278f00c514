"""One connection of the asyncio front: HTTP/1.1 parsing (httptools), its deadlines, flow control, closing.

A :class:`Connection` is the asyncio protocol of one client connection of
:class:`~selfheal.cloud.front.AsyncWSGIServer` (its :class:`ConnectionHost`): it parses request heads and
streams bodies to the application, runs one request at a time in the host's pool (one more may wait,
pipelined), writes responses from that pool thread through the loop, and enforces the head, body and idle
deadlines. Between two exchanges it is *idle* (``idle_since``): at its connection cap the host may close it
to admit another. A client that closes while its response is finished is let go at once; one whose body
was left unread is drained for a moment (lingering close) so that it reads its response before the reset.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import socket
import threading
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import httptools

from . import cooperative
from .front_wsgi import BodyStream, ClientGone, Request, Response, build_environ, simple_response
from .serving import BUSY_RESPONSE

__all__ = ["Connection", "ConnectionHost"]

_LOG = logging.getLogger("selfheal.cloud.front")
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


class ConnectionHost(Protocol):
    """What a :class:`Connection` needs of its server."""

    app: Any
    server_address: tuple[str, int]
    idle_timeout: float
    header_timeout: float
    body_timeout: float

    def admit(self, connection: Connection) -> bool: ...

    def release(self, connection: Connection) -> None: ...

    def count_timeout(self) -> None: ...

    def submit(self, function: Any, *args: Any) -> bool: ...

    def offload(self, function: Any, *args: Any) -> concurrent.futures.Future[Any]: ...

    def on_loop(self, environ: dict[str, Any]) -> bool: ...


class Connection(asyncio.Protocol):
    """One client connection: parse requests, run them one at a time in the pool, keep alive in between."""

    def __init__(self, server: ConnectionHost, loop: asyncio.AbstractEventLoop) -> None:
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
        # Nothing to answer: no request, or only one whose body, awaited before it starts, never came whole.
        awaited = bool(self._queue) and self._queue[0].on_loop and not self._queue[0].body.complete
        if self._discarding or (not self._running and (not self._queue or awaited)):
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
        expects_continue = str(environ.get("HTTP_EXPECT", "")).lower() == "100-continue"
        # A body of a known length within what the loop reads ahead anyway is awaited before the request is
        # dispatched (clients such as http.client send it apart from the head): the request can then run on
        # the loop. One sent in chunks, or only after 100 Continue, streams to a pool thread.
        on_loop = (
            not expects_continue
            and str(environ.get("CONTENT_LENGTH") or "0").isdigit()
            and int(environ.get("CONTENT_LENGTH") or 0) <= _HIGH_WATER
            and "HTTP_TRANSFER_ENCODING" not in environ
            and self._server.on_loop(environ)
        )
        self._queue.append(Request(environ, body, parser.should_keep_alive(), on_loop))
        self._phase_end = self._loop.time() + self._server.body_timeout
        if expects_continue:
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
        if self._queue[0].on_loop and not self._queue[0].body.complete:
            return  # its body is on its way (within the body deadline): dispatched once it has arrived
        request = self._queue.popleft()
        self._running = True
        if self._parsing is None:
            self._disarm()  # the application's time is not limited, only the client's
        if request.on_loop:
            # Served on the loop thread in a greenlet, which yields where it waits (see cooperative).
            cooperative.spawn(self._loop, self._server.offload, self._respond, request, True)
        elif not self._server.submit(self._respond, request):
            self._close()

    def _respond(self, request: Request, on_loop: bool = False) -> None:
        """Run the application for ``request`` and send its response (in a pool thread, or on the loop)."""
        close = True
        try:
            close = self._serve(request, self._write_here if on_loop else self._send)
        except ClientGone:
            pass
        except Exception:
            _LOG.exception(
                "error serving %s %s", request.environ["REQUEST_METHOD"], request.environ["RAW_URI"]
            )
        finally:
            keep = not close and request.body.complete
            if on_loop:
                self._loop.call_soon(self._finished, keep)
            else:
                self._call(self._finished, keep)

    def _serve(self, request: Request, send: Callable[[bytes], None]) -> bool:
        """Call the application; whether the connection must close afterwards."""
        environ = request.environ
        response = Response(request, send)
        try:
            result: Iterable[bytes] = self._server.app(environ, response.start)
        except ClientGone:
            raise
        except Exception:
            _LOG.exception("error in the application for %s", environ.get("RAW_URI"))
            send(simple_response("500 Internal Server Error", "internal server error"))
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
                send(simple_response("500 Internal Server Error", "internal server error"))
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

    def _write_here(self, data: bytes) -> None:
        """Write on the loop thread (a request greenlet): the transport buffers what the client has not read
        (one bounded response per connection)."""
        if self._closed or self._transport is None:
            raise ClientGone("the connection is closed")
        if data:
            self._transport.write(data)

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
