"""Requests served on the front's event loop, each in a greenlet: the waits on their path yield to the loop.

The asyncio front runs most requests in its thread pool, but the HTTP API data plane's and the operator's
Lambda ``Invoke`` on its loop thread, each in its own greenlet (:func:`spawn`; the ``greenlet`` package's
stack switching, as gevent and SQLAlchemy's asyncio layer use it). The code on that path stays plain
blocking code: the few places where it waits call the helpers below, which in a request greenlet park it
on the loop (an fd watched, a timer) and let the loop serve other connections, and anywhere else block the
calling thread as before. A request then
costs the cloud process two wake-ups (the client's bytes, the runtime's answer) instead of a hand-off to a
pool thread and back.

Rules for code that may run in a request greenlet: hold no lock across a call to these helpers (another
greenlet of the same thread would block on it forever), and send anything that may block for long
(starting or closing an environment) to :func:`off_loop`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

import greenlet

__all__ = ["active", "off_loop", "sleep", "spawn", "wait_event", "wait_fd"]

_LOG = logging.getLogger("selfheal.cloud.front")
_T = TypeVar("_T")
Offload = Callable[..., "concurrent.futures.Future[Any]"]


# Finished request greenlets kept for the next requests of their loop: a new greenlet costs a fresh frame
# stack (CPython maps 16 KiB for it and unmaps it when the greenlet ends: a syscall pair and page faults
# per request).
_IDLE_KEPT = 32
_idle: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, list[_Request]] = weakref.WeakKeyDictionary()


class _Request(greenlet.greenlet):  # type: ignore[misc]
    """A greenlet serving requests on ``loop``, one at a time; ``offload`` runs a call in the front's pool."""

    def __init__(self, loop: asyncio.AbstractEventLoop, offload: Offload) -> None:
        super().__init__(self._serve)
        self.loop = loop
        self.offload = offload
        self.job: tuple[Callable[..., None], tuple[Any, ...]] | None = None
        self.waiting: object | None = None  # what the greenlet is parked for (see _resume)

    def _serve(self) -> None:
        while self.job is not None:
            function, args = self.job
            self.job = None
            try:
                function(*args)
            except Exception:  # a request greenlet must not raise into the loop's callback
                _LOG.exception("error in a request served on the event loop")
            idle = _idle.setdefault(self.loop, [])
            if len(idle) >= _IDLE_KEPT:
                return  # ends: the pool is full
            idle.append(self)
            self.parent.switch()  # parked until spawn() gives it the next job


def spawn(
    loop: asyncio.AbstractEventLoop, offload: Offload, function: Callable[..., None], *args: Any
) -> None:
    """Run ``function(*args)`` in a request greenlet, now, until it finishes or first waits.

    Call on the loop's thread, from a callback of the loop (not from a request greenlet): the greenlet's
    parent is that thread's main greenlet, to which it returns whenever it waits.
    """
    idle = _idle.get(loop)
    request = idle.pop() if idle else _Request(loop, offload)
    request.job = (function, args)
    request.switch()


def active() -> bool:
    """Whether the caller runs in a request greenlet (its waits must yield to the loop)."""
    return isinstance(greenlet.getcurrent(), _Request)


def _current() -> _Request:
    current = greenlet.getcurrent()
    assert isinstance(current, _Request), "only a request greenlet can yield to the loop"
    return current


def _resume(request: _Request, wait: object, value: object) -> None:
    # Only the wait it was made for: a late callback (a timer that fired with the fd, a pool call that ended
    # before its greenlet parked) must not wake the greenlet in a later wait, or in the idle pool.
    if request.waiting is wait and not request.dead:
        request.switch(value)


def _park(request: _Request, wait: object) -> Any:
    """Give the loop back until a callback resumes ``request`` for ``wait``; what that callback passed."""
    request.waiting = wait
    try:
        return request.parent.switch()
    finally:
        request.waiting = None


def wait_fd(fd: int, *, write: bool = False, timeout: float) -> bool:
    """In a request greenlet: wait until ``fd`` is readable (writable) or for ``timeout`` seconds; which."""
    request = _current()
    loop = request.loop
    watch = loop.add_writer if write else loop.add_reader
    unwatch = loop.remove_writer if write else loop.remove_reader
    wait = object()
    watch(fd, _resume, request, wait, True)
    timer = loop.call_later(max(0.0, timeout), _resume, request, wait, False)
    try:
        return bool(_park(request, wait))
    finally:
        unwatch(fd)
        timer.cancel()


def sleep(seconds: float) -> None:
    """Sleep, yielding to the loop in a request greenlet."""
    if not active():
        time.sleep(seconds)
        return
    request = _current()
    wait = object()
    timer = request.loop.call_later(max(0.0, seconds), _resume, request, wait, None)
    try:
        _park(request, wait)
    finally:
        timer.cancel()


def wait_event(event: threading.Event, timeout: float) -> bool:
    """``event.wait(timeout)``, polled every millisecond in a request greenlet (a rare path: see callers)."""
    if not active():
        return event.wait(timeout)
    deadline = time.monotonic() + timeout
    while not event.is_set():
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        sleep(min(0.001, left))
    return True


def off_loop(function: Callable[..., _T], *args: Any) -> _T:
    """``function(*args)``, run in the front's pool while a request greenlet yields; elsewhere, directly."""
    if not active():
        return function(*args)
    request = _current()
    loop = request.loop
    future: concurrent.futures.Future[_T] = request.offload(function, *args)
    wait = object()

    def done(_: object) -> None:
        # RuntimeError: the loop has stopped, and the request is abandoned with it.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_resume, request, wait, None)

    future.add_done_callback(done)
    while not future.done():
        _park(request, wait)
    return future.result()
