"""An environment's child output: one pipe, read by the invoking thread while an invocation runs and by a
reader thread in between.

Every line goes to the environment's log (``log_line``) and, during an invocation, to its tail (what
``LogType=Tail`` returns). While an invocation runs, its thread reads the output itself: at the end, so that
the tail is whole before ``END``, and every time it wakes to check on the child (:meth:`ChildOutput.drain`),
so that a function writing more than the pipe holds is not blocked for long. Meanwhile the reader thread's
wait is muted (on Linux: its epoll is left without events), since it would otherwise wake, and take the
GIL, at every line the function writes. Between invocations (initialisation, a function's own threads) the
reader thread ships what the child writes; the pipe's end (the child's exit) wakes it even when muted.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import threading
from collections.abc import Callable
from typing import IO

__all__ = ["ChildOutput"]

# The pipe's size (Linux's default is 64 KiB): room for what a function writes between two drains.
_PIPE_BYTES = 256 * 1024
# At most this much is read per drain; the reader thread takes the rest.
_DRAIN_BYTES = 4 * 1024 * 1024
_CHUNK = 65536


class ChildOutput:
    """The child's stdout (and stderr): its lines to ``log_line``, an invocation's lines to its tail."""

    def __init__(self, log_line: Callable[[str], None]) -> None:
        self._log_line = log_line
        self._lock = threading.Lock()  # one reader at a time: lines stay whole and in order
        self._partial = b""  # what the child wrote after its last newline
        self._tail: list[str] | None = None
        self._stream: IO[bytes] | None = None
        self._watch: select.epoll | None = None
        self._reader: threading.Thread | None = None

    def attach(self, stream: IO[bytes]) -> None:
        """Read ``stream``, the child's output pipe (made non-blocking: both readers only try)."""
        fd = stream.fileno()
        os.set_blocking(fd, False)
        if hasattr(fcntl, "F_SETPIPE_SZ"):
            with contextlib.suppress(OSError):
                fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
        if hasattr(select, "epoll"):
            watch = select.epoll()
            watch.register(fd, select.EPOLLIN)
            self._watch = watch
        self._stream = stream

    def start_reader(self, name: str, exited: Callable[[], bool]) -> None:
        """Ship the output between invocations in a thread named ``name``, until the pipe's end (or, if the
        child has ``exited`` but something else holds the pipe, until it is empty)."""
        self._reader = threading.Thread(target=self._read, args=(exited,), name=name, daemon=True)
        self._reader.start()

    def begin(self) -> None:
        """An invocation starts: collect its tail, and leave the reading to its thread."""
        self._mute(True)
        self._tail = []

    def drain(self) -> None:
        """Emit every whole line the child wrote so far (in the invoking thread)."""
        fd = self._fd()
        if fd is None:
            return
        for _ in range(_DRAIN_BYTES // _CHUNK):
            if not self._consume(fd, drain=True):
                return

    def end(self) -> list[str]:
        """The invocation is over: its tail, once what the child wrote is read; the reader thread ships what
        comes next."""
        self.drain()
        self._mute(False)
        tail, self._tail = self._tail or [], None
        return tail

    def close(self) -> None:
        """Wait for the reader thread (it ends at the pipe's end: call once the child is gone), close the
        pipe."""
        reader = self._reader
        # ident is None while start_reader() has created the reader but not started it yet (close() from
        # stop() can come in between); that reader finds the pipe closed and ends at once.
        if reader is not None and reader is not threading.current_thread() and reader.ident is not None:
            reader.join(timeout=2)
        if self._stream is not None:
            self._stream.close()
        watch, self._watch = self._watch, None
        if watch is not None:
            watch.close()

    def _fd(self) -> int | None:
        stream = self._stream
        if stream is None:
            return None
        try:
            return stream.fileno()
        except ValueError:
            return None  # closed

    def _mute(self, muted: bool) -> None:
        # The pipe's end still wakes a muted reader: epoll reports a hang-up whatever it was asked for.
        watch, fd = self._watch, self._fd()
        if watch is None or fd is None:
            return
        with contextlib.suppress(OSError, ValueError):  # closed meanwhile
            watch.modify(fd, 0 if muted else select.EPOLLIN)

    def _read(self, exited: Callable[[], bool]) -> None:
        fd = self._fd()
        if fd is None:
            return  # closed already: close() ran before this thread started
        watch = self._watch
        while True:
            try:
                if watch is not None:
                    readable = bool(watch.poll(0.5))
                else:
                    readable = bool(select.select([fd], [], [], 0.5)[0])
            except (OSError, ValueError):
                return  # closed by close() under this thread
            if not readable:
                try:
                    if exited() and not select.select([fd], [], [], 0)[0]:
                        return
                except (OSError, ValueError):
                    return
                continue
            if not self._consume(fd):
                return

    def _consume(self, fd: int, *, drain: bool = False) -> bool:
        """Read what the child wrote and emit its whole lines; False at the end of the output, or (``drain``)
        when what is there now has been read: a read that did not fill its buffer took all the pipe held."""
        with self._lock:
            try:
                chunk = os.read(fd, _CHUNK)
            except BlockingIOError:
                return not drain  # the other reader took it first, or nothing was written
            except OSError:
                return False  # closed meanwhile
            if not chunk:
                if self._partial:
                    self._emit(self._partial)
                    self._partial = b""
                return False
            *lines, self._partial = (self._partial + chunk).split(b"\n")
            for line in lines:
                self._emit(line)
            return not drain or len(chunk) == _CHUNK

    def _emit(self, raw: bytes) -> None:
        line = raw.decode("utf-8", "replace").rstrip("\r")
        if self._tail is not None:
            self._tail.append(line)
        self._log_line(line)
