"""The Lambda Runtime API of every execution environment, served on one shared asyncio event loop thread.

:class:`LoopRuntimeApiServer` has the interface and the rules of the threaded
:class:`~selfheal.cloud.lambda_runtime_api.RuntimeApiServer` (the same peer check, 6 MB bounds, replies and
head limits, :mod:`.lambda_runtime_http`) without a thread per connection or a Condition polled by
``/next``: every environment's listening socket and connections belong to one event loop thread (started
with the first server, stopped with the last).

The peer check (psutil reads the kernel's socket table, a few milliseconds) runs in the loop's executor
while the new connection's reading is paused, so no byte of a foreign client is read and other
environments are not held up. When a checked connection's ``/next`` finds nothing queued, the loop hands
the connection to its environment (:mod:`.lambda_runtime_direct`): the thread that invokes next answers it
and reads the result itself, with no thread hop. A ``/next`` that cannot be handed over (another connection
holds the place) waits on the loop and is answered there by :meth:`~LoopRuntimeApiServer.submit`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import socket
import threading
import time
from collections import deque
from typing import Any

from . import cooperative
from .lambda_runtime_api import InvocationBook, PendingInvocation, RuntimeApiOwner
from .lambda_runtime_direct import DirectConnection
from .lambda_runtime_http import Refused, RequestReader, gone_reply, invocation_reply, serve

__all__ = ["LoopRuntimeApiServer"]

# Connections one environment holds at once (awslambdaric keeps one); more are closed unread.
_MAX_CONNECTIONS = 8
# Bytes a served connection may send ahead while its request waits (awslambdaric sends nothing meanwhile).
_READ_AHEAD = 64 * 1024
_CLOSE_TIMEOUT = 5.0


class _SharedLoop:
    """One event loop thread for every Runtime API server: started by the first, stopped after the last."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._users = 0

    def acquire(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name="lambda-runtime-api-loop", daemon=True
                )
                thread.start()
                self._loop, self._thread = loop, thread
            self._users += 1
            return self._loop

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users or self._loop is None or self._thread is None:
                return
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
            loop.call_soon_threadsafe(loop.stop)
            if thread is not threading.current_thread():
                thread.join(timeout=_CLOSE_TIMEOUT)
                if not thread.is_alive():
                    loop.close()

    def in_loop(self, loop: asyncio.AbstractEventLoop) -> bool:
        return self._thread is threading.current_thread() and self._loop is loop


_LOOP = _SharedLoop()


