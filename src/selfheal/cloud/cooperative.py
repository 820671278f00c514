"""Requests served on the front's event loop, each in a greenlet: the waits on their path yield to the loop.

The asyncio front runs most requests in its thread pool, but the HTTP API data plane's on its loop thread,
each in its own greenlet (:func:`spawn`; the ``greenlet`` package's stack switching, as gevent and
SQLAlchemy's asyncio layer use it). The code on that path stays plain blocking code: the few places where it
waits call the helpers below, which in a request greenlet park it on the loop (an fd watched, a timer) and
let the loop serve other connections, and anywhere else block the calling thread as before. A request then
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
from collections.abc import Callable
from typing import Any, TypeVar

import greenlet

__all__ = ["active", "off_loop", "sleep", "spawn", "wait_event", "wait_fd"]

_LOG = logging.getLogger("selfheal.cloud.front")
_T = TypeVar("_T")
Offload = Callable[..., "concurrent.futures.Future[Any]"]


class _Request(greenlet.greenlet):  # type: ignore[misc]
    """A greenlet serving one request on ``loop``; ``offload`` runs a call in the front's pool."""

    def __init__(self, run: Callable[[], None], loop: asyncio.AbstractEventLoop, offload: Offload) -> None:
        super().__init__(run)
        self.loop = loop
        self.offload = offload


def spawn(
    loop: asyncio.AbstractEventLoop, offload: Offload, function: Callable[..., None], *args: Any
) -> None:
    """Run ``function(*args)`` in a new request greenlet, now, until it finishes or first waits.

    Call on the loop's thread, from a callback of the loop (not from another request greenlet): the
    greenlet's parent is the caller's, to which it returns whenever it waits.
    """

    def run() -> None:
        try:
            function(*args)
        except Exception:  # a request greenlet must not raise into the loop's callback
            _LOG.exception("error in a request served on the event loop")

    _Request(run, loop, offload).switch()


def active() -> bool:
    """Whether the caller runs in a request greenlet (its waits must yield to the loop)."""
    return isinstance(greenlet.getcurrent(), _Request)


def _current() -> _Request:
    current = greenlet.getcurrent()
    assert isinstance(current, _Request), "only a request greenlet can yield to the loop"
    return current


def _resume(request: _Request, value: object) -> None:
    if not request.dead:
        request.switch(value)


def _park(request: _Request) -> Any:
    """Give the loop back until a callback resumes ``request``; what that callback passed."""
    return request.parent.switch()


def wait_fd(fd: int, *, write: bool = False, timeout: float) -> bool:
    """In a request greenlet: wait until ``fd`` is readable (writable) or for ``timeout`` seconds; which."""
    request = _current()
    loop = request.loop
    watch = loop.add_writer if write else loop.add_reader
    unwatch = loop.remove_writer if write else loop.remove_reader
    watch(fd, _resume, request, True)
    timer = loop.call_later(max(0.0, timeout), _resume, request, False)
    try:
        return bool(_park(request))
    finally:
        unwatch(fd)
        timer.cancel()


def sleep(seconds: float) -> None:
    """Sleep, yielding to the loop in a request greenlet."""
    if not active():
        time.sleep(seconds)
        return
    request = _current()
    timer = request.loop.call_later(max(0.0, seconds), _resume, request, None)
    try:
        _park(request)
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

    def done(_: object) -> None:
        # RuntimeError: the loop has stopped, and the request is abandoned with it.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_resume, request, None)

    future.add_done_callback(done)
    while not future.done():
        _park(request)
    return future.result()
