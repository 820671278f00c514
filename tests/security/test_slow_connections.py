"""Slow and idle connections (slowloris) against the local servers: the bare bounded server and the dashboard.

werkzeug's threaded server gives every connection a thread and waits for the client forever, so a few
hundred sockets that send nothing, or send a header byte every few seconds, hold as many threads for good.
``selfheal.cloud.serving`` closes such connections after its timeouts and answers connections beyond its
cap with an immediate 503. The tests use timeouts of half a second; every socket is on 127.0.0.1.
"""

from __future__ import annotations

import http.client
import selectors
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest

from polling import wait_until
from selfheal.cloud.front import AsyncWSGIServer
from selfheal.cloud.serving import BoundedWSGIServer, read_bounded_body
from selfheal.dashboard import server as dashboard_server
from selfheal.dashboard import start_dashboard
from selfheal.loop.deployment import AwsTarget, Deployment

HOST = "127.0.0.1"


def hello(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    """A trivial WSGI app: reads the body (up to 1 KiB), answers ``ok``; ``/stream`` ticks for 3 s."""
    read_bounded_body(environ, 1024)
    if environ["PATH_INFO"] == "/stream":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return ticks()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


def ticks() -> Iterator[bytes]:
    """A long response: a line every 0.3 s, for 3 s."""
    for _ in range(10):
        yield b"tick\n"
        time.sleep(0.3)


class Target:
    """A running server under attack: its bounded WSGI server, port, a path that answers 200 and one that
    streams for longer than the timeouts."""

    def __init__(self, server: BoundedWSGIServer | AsyncWSGIServer, path: str, stream_path: str) -> None:
        self.server = server
        self.port = int(server.server_port)
        self.path = path
        self.stream_path = stream_path

    def get(self) -> int:
        """A legitimate request's status."""
        connection = http.client.HTTPConnection(HOST, self.port, timeout=3)
        try:
            connection.request("GET", self.path)
            response = connection.getresponse()
            response.read()
            return response.status
        finally:
            connection.close()

    def open_stream(self) -> socket.socket:
        """A long response, begun: its head and first bytes are read."""
        sock = socket.create_connection((HOST, self.port), timeout=3)
        sock.sendall(f"GET {self.stream_path} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\n\r\n".encode())
        received = sock.recv(4096)
        assert received.startswith(b"HTTP/1.1 200"), received
        return sock


def still_open(sock: socket.socket) -> bool:
    """Whether the server has not closed ``sock`` (reads what has come, without waiting)."""
    sock.setblocking(False)
    try:
        for _ in range(64):
            if sock.recv(4096) == b"":
                return False
    except BlockingIOError:
        return True
    except ConnectionError:
        return False
    finally:
        sock.settimeout(3)
    return True


Serve = Callable[..., Target]


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch) -> Iterator[Serve]:
    """Start a ``bare`` bounded server, the ``asyncio`` front or the ``dashboard`` with the given limits;
    stop it afterwards."""
    stops: list[Callable[[], None]] = []

    def start(
        kind: str,
        *,
        max_connections: int = 200,
        idle_timeout: float = 0.5,
        header_timeout: float = 0.5,
        body_timeout: float = 0.5,
    ) -> Target:
        if kind in ("bare", "asyncio"):
            front = AsyncWSGIServer if kind == "asyncio" else BoundedWSGIServer
            server = front(
                HOST,
                0,
                hello,
                max_connections=max_connections,
                idle_timeout=idle_timeout,
                header_timeout=header_timeout,
                body_timeout=body_timeout,
            )
            thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
            thread.start()

            def stop() -> None:
                server.shutdown()
                thread.join(timeout=5)
                server.server_close()

            stops.append(stop)
            return Target(server, "/", "/stream")
        monkeypatch.setattr(dashboard_server, "_MAX_CONNECTIONS", max_connections)
        monkeypatch.setattr(dashboard_server, "_IDLE_TIMEOUT", idle_timeout)
        monkeypatch.setattr(dashboard_server, "_HEADER_TIMEOUT", header_timeout)
        monkeypatch.setattr(dashboard_server, "_BODY_TIMEOUT", body_timeout)
        dashboard = start_dashboard(
            AwsTarget("http://127.0.0.1:9", "us-east-1"), Deployment.from_prefix("x"), interval=5
        )
        stops.append(dashboard.stop)
        bounded = dashboard._server
        assert isinstance(bounded, BoundedWSGIServer)
        return Target(bounded, "/api/snapshot", "/api/events")

    yield start
    for stop in reversed(stops):
        stop()


def connect(target: Target) -> socket.socket:
    """A connection that sends nothing."""
    return socket.create_connection((HOST, target.port), timeout=3)


def closed_by_server(sockets: list[socket.socket], within: float) -> int:
    """Wait up to ``within`` seconds for the server to close each socket; how many it closed."""
    selector = selectors.DefaultSelector()
    for each in sockets:
        selector.register(each, selectors.EVENT_READ, data=each)
    closed = 0
    deadline = time.monotonic() + within
    try:
        while closed < len(sockets) and time.monotonic() < deadline:
            for key, _ in selector.select(timeout=max(0.0, deadline - time.monotonic())):
                sock: socket.socket = key.data
                try:
                    ended = sock.recv(4096) == b""
                except ConnectionError:
                    ended = True
                if ended:
                    selector.unregister(sock)
                    closed += 1
    finally:
        selector.close()
    return closed


