"""The data plane's CPU cuts keep their semantics: the Runtime API's direct connection (non-blocking socket,
polled only when it must wait), the HTTP API event's one compact JSON encoding, and the Lambda totals kept
in place."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from selfheal.clock import Clock
from selfheal.cloud.lambda_runtime_api import PendingInvocation
from selfheal.cloud.lambda_runtime_direct import DirectConnection
from selfheal.cloud.lambda_runtime_http import RequestReader
from selfheal.cloud.metrics import FunctionTotals, MetricsPublisher

T0 = 1_800_000_000.0


class _Server:
    """The Runtime API server a direct connection serves: one queued invocation, results kept."""

    closing = False

    def __init__(self, pending: PendingInvocation | None) -> None:
        self.pending = pending
        self.results: list[tuple[str, bytes, bool]] = []

    def take_next(self) -> PendingInvocation | None:
        pending, self.pending = self.pending, None
        return pending


def _pending(payload: bytes) -> PendingInvocation:
    return PendingInvocation(
        request_id="r-1",
        payload=payload,
        deadline_ms=int((time.time() + 30) * 1000),
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:f",
    )


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    ours, runtime = socket.socketpair()
    yield ours, runtime
    ours.close()
    runtime.close()


def _read_all(sock: socket.socket, into: bytearray, stop: threading.Event) -> None:
    sock.settimeout(0.2)
    while not stop.is_set():
        try:
            chunk = sock.recv(1 << 16)
        except TimeoutError:
            continue
        except OSError:
            return
        if not chunk:
            return
        into += chunk
        time.sleep(0.001)  # a slow reader: the sender meets a full buffer


def test_an_event_larger_than_the_socket_buffer_is_sent_whole(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    ours, runtime = pair
    payload = b"x" * (6 * 1024 * 1024)
    connection = DirectConnection(ours, RequestReader(), close_after=False)
    received = bytearray()
    stop = threading.Event()
    reader = threading.Thread(target=_read_all, args=(runtime, received, stop))
    reader.start()
    try:
        assert connection.hand(_Server(_pending(payload)), time.monotonic() + 30)  # type: ignore[arg-type]
        deadline = time.monotonic() + 30
        while not received.endswith(payload) and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        stop.set()
        reader.join()
    head, _, body = bytes(received).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert b"Lambda-Runtime-Aws-Request-Id: r-1" in head
    assert body == payload


def test_a_runtime_that_reads_nothing_fails_the_send_by_the_deadline(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    ours, _runtime = pair
    connection = DirectConnection(ours, RequestReader(), close_after=False)
    started = time.monotonic()
    sent = connection.hand(_Server(_pending(b"y" * (8 * 1024 * 1024))), started + 0.3)  # type: ignore[arg-type]
    elapsed = time.monotonic() - started
    assert sent is False
    assert 0.2 <= elapsed < 5.0


def test_step_waits_for_the_runtime_then_sees_it_hang_up(pair: tuple[socket.socket, socket.socket]) -> None:
    ours, runtime = pair
    connection = DirectConnection(ours, RequestReader(), close_after=False)
    server = _Server(_pending(b"{}"))
    assert connection.hand(server, time.monotonic() + 5)  # type: ignore[arg-type]
    started = time.monotonic()
    assert connection.step(server, 0.1) is True  # type: ignore[arg-type]  # nothing yet: still usable
    assert time.monotonic() - started >= 0.09
    runtime.shutdown(socket.SHUT_RDWR)
    assert connection.step(server, 1.0) is False  # type: ignore[arg-type]


def test_totals_count_every_record_in_place() -> None:
    publisher = MetricsPublisher(Clock(1.0, origin=T0, real_time=lambda: T0), lambda: None)
    assert publisher.snapshot() == {}
    publisher.record_concurrency("f", 2)
    publisher.record_invocation("f", 10.0, error=False)
    publisher.record_invocation("f", 30.0, error=True)
    publisher.record_throttle("f")
    publisher.record_concurrency("f", 1)
    publisher.record_invocation("g", 5.0, error=False)
    before = publisher.snapshot()
    assert before == {
        "f": FunctionTotals(
            invocations=2,
            errors=1,
            throttles=1,
            duration_ms_sum=40.0,
            duration_ms_max=30.0,
            concurrent_executions=1,
        ),
        "g": FunctionTotals(invocations=1, duration_ms_sum=5.0, duration_ms_max=5.0),
    }
    publisher.record_invocation("f", 1.0, error=False)
    # A snapshot is a copy: later records do not change it.
    assert before["f"].invocations == 2
    assert publisher.snapshot()["f"].invocations == 3
