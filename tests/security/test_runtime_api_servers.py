"""Both Runtime API servers (event loop, the default, and threaded) keep the same guards mid-invocation.

With the event-loop server, the runtime's connection is handed to its environment once its ``/next``
waits, and the invoking thread answers it directly. These tests run an invocation the way an environment
does (submit, then wait in short steps) with this test process as the runtime, and check on both servers
that a foreign process still cannot answer it, and that an oversize or malformed response is refused on
the connection that carries the invocation.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from selfheal.cloud.lambda_runtime_api import API_PREFIX, MAX_PAYLOAD_BYTES, PendingInvocation
from selfheal.cloud.lambda_runtime_api import RuntimeApiServer as ThreadedRuntimeApiServer
from selfheal.cloud.lambda_runtime_loop import LoopRuntimeApiServer

pytestmark = pytest.mark.timeout(60)

Server = LoopRuntimeApiServer | ThreadedRuntimeApiServer
FORGE_SCRIPT = """
import socket, sys
host, port = sys.argv[1].rsplit(":", 1)
body = b'"forged"'
with socket.create_connection((host, int(port)), timeout=2) as sock:
    sock.sendall(f"POST {sys.argv[2]} HTTP/1.1\\r\\nContent-Length: {len(body)}\\r\\n\\r\\n".encode() + body)
    try:
        print("served" if sock.recv(65536) else "closed")
    except ConnectionError:
        print("closed")
    except TimeoutError:
        print("timeout")
"""


@pytest.fixture(params=[LoopRuntimeApiServer, ThreadedRuntimeApiServer], ids=["loop", "threads"])
def api(request: pytest.FixtureRequest) -> Iterator[Server]:
    """A started server of each kind whose runtime process is this test process."""
    server: Server = request.param()
    server.owner_pid = os.getpid()
    server.start()
    try:
        yield server
    finally:
        server.close()


def _connect(server: Server) -> socket.socket:
    host, port = server.address.rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=5)


def _reply(sock: socket.socket) -> bytes:
    """One reply's head and body (its Content-Length read)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def _in_flight(
    server: Server, sock: socket.socket, request_id: str
) -> tuple[PendingInvocation, threading.Thread]:
    """Ask /next, invoke as an environment does, read the invocation: it is now the runtime's to answer."""
    sock.sendall(f"GET {API_PREFIX}/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert server.ready.wait(5)
    if isinstance(server, LoopRuntimeApiServer):
        # The connection is handed to the environment: the invoking thread itself answers it.
        deadline = time.monotonic() + 5
        while server._direct is None:
            assert time.monotonic() < deadline, "the connection was never handed over"
            time.sleep(0.005)
    pending = PendingInvocation(request_id=request_id, payload=b"{}", deadline_ms=0, function_arn="arn:f")

    def invoke() -> None:
        server.submit(pending)
        deadline = time.monotonic() + 15
        while not server.wait_done(pending, 0.05) and time.monotonic() < deadline:
            pass

    invoker = threading.Thread(target=invoke, daemon=True)
    invoker.start()
    assert f"Lambda-Runtime-Aws-Request-Id: {request_id}\r\n".encode() in _reply(sock)
    return pending, invoker


def test_a_foreign_process_cannot_answer_an_invocation_in_flight(api: Server) -> None:
    """A spawned process posting a forged response is cut off; the runtime's own answer is the result."""
    with _connect(api) as sock:
        pending, invoker = _in_flight(api, sock, "req-forge")
        forger = subprocess.run(
            [sys.executable, "-c", FORGE_SCRIPT, api.address, f"{API_PREFIX}/invocation/req-forge/response"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        assert not pending.done.is_set()
        sock.sendall(
            f"POST {API_PREFIX}/invocation/req-forge/response HTTP/1.1\r\nContent-Length: 6\r\n\r\n".encode()
        )
        sock.sendall(b'"mine"')
        assert _reply(sock).startswith(b"HTTP/1.1 202 ")
        invoker.join(10)
    assert forger.stdout.strip() == "closed", forger
    assert api.refused_connections == 1
    assert pending.done.is_set() and pending.response == b'"mine"' and not pending.error


def test_an_oversize_response_in_flight_is_refused_and_fails_the_invocation(api: Server) -> None:
    """Above 6 MB: 413 RequestEntityTooLarge with the body unsent; Function.ResponseSizeTooLarge, fatal."""
    with _connect(api) as sock:
        pending, invoker = _in_flight(api, sock, "req-big")
        path = f"{API_PREFIX}/invocation/req-big/response"
        sock.sendall(f"POST {path} HTTP/1.1\r\nContent-Length: {MAX_PAYLOAD_BYTES + 1}\r\n\r\n".encode())
        reply = _reply(sock)
        invoker.join(10)
        assert sock.recv(1) == b""  # closed after the refusal
    assert reply.startswith(b"HTTP/1.1 413 ")
    assert json.loads(reply.partition(b"\r\n\r\n")[2])["errorType"] == "RequestEntityTooLarge"
    assert pending.done.is_set() and pending.error and pending.fatal
    assert json.loads(pending.response)["errorType"] == "Function.ResponseSizeTooLarge"


def test_a_malformed_response_in_flight_is_refused_and_completes_nothing(api: Server) -> None:
    """A bad Content-Length on the invocation's connection is answered 400 and the connection closed."""
    with _connect(api) as sock:
        pending, invoker = _in_flight(api, sock, "req-bad")
        sock.sendall(
            f"POST {API_PREFIX}/invocation/req-bad/response HTTP/1.1\r\nContent-Length: 1e3\r\n\r\n".encode()
        )
        reply = _reply(sock)
        assert sock.recv(1) == b""
        assert reply.startswith(b"HTTP/1.1 400 ")
        assert not pending.done.is_set()
        # The runtime may reconnect and answer: the invocation is still its to answer.
        with _connect(api) as again:
            path = f"{API_PREFIX}/invocation/req-bad/error"
            again.sendall(f"POST {path} HTTP/1.1\r\nContent-Length: 2\r\n\r\n{{}}".encode())
            assert _reply(again).startswith(b"HTTP/1.1 202 ")
        invoker.join(10)
    assert pending.done.is_set() and pending.error and pending.response == b"{}"