def read_until_closed(sock: socket.socket) -> bytes:
    """What the server sends before closing (at most 64 KiB, 3 s)."""
    answer = b""
    for _ in range(64):
        try:
            piece = sock.recv(1024)
        except ConnectionError:
            break
        if not piece:
            break
        answer += piece
    return answer


@pytest.mark.parametrize("kind", ["bare", "asyncio", "dashboard"])
def test_idle_connections_are_closed_after_the_idle_timeout(serve: Serve, kind: str) -> None:
    """Attack: 120 connections that never send a byte. Before, each held a server thread forever.

    Now the server closes every one of them after the idle timeout (0.5 s), a legitimate request is
    answered while they are open, and a long response (the dashboard's event stream) is not cut: the
    timeouts bound the wait for the client, not the time the application takes.
    """
    target = serve(kind, idle_timeout=0.5)
    stream = target.open_stream()
    started = time.monotonic()
    idle = [connect(target) for _ in range(120)]
    try:
        assert target.get() == 200
        closed = closed_by_server(idle, within=5.0)
        elapsed = time.monotonic() - started
        time.sleep(max(0.0, 1.5 - elapsed))
        assert still_open(stream), "a long response was cut"
        assert wait_until(lambda: target.server.active_connections == 1, within=2.0)
    finally:
        stream.close()
        for sock in idle:
            sock.close()
    assert closed == len(idle)
    assert elapsed >= 0.4
    assert target.server.timed_out_connections >= len(idle)
    assert target.get() == 200


@pytest.mark.parametrize("kind", ["bare", "asyncio", "dashboard"])
def test_a_header_dribbler_is_cut_off_at_the_header_deadline(serve: Serve, kind: str) -> None:
    """Attack: a request head sent one byte every 0.1 s, each well within the idle timeout (1 s), so a
    per-read timeout alone never fires and the thread is held for as long as the client likes.

    Now the whole head must arrive within the header deadline (0.5 s): the server closes the connection
    then, and a legitimate request is answered meanwhile.
    """
    target = serve(kind, idle_timeout=1.0, header_timeout=0.5)
    dribbler = connect(target)
    dribbler.settimeout(0.1)
    cut_after: float | None = None
    try:
        started = time.monotonic()
        dribbler.sendall(f"GET {target.path} HTTP/1.1\r\nHost: {HOST}:{target.port}\r\nX-Slow: ".encode())
        for step in range(40):
            if step == 2:
                assert target.get() == 200
            try:
                dribbler.sendall(b"a")
                if dribbler.recv(4096) == b"":
                    cut_after = time.monotonic() - started
                    break
            except TimeoutError:
                continue
            except ConnectionError:
                cut_after = time.monotonic() - started
                break
    finally:
        dribbler.close()
    assert cut_after is not None, "the server still waits for a head dribbled over 4 s"
    assert 0.4 <= cut_after < 2.0
    assert target.server.timed_out_connections == 1
    assert target.get() == 200


@pytest.mark.parametrize("kind", ["bare", "asyncio"])
def test_a_body_dribbler_is_cut_off_at_the_body_deadline(serve: Serve, kind: str) -> None:
    """Attack: a complete head announcing 1000 bytes, then the body one byte every 0.1 s (within the
    idle timeout of 1 s), holding the thread while the app waits for the body.

    Now reading the body may wait 0.5 s in all: the connection is closed then.
    """
    target = serve(kind, idle_timeout=1.0, body_timeout=0.5)
    dribbler = connect(target)
    dribbler.settimeout(0.1)
    cut_after: float | None = None
    try:
        dribbler.sendall(
            f"POST / HTTP/1.1\r\nHost: {HOST}:{target.port}\r\nContent-Length: 1000\r\n\r\n".encode()
        )
        started = time.monotonic()
        for _ in range(40):
            try:
                dribbler.sendall(b"a")
                if dribbler.recv(4096) == b"":
                    cut_after = time.monotonic() - started
                    break
            except TimeoutError:
                continue
            except ConnectionError:
                cut_after = time.monotonic() - started
                break
    finally:
        dribbler.close()
    assert cut_after is not None, "the server still waits for a body dribbled over 4 s"
    assert 0.4 <= cut_after < 2.0
    assert target.server.timed_out_connections == 1


@pytest.mark.parametrize("kind", ["bare", "asyncio", "dashboard"])
def test_connections_beyond_the_cap_get_503_at_once(serve: Serve, kind: str) -> None:
    """Attack: more connections than the server should carry (8 held open, then 50 more). Before, each
    got its own thread and was served.

    Now the 50 get ``503`` with ``Retry-After: 1`` at once, from the accepting thread, without a request
    and without a thread each; once the held connections end, requests are answered again.
    """
    target = serve(kind, max_connections=8, idle_timeout=5.0, header_timeout=5.0)
    threads_before = threading.active_count()
    held = [connect(target) for _ in range(8)]
    extra: list[socket.socket] = []
    try:
        assert wait_until(lambda: target.server.active_connections == 8, within=2.0)
        started = time.monotonic()
        for _ in range(50):
            sock = connect(target)
            extra.append(sock)
            answer = read_until_closed(sock)
            assert answer.startswith(b"HTTP/1.1 503 Service Unavailable\r\n"), answer
            assert b"\r\nRetry-After: 1\r\n" in answer and b"\r\nConnection: close\r\n" in answer
        assert time.monotonic() - started < 3.0
        assert target.server.rejected_connections == 50
        assert threading.active_count() <= threads_before + 8 + 4
    finally:
        for sock in held + extra:
            sock.close()
    assert wait_until(lambda: target.server.active_connections == 0, within=3.0)
    assert target.get() == 200