class LoopRuntimeApiServer(RuntimeApiOwner, InvocationBook):
    """The Runtime API for one environment on the shared loop: hands out one invocation at a time."""

    address_family = socket.AF_INET

    def __init__(self) -> None:
        super().__init__()
        # Listening from now: a connection made before start() waits in the backlog, as with the threads.
        # IPPROTO_TCP named: asyncio sets TCP_NODELAY only then (each reply is one write; no Nagle wait).
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            self._socket.bind(("127.0.0.1", 0))
            self._socket.listen(16)
        except OSError:
            self._socket.close()
            raise
        self.server_address: Any = self._socket.getsockname()
        InvocationBook.__init__(self, threading.Lock())
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        # Loop-thread state: the open connections, and those whose /next waits for an invocation.
        self._connections: set[_RuntimeConnection] = set()
        self._waiting: deque[_RuntimeConnection] = deque()
        # The connection handed to the environment: parked between invocations, or driven by the invoker.
        self._direct: DirectConnection | None = None
        self._drive: DirectConnection | None = None

    def start(self) -> None:
        """Serve on the shared loop (returns once the socket is served)."""
        loop = _LOOP.acquire()
        self._loop = loop
        try:
            asyncio.run_coroutine_threadsafe(self._listen(loop), loop).result(_CLOSE_TIMEOUT)
        except BaseException:
            self._loop = None
            _LOOP.release()
            raise

    async def _listen(self, loop: asyncio.AbstractEventLoop) -> None:
        self._server = await loop.create_server(lambda: _RuntimeConnection(self, loop), sock=self._socket)

    def close(self) -> None:
        """Stop serving, answer a waiting /next 410, wake every waiter (idempotent)."""
        with self._lock:
            self.closing = True
            already, self._closed = self._closed, True
            active = list(self._active.values())
            parked, self._direct = self._direct, None
            if self._drive is not None:
                self._drive.shut()  # its invoker closes it
        if parked is not None:
            if parked.next_waiting:
                parked.hand_gone()
            parked.close()
        for pending in active:
            pending.done.set()
        if already:
            return
        loop = self._loop
        if loop is None:
            self._socket.close()  # never served
            return
        if _LOOP.in_loop(loop):
            self._shut()
        else:
            done: concurrent.futures.Future[None] = concurrent.futures.Future()

            def shut() -> None:
                try:
                    self._shut()
                finally:
                    done.set_result(None)

            loop.call_soon_threadsafe(shut)
            try:
                done.result(_CLOSE_TIMEOUT)
            except concurrent.futures.TimeoutError:
                self._socket.close()
        _LOOP.release()

    def _shut(self) -> None:
        if self._server is not None:
            self._server.close()
        else:
            self._socket.close()
        for connection in list(self._connections):
            connection.closing()

    def submit(self, pending: PendingInvocation) -> None:
        """Make ``pending`` the next invocation /next returns (wakes a waiting /next on the loop)."""
        with self._lock:
            self._queued = pending
            self._active[pending.request_id] = pending
            drive, self._direct = self._direct, None
            self._drive = drive
        if drive is not None:
            deadline = time.monotonic() + pending.deadline_ms / 1000 - time.time()
            if not drive.hand(self, deadline):
                self._drop(drive)
            return
        loop = self._loop
        if loop is not None and not self.closing:
            with contextlib.suppress(RuntimeError):  # the loop ended with a close() meanwhile
                loop.call_soon_threadsafe(self._hand_over)

    def wait_done(self, pending: PendingInvocation, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for ``pending``'s result (driving the handed-over connection)."""
        drive = self._drive
        if drive is None:
            return cooperative.wait_event(pending.done, timeout)
        if not pending.done.is_set() and not drive.step(self, timeout):
            self._drop(drive)
            return pending.done.is_set()
        if not pending.done.is_set():
            return False
        with self._lock:
            self._drive = None
            if self.closing or self._direct is not None:
                drive.close()
            else:
                self._direct = drive
        return True

    def direct_ready(self) -> bool:
        """Whether the runtime's connection waits, handed over: an invocation then needs no other thread."""
        with self._lock:
            return self._direct is not None and self._queued is None

    def _drop(self, drive: DirectConnection) -> None:
        """The driven connection is done for (closed, refused, or its invocation abandoned)."""
        with self._lock:
            if self._drive is drive:
                self._drive = None
        drive.close()

    def adopt(self, sock: socket.socket, reader: RequestReader, close_after: bool) -> bool:
        """Take a checked connection whose /next waits, if nothing is queued and no other is held."""
        with self._lock:
            if (
                self._queued is not None
                or self.closing
                or self._direct is not None
                or self._drive is not None
            ):
                return False
            self._direct = DirectConnection(sock, reader, close_after=close_after)
            return True

    def take_next(self) -> PendingInvocation | None:
        """The queued invocation, taken (None: nothing queued); the runtime is ready from its first /next."""
        self.ready.set()
        with self._lock:
            pending, self._queued = self._queued, None
            return pending

    def _hand_over(self) -> None:
        while self._waiting and not self.closing:
            connection = self._waiting.popleft()
            if connection.gone:
                continue
            pending = self.take_next()
            if pending is None:
                self._waiting.appendleft(connection)
                return
            connection.answer_next(pending)

    def forget(self, request_id: str) -> None:
        """Drop ``request_id`` (timed out or abandoned); a connection driven for it is dropped too."""
        super().forget(request_id)
        with self._lock:
            drive = self._drive
        if drive is not None:
            self._drop(drive)  # mid-exchange: the connection's state is unknown


class _RuntimeConnection(asyncio.Protocol):
    """One connection to an environment's Runtime API: checked, then its requests served one at a time."""

    def __init__(self, api: LoopRuntimeApiServer, loop: asyncio.AbstractEventLoop) -> None:
        self._api = api
        self._loop = loop
        self._transport: asyncio.Transport | None = None
        self._reader = RequestReader()
        self._served = False  # the peer check passed
        self._busy = False  # a /next waits for an invocation
        self._paused = False
        self.gone = False
        self._close_after = False  # the waiting /next's connection closes after its answer

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        transport.pause_reading()  # nothing is read before the peer check passes
        api = self._api
        peer = transport.get_extra_info("peername")
        api._connections.add(self)
        if api.closing:
            transport.close()
        elif len(api._connections) > _MAX_CONNECTIONS:
            api._count_refusal(peer, f"more than {_MAX_CONNECTIONS} connections at once")
            transport.close()
        elif api._owner is None:
            api._count_refusal(peer, "no runtime process owns this environment yet")
            transport.close()
        else:
            self._loop.run_in_executor(None, api._refusal, peer).add_done_callback(
                lambda check: self._checked(peer, check)
            )

    def _checked(self, peer: Any, check: asyncio.Future[str | None]) -> None:
        reason = check.result() if not check.cancelled() and check.exception() is None else "check failed"
        if reason is not None:
            self._api._count_refusal(peer, reason)
            self._close()
            return
        if self.gone or self._transport is None:
            return
        self._served = True
        self._transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self.gone = True
        self._api._connections.discard(self)

    def data_received(self, data: bytes) -> None:
        if not self._served or self.gone:
            return
        self._reader.buffer += data
        if self._busy and len(self._reader.buffer) > _READ_AHEAD and not self._paused:
            self._paused = True
            assert self._transport is not None
            self._transport.pause_reading()
        self._process()

    def closing(self) -> None:
        """The environment is closing: a waiting /next gets 410 (the child stops asking); then close."""
        if self._busy:
            self._busy = False
            self._write(gone_reply())
        self._close()

    def _close(self) -> None:
        self.gone = True
        if self._transport is not None:
            self._transport.close()

    def _write(self, data: bytes) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)

    def _process(self) -> None:
        while not self._busy and not self.gone:
            try:
                taken = self._reader.take(self._api, self._write)
            except Refused as refused:
                self._write(refused.reply)
                self._close()
                return
            if taken is None:
                return
            request, body = taken
            reply = serve(self._api, request, body)
            if reply is None:
                self._wait_for_invocation(request.close_after)
                return
            self._write(reply)
            if request.close_after or self._api.closing:
                self._close()

    def _wait_for_invocation(self, close_after: bool) -> None:
        """Hand the connection to the environment if it may; else wait here for :meth:`answer_next`."""
        transport = self._transport
        assert transport is not None
        if transport.get_write_buffer_size() == 0:
            raw = transport.get_extra_info("socket")
            sock = socket.socket(fileno=os.dup(raw.fileno()))
            if self._api.adopt(sock, self._reader, close_after):
                # The duplicate keeps the connection open: the transport lets go of its own descriptor.
                self.gone = True
                transport.abort()
                return
            sock.close()
        self._close_after = close_after
        self._busy = True
        self._api._waiting.append(self)

    def answer_next(self, pending: PendingInvocation) -> None:
        """Answer the waiting /next with ``pending`` and go on with what the runtime sent meanwhile."""
        self._busy = False
        self._write(invocation_reply(pending))
        if self._close_after:
            self._close()
            return
        if self._paused and not self.gone and self._transport is not None:
            self._paused = False
            self._transport.resume_reading()
        self._process()
