"""The event-loop Runtime API server: one loop thread for every environment, /next parked until a submit."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from selfheal.cloud.lambda_runtime_api import API_PREFIX, PendingInvocation
from selfheal.cloud.lambda_runtime_loop import LoopRuntimeApiServer

LOOP_THREAD = "lambda-runtime-api-loop"
NEXT = f"GET {API_PREFIX}/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n".encode()


def _threads(name: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == name]


@pytest.fixture
def servers() -> Iterator[list[LoopRuntimeApiServer]]:
    """Three started servers owned by this process (closed at the end)."""
    made = []
    for _ in range(3):
        server = LoopRuntimeApiServer()
        server.owner_pid = os.getpid()
        server.start()
        made.append(server)
    try:
        yield made
    finally:
        for server in made:
            server.close()


def _connect(server: LoopRuntimeApiServer) -> socket.socket:
    host, port = server.address.rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=5)


_LEFTOVER: dict[int, bytes] = {}


def _read_reply(sock: socket.socket) -> tuple[bytes, bytes]:
    """One reply (head, body), read by its Content-Length; what follows it is kept for the next call."""
    data = _LEFTOVER.pop(sock.fileno(), b"")
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed after {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(65536)
    _LEFTOVER[sock.fileno()] = body[length:]
    return head, body[:length]


def _parked(server: LoopRuntimeApiServer) -> int:
    """How many /next requests of ``server`` wait: on the loop, or handed to the environment."""
    direct = server._direct
    return len(server._waiting) + (1 if direct is not None and direct.next_waiting else 0)


def _wait_parked(server: LoopRuntimeApiServer, count: int = 1) -> None:
    deadline = time.monotonic() + 5
    while _parked(server) < count:
        assert time.monotonic() < deadline, "the /next requests never arrived"
        time.sleep(0.005)


def _invoke(server: LoopRuntimeApiServer, pending: PendingInvocation) -> threading.Thread:
    """Invoke as an environment does, in a thread: submit, then wait for the result in short steps."""

    def run() -> None:
        server.submit(pending)
        deadline = time.monotonic() + 10
        while not server.wait_done(pending, 0.05) and time.monotonic() < deadline:
            pass

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _pending(request_id: str, **extra: Any) -> PendingInvocation:
    return PendingInvocation(
        request_id=request_id, payload=b'{"n": 1}', deadline_ms=1, function_arn="arn:f", **extra
    )


def test_every_environment_shares_one_loop_thread_which_ends_with_the_last(
    servers: list[LoopRuntimeApiServer],
) -> None:
    """Three environments, five waiting /next each: one thread serves them all, none is left after close."""
    before = threading.active_count()
    sockets = [_connect(server) for server in servers for _ in range(5)]
    try:
        for sock in sockets:
            sock.sendall(NEXT)
        for server in servers:
            _wait_parked(server, 5)
        # One connection per environment was handed to it; the other four wait on the loop.
        assert all(server._direct is not None and len(server._waiting) == 4 for server in servers)
        assert len(_threads(LOOP_THREAD)) == 1
        # The peer checks ran in the loop's executor (at most a few threads), not a thread per connection.
        assert threading.active_count() - before < len(sockets)
    finally:
        for sock in sockets:
            sock.close()
        for server in servers:
            server.close()
    deadline = time.monotonic() + 5
    while _threads(LOOP_THREAD):
        assert time.monotonic() < deadline, "the loop thread outlived its last server"
        time.sleep(0.01)


def test_a_parked_next_is_answered_by_submit_and_the_result_completes_it(
    servers: list[LoopRuntimeApiServer],
) -> None:
    """/next before any invocation waits; submit answers it at once, with the headers awslambdaric reads."""
    server = servers[0]
    with _connect(server) as sock:
        sock.sendall(NEXT)
        _wait_parked(server)
        assert server.ready.is_set() and server._direct is not None
        pending = _pending(
            "r1", client_context='{"custom":{"a":"b"}}', cognito_identity='{"cognitoIdentityId":"i"}'
        )
        started = time.monotonic()
        invoker = _invoke(server, pending)
        head, body = _read_reply(sock)
        handed_over = time.monotonic() - started
        assert head.startswith(b"HTTP/1.1 200 OK\r\n") and body == b'{"n": 1}'
        assert b"\r\nLambda-Runtime-Aws-Request-Id: r1\r\n" in head
        assert b'\r\nLambda-Runtime-Client-Context: {"custom":{"a":"b"}}\r\n' in head
        assert b'\r\nLambda-Runtime-Cognito-Identity: {"cognitoIdentityId":"i"}' in head
        assert b"\r\nLambda-Runtime-Trace-Id: Root=1-" in head
        sock.sendall(
            f"POST {API_PREFIX}/invocation/r1/response HTTP/1.1\r\nContent-Length: 4\r\n\r\n".encode()
        )
        sock.sendall(b'"ok"')
        head, body = _read_reply(sock)
    invoker.join(10)
    assert head.startswith(b"HTTP/1.1 202 Accepted\r\n")
    # Answered by the invoking thread on the handed-over connection, which is parked again for the next one.
    assert server._direct is not None and server._drive is None
    assert pending.done.wait(5) and pending.response == b'"ok"' and not pending.error
    # Handed over by the loop, not found by a poll every 0.5 s (generous: the machine is shared).
    assert handed_over < 0.4, handed_over


def test_closing_answers_a_waiting_next_410_and_frees_the_port(servers: list[LoopRuntimeApiServer]) -> None:
    """close() answers the waiting runtime 410 EnvironmentClosing, closes its connection and the listener."""
    server = servers[1]
    with _connect(server) as sock:
        sock.sendall(NEXT)
        _wait_parked(server)
        server.close()
        head, body = _read_reply(sock)
        assert head.startswith(b"HTTP/1.1 410 Gone\r\n")
        assert json.loads(body) == {"errorType": "EnvironmentClosing"}
        assert sock.recv(1) == b""
    assert server._socket.fileno() == -1
    with pytest.raises(ConnectionRefusedError):
        _connect(server).close()


def test_a_request_sent_during_the_wait_is_served_after_the_answer(
    servers: list[LoopRuntimeApiServer],
) -> None:
    """Bytes that arrive while /next waits are kept and served in order once it is answered."""
    server = servers[2]
    pending = _pending("r2")
    with _connect(server) as sock:
        sock.sendall(
            NEXT + f"POST {API_PREFIX}/invocation/r2/error HTTP/1.1\r\nContent-Length: 2\r\n\r\n{{}}".encode()
        )
        _wait_parked(server)
        invoker = _invoke(server, pending)
        first, _ = _read_reply(sock)
        second, _ = _read_reply(sock)
        invoker.join(10)
    assert first.startswith(b"HTTP/1.1 200 ") and second.startswith(b"HTTP/1.1 202 ")
    assert pending.done.is_set() and pending.error and pending.response == b"{}"


def test_a_slow_peer_check_does_not_hold_up_other_environments(
    servers: list[LoopRuntimeApiServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The psutil check runs off the loop: while one environment's takes a second, another serves at once."""
    slow, fast = servers[0], servers[1]
    assert slow._owner is not None
    checked = slow._owner.net_connections
    release = threading.Event()

    def slow_check(kind: str = "inet") -> list[Any]:
        release.wait(5)
        return checked(kind)

    monkeypatch.setattr(slow._owner, "net_connections", slow_check)
    waiting = _connect(slow)
    try:
        fast.submit(_pending("r3"))
        with _connect(fast) as sock:
            sock.sendall(NEXT)
            started = time.monotonic()
            head, _ = _read_reply(sock)
        assert head.startswith(b"HTTP/1.1 200 ")
        assert time.monotonic() - started < 2.5
    finally:
        release.set()
        waiting.close()


