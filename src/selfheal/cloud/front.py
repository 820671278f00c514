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
A request the application claims through ``serves_on_loop(environ)`` (the HTTP API data plane's, the
operator's Lambda Invoke), whose body has arrived whole, runs on the loop thread instead, in a greenlet
that yields where it waits (:mod:`~selfheal.cloud.cooperative`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Unpack

from .front_connection import Connection
from .serving import ConnectionBounds, ConnectionLimits

__all__ = ["AsyncWSGIServer"]


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
        **bounds: Unpack[ConnectionBounds],
    ) -> None:
        ConnectionLimits.__init__(self, host, **bounds)
        self.app = app
        self.evicted_connections = 0  # idle kept-alive connections closed to admit a new one
        self._connections: set[Connection] = set()
        self._lock = threading.Lock()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            self.socket = socket.create_server((host, port), family=family, backlog=1024)
        except OSError as error:
            raise OSError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
        self.server_address: tuple[str, int] = (host, int(self.socket.getsockname()[1]))
        self.server_port = self.server_address[1]
        self._pool = ThreadPoolExecutor(max_workers=self.max_connections, thread_name_prefix="front")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._shutdown_requested = False
        self._stopped = threading.Event()

    @property
    def active_connections(self) -> int:
        """Connections open now (a connection waiting for its next request included)."""
        with self._lock:
            return len(self._connections)

    def admit(self, connection: Connection) -> bool:
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

    def release(self, connection: Connection) -> None:
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

    def offload(self, function: Any, *args: Any) -> concurrent.futures.Future[Any]:
        """Run ``function(*args)`` in the request pool for a request served on the loop."""
        return self._pool.submit(function, *args)

    def on_loop(self, environ: dict[str, Any]) -> bool:
        """Whether the application serves this request on the loop thread (``serves_on_loop``)."""
        decide = getattr(self.app, "serves_on_loop", None)
        return callable(decide) and decide(environ) is True

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
        server = await loop.create_server(lambda: Connection(self, loop), sock=self.socket, backlog=1024)
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
