"""cooperative: request greenlets on an event loop yield where they wait; elsewhere the helpers block."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from selfheal.cloud import cooperative


def _run_on_loop(*bodies: Any, seconds: float = 5.0) -> None:
    """Spawn each body as a request greenlet on a fresh loop and run the loop until all have finished."""
    loop = asyncio.new_event_loop()
    pool = ThreadPoolExecutor(2)
    left = [len(bodies)]

    def finished() -> None:
        left[0] -= 1
        if not left[0]:
            loop.stop()

    def wrap(body: Any) -> None:
        try:
            body()
        finally:
            loop.call_soon(finished)

    for body in bodies:
        loop.call_soon(cooperative.spawn, loop, pool.submit, wrap, body)
    loop.call_later(seconds, loop.stop)
    try:
        loop.run_forever()
    finally:
        loop.close()
        pool.shutdown()
    assert not left[0], "a request greenlet did not finish"


def test_outside_a_request_greenlet_the_helpers_block_in_the_caller() -> None:
    assert cooperative.active() is False
    caller = threading.get_ident()
    assert cooperative.off_loop(threading.get_ident) == caller
    started = time.monotonic()
    cooperative.sleep(0.05)
    assert time.monotonic() - started >= 0.05
    event = threading.Event()
    assert cooperative.wait_event(event, 0.01) is False


def test_waiting_requests_interleave_on_one_thread() -> None:
    """The request waiting on the socket written second is resumed first; both ran on the loop's thread."""
    first_r, first_w = socket.socketpair()
    second_r, second_w = socket.socketpair()
    order: list[str] = []
    threads: set[int] = set()

    def waiter(name: str, sock: socket.socket) -> Any:
        def body() -> None:
            assert cooperative.active()
            threads.add(threading.get_ident())
            assert cooperative.wait_fd(sock.fileno(), timeout=5)
            order.append(name)

        return body

    def writer() -> None:
        cooperative.sleep(0.05)
        second_w.send(b"x")
        cooperative.sleep(0.05)
        first_w.send(b"x")

    _run_on_loop(waiter("first", first_r), waiter("second", second_r), writer)
    assert order == ["second", "first"]
    assert len(threads) == 1
    for sock in (first_r, first_w, second_r, second_w):
        sock.close()


def test_a_wait_times_out_with_false() -> None:
    quiet, other = socket.socketpair()
    seen: list[bool] = []
    _run_on_loop(lambda: seen.append(cooperative.wait_fd(quiet.fileno(), timeout=0.05)))
    assert seen == [False]
    quiet.close()
    other.close()


def test_off_loop_runs_in_the_pool_and_returns_or_raises_there() -> None:
    loop_thread: list[int] = []
    results: list[Any] = []

    def body() -> None:
        loop_thread.append(threading.get_ident())
        results.append(cooperative.off_loop(threading.get_ident))
        with pytest.raises(ZeroDivisionError):
            cooperative.off_loop(lambda: 1 / 0)
        results.append("raised")

    _run_on_loop(body)
    assert results[0] != loop_thread[0]
    assert results[1] == "raised"


def test_a_request_that_raises_is_logged_not_raised_into_the_loop(caplog: pytest.LogCaptureFixture) -> None:
    def body() -> None:
        raise RuntimeError("broken request")

    with caplog.at_level(logging.ERROR, logger="selfheal.cloud.front"):
        _run_on_loop(body)
    assert "error in a request served on the event loop" in caplog.text
    assert "broken request" in caplog.text


def test_wait_event_in_a_request_greenlet_lets_others_run() -> None:
    event = threading.Event()
    seen: list[str] = []

    def waiter() -> None:
        seen.append("waiting")
        assert cooperative.wait_event(event, 2.0)
        seen.append("set")

    def setter() -> None:
        seen.append("setter ran")
        event.set()

    _run_on_loop(waiter, setter)
    assert seen == ["waiting", "setter ran", "set"]


def test_finished_request_greenlets_are_reused_for_the_next_requests() -> None:
    import greenlet

    seen: list[int] = []
    loop = asyncio.new_event_loop()
    pool = ThreadPoolExecutor(1)

    def body() -> None:
        seen.append(id(greenlet.getcurrent()))

    for _ in range(3):
        loop.call_soon(cooperative.spawn, loop, pool.submit, body)
    loop.call_soon(loop.stop)
    loop.run_forever()
    loop.close()
    pool.shutdown()
    assert len(seen) == 3 and len(set(seen)) == 1


def test_a_late_wake_up_does_not_cut_a_later_wait_short() -> None:
    """A wake-up meant for an earlier wait (a pool call that ended before its greenlet parked, a timer that
    fired with the fd) is ignored by the wait under way and by an idle greenlet."""
    import greenlet

    slept: list[float] = []

    def body() -> None:
        request = greenlet.getcurrent()
        loop = asyncio.get_event_loop()
        loop.call_later(0.05, cooperative._resume, request, object(), "stale")
        started = time.monotonic()
        cooperative.sleep(0.2)
        slept.append(time.monotonic() - started)

    _run_on_loop(body)
    assert slept and slept[0] >= 0.19
