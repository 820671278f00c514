"""A Runtime API connection that the invoking thread drives itself: no thread hop per invocation.

Once the runtime's connection has passed the peer check and its ``/next`` waits with nothing queued, the
event loop hands the connection's socket to its environment (:class:`DirectConnection`). The thread that
then invokes the environment answers that ``/next`` itself, reads the runtime's response on the same socket
(in steps no longer than its caller's liveness and timeout checks), answers it, and leaves the connection
parked for the next invocation: the two exchanges of an invocation cost two writes and a read or two in the
calling thread, where a server thread would add two wake-ups of another thread. A request greenlet on the
front's loop (:mod:`.cooperative`) yields to that loop where a thread would wait in ``poll``.

An environment runs one invocation at a time, so one thread at a time drives its connection; when the
environment closes meanwhile, the socket is only shut down (the driving thread closes it when it sees so).
"""

from __future__ import annotations

import contextlib
import select
import socket
import time

from . import cooperative
from .lambda_runtime_http import Refused, RequestReader, RuntimeServer, gone_reply, invocation_reply, serve

__all__ = ["DirectConnection"]

# The shortest wait for a write: a runtime that reads nothing fails its invocation rather than the caller.
_MIN_SEND_SECONDS = 0.05


class DirectConnection:
    """A verified runtime connection, its unread bytes, and whether its runtime waits on ``/next``."""

    def __init__(self, sock: socket.socket, reader: RequestReader, *, close_after: bool) -> None:
        # Non-blocking, and waited on with poll only when a read or write cannot proceed: a socket timeout
        # would cost a mode-setting syscall per settimeout plus a poll before every send and recv.
        sock.setblocking(False)
        self.sock = sock
        self._readable = select.poll()
        self._readable.register(sock, select.POLLIN)
        self._writable = select.poll()
        self._writable.register(sock, select.POLLOUT)
        self.reader = reader
        # The runtime's /next waits for an answer; close the connection after that answer.
        self.next_waiting = True
        self.close_after = close_after
        self.deadline = 0.0  # monotonic: the invocation's end, which bounds a blocked write

    def hand(self, server: RuntimeServer, deadline: float) -> bool:
        """Answer a waiting /next with the queued invocation; False: the connection is done for."""
        self.deadline = deadline
        if not self.next_waiting:
            return True
        pending = server.take_next()
        if pending is None:
            return True
        self.next_waiting = False
        return self._send(invocation_reply(pending)) and not self.close_after

    def step(self, server: RuntimeServer, timeout: float) -> bool:
        """Serve what the runtime sent or sends within ``timeout`` seconds; False: the connection is done for.

        Returns after serving a request (the caller checks whether its invocation is done) or the timeout.
        """
        usable, served = self._serve_buffered(server)
        if not usable or served:
            return usable
        try:
            try:
                # Often there already: the runtime's /next follows the previous answer at once. Reading
                # before waiting spares a poll (or, in a request greenlet, a round through the loop).
                data = self.sock.recv(65536)
            except BlockingIOError:
                if not self._wait(self._readable, False, timeout):
                    return True
                data = self.sock.recv(65536)
        except BlockingIOError:
            return True
        except OSError:
            return False
        if not data:
            return False
        self.reader.buffer += data
        return self._serve_buffered(server)[0]

    def _serve_buffered(self, server: RuntimeServer) -> tuple[bool, bool]:
        """Serve the whole requests received: whether the connection is still usable, whether any was."""
        served = False
        while not self.next_waiting:
            try:
                taken = self.reader.take(server, self._write)
            except Refused as refused:
                self._send(refused.reply)
                return False, True
            if taken is None:
                break
            request, body = taken
            served = True
            reply = serve(server, request, body)
            if reply is None:
                self.next_waiting, self.close_after = True, request.close_after
                break
            if not self._send(reply) or request.close_after or server.closing:
                return False, True
        return True, served

    def _write(self, data: bytes) -> None:
        self._send(data)

    def _send(self, data: bytes) -> bool:
        """Write all of ``data``, waiting for room until the invocation's deadline (at least a moment)."""
        view = memoryview(data)
        limit = max(self.deadline, time.monotonic() + _MIN_SEND_SECONDS)
        try:
            while view:
                try:
                    view = view[self.sock.send(view) :]
                except BlockingIOError:
                    left = limit - time.monotonic()
                    if left <= 0 or not self._wait(self._writable, True, left):
                        return False
        except OSError:
            return False
        return True

    def _wait(self, poller: select.poll, write: bool, timeout: float) -> bool:
        """Wait until the socket is readable (writable) or ``timeout`` passes (a request greenlet yields)."""
        if cooperative.active():
            return cooperative.wait_fd(self.sock.fileno(), write=write, timeout=timeout)
        return bool(poller.poll(max(1, int(timeout * 1000))))

    def shut(self) -> None:
        """Wake the driving thread: its next read sees the end of the connection."""
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.sock.close()

    def hand_gone(self) -> None:
        """Answer the waiting /next 410: the environment closes (best effort, the child is killed next)."""
        self.deadline = time.monotonic()
        self._send(gone_reply())
