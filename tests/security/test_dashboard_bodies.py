"""Oversized control bodies against the running dashboard: every body is bounded, chunked or not.

The dashboard refused a ``Content-Length`` above 4 KiB, but read a ``Transfer-Encoding: chunked`` body
of any size, and after refusing a declared large body werkzeug still drained what the client sent,
waiting for it without end. Now no body is read past 4 KiB (+1 byte), the rest is never read, and the
connection is closed after the 413. Every socket is on 127.0.0.1.
"""

from __future__ import annotations

import http.client
import json
import select
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from polling import wait_until
from selfheal.cloud.serving import BoundedWSGIServer
from selfheal.dashboard import DashboardServer, start_dashboard
from selfheal.dashboard.controls import ControlResult
from selfheal.loop.deployment import AwsTarget, Deployment

HOST = "127.0.0.1"
LIMIT = 4096
MEGABYTE = 1024 * 1024
PIECE = 4096


class FakeControls:
    """Records the injections that reach it."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def inject(self, payload: dict[str, Any]) -> ControlResult:
        self.calls.append(payload)
        return ControlResult(True, "injected")

    def stop(self) -> None:
        return None


@pytest.fixture
def dashboard() -> Iterator[DashboardServer]:
    """A started dashboard (its cloud unreachable) whose controls are a :class:`FakeControls`."""
    server = start_dashboard(
        AwsTarget("http://127.0.0.1:9", "us-east-1"), Deployment.from_prefix("x"), interval=5
    )
    real = server.app.controls
    server.app.controls = FakeControls()  # type: ignore[assignment]
    try:
        yield server
    finally:
        server.app.controls = real
        server.stop()


def calls(dashboard: DashboardServer) -> list[dict[str, Any]]:
    """The injections the fake controls received."""
    fake = dashboard.app.controls
    assert isinstance(fake, FakeControls)
    return fake.calls


def head(dashboard: DashboardServer, framing: str) -> bytes:
    """The head of a same-origin JSON POST to ``/api/inject`` with ``framing`` as its last header."""
    origin = f"http://{HOST}:{dashboard.port}"
    return (
        f"POST /api/inject HTTP/1.1\r\nHost: {HOST}:{dashboard.port}\r\nOrigin: {origin}\r\n"
        f"Content-Type: application/json\r\n{framing}\r\n\r\n"
    ).encode()


def chunk(data: bytes) -> bytes:
    """One chunk of a chunked body."""
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def read_response(sock: socket.socket) -> tuple[int, dict[str, Any]]:
    """Status and JSON body of the response on ``sock`` (waits up to 3 s)."""
    sock.settimeout(3)
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(4096)
        assert piece, f"connection closed before a response: {data!r}"
        data += piece
    head_bytes, body = data.split(b"\r\n\r\n", 1)
    lines = head_bytes.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, value in (line.split(":", 1) for line in lines[1:])}
    while len(body) < int(headers["content-length"]):
        piece = sock.recv(4096)
        assert piece, "connection closed in the middle of the response"
        body += piece
    return int(lines[0].split()[1]), json.loads(body)


def closed_soon(sock: socket.socket, within: float = 2.0) -> bool:
    """Whether the server closes ``sock`` within ``within`` seconds (after its response was read)."""
    sock.settimeout(within)
    try:
        for _ in range(64):
            if sock.recv(4096) == b"":
                return True
    except ConnectionError:
        return True
    except TimeoutError:
        return False
    return False


def post(dashboard: DashboardServer, body: bytes, *, chunked: bool) -> tuple[int, dict[str, Any]]:
    """A legitimate same-origin control POST; its status and JSON answer."""
    connection = http.client.HTTPConnection(HOST, dashboard.port, timeout=5)
    headers = {"Content-Type": "application/json", "Origin": f"http://{HOST}:{dashboard.port}"}
    try:
        if chunked:
            pieces = [body[i : i + 1000] for i in range(0, len(body), 1000)]
            connection.request("POST", "/api/inject", body=iter(pieces), headers=headers, encode_chunked=True)
        else:
            connection.request("POST", "/api/inject", body=body, headers=headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def json_of_size(size: int) -> bytes:
    """A valid control payload of exactly ``size`` bytes."""
    text = '{"rate": 0.5' + " " * (size - len('{"rate": 0.5}')) + "}"
    assert len(text) == size
    return text.encode()


def test_a_chunked_megabyte_is_refused_after_the_first_kilobytes(dashboard: DashboardServer) -> None:
    """Attack: a control POST with a 1 MB chunked body (no Content-Length, so the 4 KiB check never saw
    it); the dashboard read all of it into memory, and any size would do.

    Now the 413 comes while the client is still sending its first few chunks, and the rest of the
    megabyte cannot be delivered: the connection is closed. A normal control still works after it.
    """
    sock = socket.create_connection((HOST, dashboard.port), timeout=3)
    pieces = [chunk(b'{"pad": "' + b"x" * (PIECE - 9))] + [chunk(b"x" * PIECE)] * (MEGABYTE // PIECE - 1)
    try:
        sock.sendall(head(dashboard, "Transfer-Encoding: chunked"))
        sent = 0
        for piece in pieces:
            sock.sendall(piece)
            sent += 1
            if select.select([sock], [], [], 0.01)[0]:
                break
        status, answer = read_response(sock)
        assert status == 413, answer
        assert answer == {"ok": False, "message": f"request body larger than {LIMIT} bytes"}
        assert sent * PIECE <= 128 * 1024, f"the 413 came only after {sent * PIECE} bytes"
        assert closed_soon(sock)
        bounded = dashboard._server
        assert isinstance(bounded, BoundedWSGIServer)
        assert wait_until(lambda: bounded.active_connections == 0)  # the server's end is closed too
        delivered = True
        try:
            for piece in pieces[sent:]:
                sock.sendall(piece)
        except OSError:
            delivered = False
        assert not delivered, "the server still accepted the rest of the megabyte"
    finally:
        sock.close()
    assert calls(dashboard) == []
    assert post(dashboard, b'{"rate": 0.5}', chunked=True) == (200, {"ok": True, "message": "injected"})
    assert calls(dashboard) == [{"rate": 0.5}]


def test_a_refused_declared_length_is_not_drained(dashboard: DashboardServer) -> None:
    """Attack: ``Content-Length: 1000000`` and the first 8 KiB of it, then nothing. The 413 came at
    once, but werkzeug then drained the body, waiting for the announced bytes with no end: one thread
    held per such connection.

    Now the 413 comes and the connection is closed at once, without reading the body.
    """
    sock = socket.create_connection((HOST, dashboard.port), timeout=3)
    try:
        sock.sendall(head(dashboard, f"Content-Length: {MEGABYTE}") + b"x" * 8192)
        status, answer = read_response(sock)
        assert status == 413, answer
        assert answer == {"ok": False, "message": f"request body larger than {LIMIT} bytes"}
        assert closed_soon(sock), "the server still waits for the refused body"
    finally:
        sock.close()
    assert calls(dashboard) == []


def test_the_limit_is_4_kib_whatever_the_framing(dashboard: DashboardServer) -> None:
    """A 4096-byte control body is served and a 4097-byte one refused, with Content-Length and chunked
    alike (before, a chunked body of any size went through; the Content-Length check must stay)."""
    for chunked in (False, True):
        ok = post(dashboard, json_of_size(LIMIT), chunked=chunked)
        assert ok == (200, {"ok": True, "message": "injected"}), chunked
        status, answer = post(dashboard, json_of_size(LIMIT + 1), chunked=chunked)
        assert (status, answer["message"]) == (413, f"request body larger than {LIMIT} bytes"), chunked
    assert calls(dashboard) == [{"rate": 0.5}, {"rate": 0.5}]
