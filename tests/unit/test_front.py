"""The asyncio front (`selfheal.cloud.front`): keep-alive, HTTP/1.1 framing, bounds, the option to use it."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest

from selfheal.cloud import LocalCloud, front_connection
from selfheal.cloud.front import AsyncWSGIServer
from selfheal.cloud.serving import BodyTooLarge, read_bounded_body

HOST = "127.0.0.1"
RELEASE = threading.Event()


def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    """Paths: ``/echo`` the body (≤ 1 KiB, else 413), ``/peer`` the client port, ``/wait`` until RELEASE,
    ``/stream`` three pieces without a length, ``/big`` 64 MiB, ``/boom`` raises, ``/length`` reads the
    declared length in one read and answers how much it got."""
    path = environ["PATH_INFO"]
    if path == "/boom":
        raise RuntimeError("the application failed")
    if path == "/stream":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return iter([b"one ", b"two ", b"three"])
    if path == "/big":
        start_response("200 OK", [("Content-Length", str(64 * 1024 * 1024))])
        return (b"x" * (1024 * 1024) for _ in range(64))
    if path == "/wait":
        RELEASE.wait(10)
    if path == "/length":
        size = len(environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"])))
        start_response("200 OK", [("Content-Length", str(len(str(size))))])
        return [str(size).encode()]
    try:
        body = read_bounded_body(environ, 1024)
    except BodyTooLarge:
        start_response("413 Payload Too Large", [("Content-Length", "8")])
        return [b"too big\n"]
    answer = str(environ["REMOTE_PORT"]).encode() if path == "/peer" else body
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(answer)))])
    return [answer]


@pytest.fixture
def serve() -> Iterator[Callable[..., AsyncWSGIServer]]:
    """Start an asyncio front serving ``app`` with the given bounds; stop it afterwards."""
    servers: list[tuple[AsyncWSGIServer, threading.Thread]] = []

    def start(**bounds: Any) -> AsyncWSGIServer:
        server = AsyncWSGIServer(HOST, 0, app, **{"idle_timeout": 2.0, **bounds})
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        servers.append((server, thread))
        return server

    RELEASE.clear()
    yield start
    RELEASE.set()
    for server, thread in servers:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


def exchange(port: int, raw: bytes, *, until_closed: bool = True) -> bytes:
    """Send ``raw`` on a new connection; what comes back until the server closes (3 s at most)."""
    with socket.create_connection((HOST, port), timeout=3) as sock:
        sock.sendall(raw)
        answer = b""
        while True:
            try:
                piece = sock.recv(65536)
            except (TimeoutError, ConnectionError):
                break
            if not piece:
                break
            answer += piece
            if not until_closed and b"\r\n\r\n" in answer:
                break
        return answer


def test_a_connection_carries_several_requests(serve: Callable[..., AsyncWSGIServer]) -> None:
    """Keep-alive: three requests on one client connection are answered on it (werkzeug closed each)."""
    server = serve()
    connection = http.client.HTTPConnection(HOST, server.server_port, timeout=3)
    ports = set()
    for _ in range(3):
        connection.request("GET", "/peer", headers={"Host": f"{HOST}:{server.server_port}"})
        response = connection.getresponse()
        assert response.status == 200
        assert response.getheader("Connection") is None
        ports.add(response.read())
    connection.close()
    assert len(ports) == 1
    assert server.active_connections <= 1


def _kept_alive(server: AsyncWSGIServer) -> http.client.HTTPConnection:
    """A client connection that has carried one whole exchange and stays open, idle."""
    connection = http.client.HTTPConnection(HOST, server.server_port, timeout=3)
    connection.request("GET", "/peer", headers={"Host": f"{HOST}:{server.server_port}"})
    response = connection.getresponse()
    assert response.status == 200
    response.read()
    return connection


def test_at_the_cap_the_longest_idle_kept_alive_connection_makes_room(
    serve: Callable[..., AsyncWSGIServer],
) -> None:
    """A client that leaves its connections idle (boto3 when a response body is not read to its end) must
    not lock others out: at the cap, the oldest idle kept-alive connection is closed and the new one served;
    the others stay open."""
    server = serve(max_connections=2)
    oldest = _kept_alive(server)
    time.sleep(0.05)
    newer = _kept_alive(server)
    assert server.active_connections == 2
    third = _kept_alive(server)  # served, not 503
    assert server.evicted_connections == 1 and server.rejected_connections == 0
    assert oldest.sock is not None and oldest.sock.recv(1) == b""  # closed by the server
    newer.request("GET", "/peer", headers={"Host": f"{HOST}:{server.server_port}"})
    assert newer.getresponse().status == 200  # still open
    for connection in (oldest, newer, third):
        connection.close()


def test_a_connection_in_the_middle_of_a_request_is_never_evicted(
    serve: Callable[..., AsyncWSGIServer],
) -> None:
    """Only connections between exchanges make room: one sending its head keeps its place, and with no idle
    connection a new one is refused 503 as before."""
    server = serve(max_connections=1, header_timeout=5.0)
    with socket.create_connection((HOST, server.server_port), timeout=3) as busy:
        busy.sendall(b"GET /peer HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # the head is not finished
        deadline = time.monotonic() + 2
        while server.active_connections < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        answer = exchange(server.server_port, b"GET /peer HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
        assert server.evicted_connections == 0 and server.rejected_connections == 1
        busy.sendall(b"\r\n")
        assert busy.recv(65536).startswith(b"HTTP/1.1 200 OK\r\n")


class _SlowToClose:
    """A response body whose ``close`` takes a moment: the client has its response before the server's
    exchange is over."""

    def __init__(self) -> None:
        self.closed = threading.Event()

    def __iter__(self) -> Iterator[bytes]:
        yield b"ok"

    def close(self) -> None:
        time.sleep(0.2)
        self.closed.set()


def test_a_client_that_closed_first_is_let_go_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A client that reads its response and closes while the server still finishes the exchange (boto3
    dropping an unread Invoke payload does so) frees its place at once, not after a linger: before,
    every such connection lingered and a few hundred calls filled the cap."""
    monkeypatch.setattr(front_connection.Connection._lingering_close, "__defaults__", (30.0,))
    bodies: list[_SlowToClose] = []

    def slow_app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Length", "2")])
        bodies.append(_SlowToClose())
        return bodies[-1]

    server = AsyncWSGIServer(HOST, 0, slow_app, idle_timeout=60.0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with socket.create_connection((HOST, server.server_port), timeout=5) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert sock.recv(65536).endswith(b"\r\n\r\nok")
        assert bodies and bodies[0].closed.wait(5)
        deadline = time.monotonic() + 10
        while server.active_connections and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.active_connections == 0
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


def test_open_connections_hold_no_thread(serve: Callable[..., AsyncWSGIServer]) -> None:
    """60 kept-alive connections, each having made a request, add a few pool threads, not 60."""
    server = serve()
    before = threading.active_count()
    connections = [http.client.HTTPConnection(HOST, server.server_port, timeout=3) for _ in range(60)]
    try:
        for connection in connections:
            connection.request("POST", "/echo", body=b"hello")
            assert connection.getresponse().read() == b"hello"
        assert server.active_connections == 60
        assert threading.active_count() <= before + 4
    finally:
        for connection in connections:
            connection.close()


def test_a_long_request_does_not_hold_up_others(serve: Callable[..., AsyncWSGIServer]) -> None:
    """A request the application keeps (a long invocation) leaves other connections served at once."""
    server = serve()
    waiting = socket.create_connection((HOST, server.server_port), timeout=5)
    try:
        waiting.sendall(b"GET /wait HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.1)
        started = time.monotonic()
        for _ in range(5):
            assert b"200 OK" in exchange(
                server.server_port, b"GET /echo HTTP/1.1\r\nConnection: close\r\n\r\n"
            )
        assert time.monotonic() - started < 2.0
        RELEASE.set()
        assert waiting.recv(4096).startswith(b"HTTP/1.1 200 OK\r\n")
    finally:
        waiting.close()


def test_pipelined_requests_are_answered_in_order(serve: Callable[..., AsyncWSGIServer]) -> None:
    """Requests sent back to back before any answer get their answers in the order sent."""
    server = serve()
    raw = b"".join(
        b"POST /echo HTTP/1.1\r\nContent-Length: %d\r\n\r\n%s" % (len(word), word)
        for word in (b"first", b"second", b"third")
    )
    answer = exchange(server.server_port, raw + b"GET /echo HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert answer.count(b"HTTP/1.1 200 OK") == 4
    assert answer.index(b"first") < answer.index(b"second") < answer.index(b"third")


def test_chunked_bodies_both_ways(serve: Callable[..., AsyncWSGIServer]) -> None:
    """A chunked request body reaches the application whole; a response without length is chunked for
    HTTP/1.1 and ended by closing for HTTP/1.0."""
    server = serve()
    answer = exchange(
        server.server_port,
        b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    )
    assert answer.endswith(b"\r\n\r\nhello world")
    chunked = exchange(server.server_port, b"GET /stream HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert b"Transfer-Encoding: chunked\r\n" in chunked
    assert chunked.endswith(b"\r\n\r\n4\r\none \r\n4\r\ntwo \r\n5\r\nthree\r\n0\r\n\r\n")
    old = exchange(server.server_port, b"GET /stream HTTP/1.0\r\n\r\n")
    assert b"Transfer-Encoding" not in old and b"Connection: close\r\n" in old
    assert old.endswith(b"\r\n\r\none two three")


def test_one_read_gets_the_whole_declared_body(serve: Callable[..., AsyncWSGIServer]) -> None:
    """A 3 MiB body sent in pieces, more than the loop reads ahead, comes whole from one ``read(length)``
    (the data plane reads its body so, as from werkzeug's buffered file)."""
    server = serve()
    size = 3 * 1024 * 1024
    with socket.create_connection((HOST, server.server_port), timeout=5) as sock:
        sock.sendall(b"POST /length HTTP/1.1\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % size)
        for _ in range(48):
            sock.sendall(b"x" * (size // 48))
            time.sleep(0.005)
        answer = b""
        while piece := sock.recv(65536):
            answer += piece
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert answer.endswith(b"\r\n\r\n%d" % size)


def test_a_body_above_the_limit_is_refused_without_being_read(serve: Callable[..., AsyncWSGIServer]) -> None:
    """A 50 MB declared body gets the application's refusal after 64 KiB were sent, and the connection
    closes (the rest is never read, so it cannot carry another request)."""
    server = serve()
    with socket.create_connection((HOST, server.server_port), timeout=3) as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nContent-Length: 50000000\r\n\r\n" + b"x" * 65536)
        answer = b""
        while piece := sock.recv(65536):
            answer += piece
    assert answer.startswith(b"HTTP/1.1 413 Payload Too Large\r\n")
    assert b"Connection: close\r\n" in answer and answer.endswith(b"too big\n")


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"NOT HTTP AT ALL\r\n\r\n", b"400 Bad Request"),
        (b"GET / HTTP/1.1\r\n" + b"X-Pad: " + b"a" * 70000 + b"\r\n\r\n", b"431 Request Header Fields"),
        (b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: a\r\n" % n for n in range(150)) + b"\r\n", b"431 Request"),
    ],
)
def test_a_bad_or_oversized_head_is_refused(
    serve: Callable[..., AsyncWSGIServer], raw: bytes, status: bytes
) -> None:
    """A malformed request line, a 70 KB header or 150 headers: a one-line error, then the connection ends."""
    server = serve()
    answer = exchange(server.server_port, raw)
    assert answer.startswith(b"HTTP/1.1 " + status)
    assert b"Connection: close\r\n" in answer
    assert b"200 OK" in exchange(server.server_port, b"GET /echo HTTP/1.1\r\nConnection: close\r\n\r\n")


def test_expect_continue_and_head(serve: Callable[..., AsyncWSGIServer]) -> None:
    """``Expect: 100-continue`` gets its interim answer when the body is read, and none for a body refused
    from its head; HEAD gets the head without a body."""
    server = serve()
    answer = exchange(
        server.server_port,
        b"POST /echo HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi",
    )
    assert answer.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n") and answer.endswith(b"hi")
    refused = exchange(
        server.server_port, b"POST /echo HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 50000000\r\n\r\n"
    )
    assert refused.startswith(b"HTTP/1.1 413 Payload Too Large\r\n"), "100 Continue before the refusal"
    head = exchange(server.server_port, b"HEAD /peer HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and head.endswith(b"\r\n\r\n")
    assert b"Content-Length: " in head


def test_an_application_error_is_a_500_and_the_server_goes_on(serve: Callable[..., AsyncWSGIServer]) -> None:
    """An exception in the application answers 500 and closes that connection; others are served."""
    server = serve()
    answer = exchange(server.server_port, b"GET /boom HTTP/1.1\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 500 Internal Server Error\r\n")
    assert b"200 OK" in exchange(server.server_port, b"GET /echo HTTP/1.1\r\nConnection: close\r\n\r\n")


def test_a_kept_alive_connection_is_closed_after_the_idle_timeout(
    serve: Callable[..., AsyncWSGIServer],
) -> None:
    """After its answer, a connection that sends nothing more is closed after the idle timeout."""
    server = serve(idle_timeout=0.3)
    with socket.create_connection((HOST, server.server_port), timeout=3) as sock:
        sock.sendall(b"GET /echo HTTP/1.1\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 200 OK")
        started = time.monotonic()
        assert sock.recv(4096) == b""
        assert 0.2 <= time.monotonic() - started < 2.0
    assert server.timed_out_connections == 1


def test_a_client_that_does_not_read_its_response_is_cut_off(serve: Callable[..., AsyncWSGIServer]) -> None:
    """A 64 MiB answer to a client that never reads: the write waits the idle timeout, then the
    connection ends (the server does not buffer the whole answer for it)."""
    server = serve(idle_timeout=0.5)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((HOST, server.server_port))
    try:
        sock.sendall(b"GET /big HTTP/1.1\r\n\r\n")
        deadline = time.monotonic() + 5
        while server.timed_out_connections == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.timed_out_connections == 1
    finally:
        sock.close()
    deadline = time.monotonic() + 3
    while server.active_connections and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.active_connections == 0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"host": "0.0.0.0"}, "loopback"),
        ({"max_connections": 0}, "max_connections"),
        ({"idle_timeout": 0}, "idle_timeout"),
        ({"body_timeout": -1.0}, "body_timeout"),
    ],
)
def test_bad_bounds_are_refused(arguments: dict[str, Any], message: str) -> None:
    """A non-loopback address or a bound that is not positive is a clear error, and nothing listens."""
    host = arguments.pop("host", HOST)
    with pytest.raises(ValueError, match=message):
        AsyncWSGIServer(host, 0, app, **arguments)


def test_the_cloud_front_is_chosen_by_option_or_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """``front=`` wins over ``SELFHEAL_CLOUD_FRONT``; asyncio is the default; an unknown name is refused."""
    monkeypatch.delenv("SELFHEAL_CLOUD_FRONT", raising=False)
    assert LocalCloud(port=0).front == "asyncio"
    monkeypatch.setenv("SELFHEAL_CLOUD_FRONT", "werkzeug")
    assert LocalCloud(port=0).front == "werkzeug"
    assert LocalCloud(port=0, front="asyncio").front == "asyncio"
    with pytest.raises(ValueError, match="front must be one of werkzeug, asyncio, got 'nginx'"):
        LocalCloud(port=0, front="nginx")
    monkeypatch.setenv("SELFHEAL_CLOUD_FRONT", "uvicorn")
    with pytest.raises(ValueError, match="SELFHEAL_CLOUD_FRONT must be one of"):
        LocalCloud(port=0)


class _LoopApp:
    """An app that claims ``/here`` for the loop and answers with the name of the thread it ran on."""

    def serves_on_loop(self, environ: dict[str, Any]) -> bool:
        return bool(environ["PATH_INFO"] == "/here")

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        body = environ["wsgi.input"].read()
        answer = f"{threading.current_thread().name} {len(body)}".encode()
        start_response("200 OK", [("Content-Length", str(len(answer)))])
        return [answer]


def test_a_request_the_app_claims_runs_on_the_loop_thread_and_others_in_the_pool() -> None:
    """``serves_on_loop`` puts a request with its whole body on the loop's thread; the rest go to the pool."""
    server = AsyncWSGIServer(HOST, 0, _LoopApp(), idle_timeout=2.0)
    thread = threading.Thread(target=server.serve_forever, name="front-loop-under-test", daemon=True)
    thread.start()
    try:
        connection = http.client.HTTPConnection(HOST, server.server_port, timeout=5)
        answers = []
        for path, body in (("/here", b"abc"), ("/there", b"abc"), ("/here", b"")):
            connection.request("POST", path, body=body)
            answers.append(connection.getresponse().read().decode())
        connection.close()
        # A body sent in chunks is read in the pool, where waiting for it blocks nobody else.
        with socket.create_connection((HOST, server.server_port), timeout=5) as raw:
            raw.sendall(b"POST /here HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
            time.sleep(0.2)
            raw.sendall(b"3\r\ndef\r\n0\r\n\r\n")
            answers.append(_read_response_body(raw))
        # A small body of a known length that comes apart from its head is awaited, then run on the loop.
        with socket.create_connection((HOST, server.server_port), timeout=5) as raw:
            raw.sendall(b"POST /here HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nabc")
            time.sleep(0.2)
            raw.sendall(b"def")
            answers.append(_read_response_body(raw))
        # A client that gives up before its body is complete is let go, with nothing run.
        with socket.create_connection((HOST, server.server_port), timeout=5) as raw:
            raw.sendall(b"POST /here HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nabc")
            raw.shutdown(socket.SHUT_WR)
            assert raw.recv(4096) == b""
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()
    assert answers[3].startswith("front_") and answers[3].endswith(" 6")
    assert answers[4] == "front-loop-under-test 6"
    assert answers[0] == "front-loop-under-test 3"
    assert answers[1].startswith("front_") and answers[1].endswith(" 3")
    assert answers[2] == "front-loop-under-test 0"


def _read_response_body(sock: socket.socket) -> str:
    """The body of the one response ``sock`` receives (its head may come in a separate segment)."""
    received = b""
    while b"\r\n\r\n" not in received:
        received += sock.recv(4096)
    head, _, body = received.partition(b"\r\n\r\n")
    length = int(
        next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))[15:]
    )
    while len(body) < length:
        body += sock.recv(4096)
    return body.decode()
