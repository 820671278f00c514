"""The invoke hot path's cheap checks: liveness through a pidfd, the Runtime API's lean request parsing."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from selfheal.cloud.lambda_runtime import API_PREFIX, ExecutionEnvironment, RuntimeApiServer
from selfheal.cloud.lambda_runtime_api import PendingInvocation


class _BusyPoll:
    """A Popen whose poll() answers None, as Popen does while another thread holds its waitpid lock."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def poll(self) -> None:
        return None


@pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="needs pidfds (Linux 5.3+)")
def test_a_dead_child_is_not_alive_through_its_pidfd_when_poll_cannot_tell() -> None:
    """With a pidfd watched, an exited child counts as dead although poll() said nothing."""
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    environment = object.__new__(ExecutionEnvironment)
    environment._process = _BusyPoll(child.pid)  # type: ignore[assignment]
    environment._watch_exit(child.pid)
    try:
        assert environment._exit_watch is not None
        assert environment.alive is True
        assert child.stdin is not None
        child.stdin.close()
        deadline = time.monotonic() + 10
        while environment.alive:
            assert time.monotonic() < deadline, "the exit was never seen"
            time.sleep(0.01)
    finally:
        child.wait()
        if environment._pidfd is not None:
            os.close(environment._pidfd)


@pytest.fixture
def api() -> Iterator[RuntimeApiServer]:
    """A Runtime API server whose owner is this test process."""
    server = RuntimeApiServer()
    server.owner_pid = os.getpid()
    server.start()
    try:
        yield server
    finally:
        server.close()


def _exchange(address: str, request: bytes) -> bytes:
    host, port = address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(request)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except TimeoutError:
            pass
    return received


def _status(raw: bytes) -> int:
    return int(raw.split(b" ", 2)[1])


def test_one_connection_carries_the_whole_exchange(api: RuntimeApiServer) -> None:
    """/next, then the response, on one kept-alive connection; header names in any case."""
    pending = PendingInvocation(request_id="r1", payload=b'{"k": 1}', deadline_ms=7, function_arn="arn:f")
    api.submit(pending)
    host, port = api.address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(f"GET {API_PREFIX}/invocation/next HTTP/1.1\r\nhost: x\r\n\r\n".encode())
        head = b""
        while not head.endswith(b'{"k": 1}'):
            head += sock.recv(65536)
        assert head.startswith(b"HTTP/1.1 200 OK\r\n")
        assert b"\r\nLambda-Runtime-Aws-Request-Id: r1\r\n" in head
        assert b"\r\nLambda-Runtime-Deadline-Ms: 7\r\n" in head
        assert b"\r\nContent-Length: 8\r\n" in head and b"\r\nDate: " in head
        sock.sendall(
            f"POST {API_PREFIX}/invocation/r1/response HTTP/1.1\r\nCONTENT-length: 4\r\n\r\n".encode()
        )
        sock.sendall(b'"ok"')
        reply = b""
        while not reply.endswith(b'{"status":"OK"}'):
            reply += sock.recv(65536)
    assert reply.startswith(b"HTTP/1.1 202 Accepted\r\n")
    assert pending.done.is_set() and pending.response == b'"ok"' and not pending.error


def test_the_first_of_a_repeated_header_wins(api: RuntimeApiServer) -> None:
    """As http.server reads headers: a second Content-Length does not change the body read."""
    pending = PendingInvocation(request_id="r2", payload=b"{}", deadline_ms=0, function_arn="arn:f")
    api.submit(pending)
    request = (
        f"POST {API_PREFIX}/invocation/r2/error HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 9\r\n"
        "Connection: close\r\n\r\n{}"
    )
    assert _status(_exchange(api.address, request.encode())) == 202
    assert pending.response == b"{}" and pending.error


@pytest.mark.parametrize(
    ("head", "status"),
    [
        ("GET /x HTTP/1.1\r\n" + "".join(f"X-{i}: y\r\n" for i in range(101)) + "\r\n", 431),
        ("GET /x HTTP/1.1\r\nX-Long: " + "y" * 70_000 + "\r\n\r\n", 431),
        ("GET /x HTTP/1.1\r\nno colon here\r\n\r\n", 400),
        ("GET /x HTTP/2.0\r\n\r\n", 505),
        ("GET /x FTP/1.1\r\n\r\n", 400),
    ],
    ids=["too-many-headers", "header-line-too-long", "no-colon", "http-2", "not-http"],
)
def test_a_malformed_request_head_is_refused(api: RuntimeApiServer, head: str, status: int) -> None:
    """A head http.server would refuse is refused with the same status, and nothing is taken."""
    pending = PendingInvocation(request_id="r3", payload=b"{}", deadline_ms=0, function_arn="arn:f")
    api.submit(pending)
    assert _status(_exchange(api.address, head.encode())) == status
    assert not pending.done.is_set()


def test_a_server_that_never_served_closes_at_once() -> None:
    """Closing an environment given up before its start does not wait for a serve loop that never ran."""
    server = RuntimeApiServer()
    closer = threading.Thread(target=server.close, daemon=True)
    closer.start()
    closer.join(timeout=5)
    assert not closer.is_alive(), "close() waited for a serve loop that never started"