def test_more_connections_than_the_bound_are_closed_unread(servers: list[LoopRuntimeApiServer]) -> None:
    """An environment holds 8 connections at once; the 9th is refused and counted."""
    server = servers[0]
    held = [_connect(server) for _ in range(8)]
    try:
        deadline = time.monotonic() + 5
        while len(server._connections) < 8:
            assert time.monotonic() < deadline
            time.sleep(0.005)
        with _connect(server) as extra:
            extra.sendall(NEXT)
            with contextlib.suppress(ConnectionResetError):
                assert extra.recv(65536) == b""
        assert server.refused_connections == 1
    finally:
        for sock in held:
            sock.close()


def test_a_server_closed_before_its_start_releases_its_socket() -> None:
    """An environment given up before its start closes its listening socket without a loop."""
    server = LoopRuntimeApiServer()
    server.close()
    assert server._socket.fileno() == -1
    assert not _threads(LOOP_THREAD) or all(t.daemon for t in _threads(LOOP_THREAD))


def test_an_unknown_runtime_api_choice_is_refused_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """SELFHEAL_RUNTIME_API names one of the two servers; anything else is a clear error, not a fallback."""
    from selfheal.cloud import lambda_runtime

    monkeypatch.setenv(lambda_runtime.RUNTIME_API_VARIABLE, "fibers")
    with pytest.raises(ValueError, match=r"^SELFHEAL_RUNTIME_API='fibers': expected one of loop, threads$"):
        lambda_runtime._runtime_api_server()
    monkeypatch.setenv(lambda_runtime.RUNTIME_API_VARIABLE, "threads")
    assert lambda_runtime._runtime_api_server() is lambda_runtime.ThreadedRuntimeApiServer
    monkeypatch.delenv(lambda_runtime.RUNTIME_API_VARIABLE)
    assert lambda_runtime._runtime_api_server() is LoopRuntimeApiServer


def test_runtime_api_and_front_connections_send_without_nagle(servers: list[LoopRuntimeApiServer]) -> None:
    """Both servers' accepted sockets have TCP_NODELAY (asyncio sets it only on IPPROTO_TCP sockets)."""
    from selfheal.cloud.front import AsyncWSGIServer

    server = servers[0]
    with _connect(server) as sock:
        sock.sendall(NEXT)
        _wait_parked(server)
        assert server._direct is not None
        assert server._direct.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]

    front = AsyncWSGIServer("127.0.0.1", 0, app)
    runner = threading.Thread(target=front.serve_forever, daemon=True)
    runner.start()
    try:
        with socket.create_connection(("127.0.0.1", front.server_port), timeout=5) as client:
            client.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert client.recv(65536).startswith(b"HTTP/1.1 200")
            with front._lock:
                [connection] = front._connections
            assert connection._transport is not None
            served = connection._transport.get_extra_info("socket")
            assert served.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        front.shutdown()
        front.server_close()
        runner.join(10)
