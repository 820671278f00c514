"""A lean closed-loop HTTP load generator, meant to run in its own process.

``C`` connections are driven by one ``selectors`` loop (no threads, no HTTP library): each sends a GET,
reads the response (``Content-Length`` or until close), records the latency and sends the next one —
on the same connection if the server keeps it alive, else on a new one. An optional rate caps the
sending (open-loop pacing with at most ``C`` in flight). Only loopback targets are accepted.

Run as ``python -m bench.loadgen URL --connections C --duration S [--rate R] [--requests N]``; it prints
one JSON object: counts per status, errors, the achieved rate and the latencies' percentiles.
"""

from __future__ import annotations

import argparse
import errno
import ipaddress
import json
import math
import selectors
import socket
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

__all__ = ["LoadResult", "main", "percentile", "run_load"]

_READ_CHUNK = 65536


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of sorted values (0.0 for none)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


@dataclass
class LoadResult:
    """What one run measured: latencies in milliseconds."""

    sent: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0
    connections_opened: int = 0

    @property
    def answered(self) -> int:
        """Requests that got a complete HTTP response."""
        return sum(self.statuses.values())

    def summary(self) -> dict[str, object]:
        """A JSON-ready summary."""
        lat = sorted(self.latencies_ms)
        return {
            "sent": self.sent,
            "answered": self.answered,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "errors": dict(self.errors),
            "seconds": round(self.seconds, 4),
            "rps": round(self.answered / self.seconds, 1) if self.seconds > 0 else 0.0,
            "p50_ms": round(percentile(lat, 0.50), 3),
            "p90_ms": round(percentile(lat, 0.90), 3),
            "p99_ms": round(percentile(lat, 0.99), 3),
            "max_ms": round(lat[-1], 3) if lat else 0.0,
            "connections_opened": self.connections_opened,
        }


class _Conn:
    """One client connection's state."""

    def __init__(self) -> None:
        self.sock: socket.socket | None = None
        self.out = b""
        self.buf = bytearray()
        self.started = 0.0
        self.header_end = -1
        self.length: int | None = None
        self.status = 0
        self.close_after = False
        self.busy = False


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def run_load(
    url: str,
    *,
    connections: int = 16,
    duration: float = 5.0,
    rate: float | None = None,
    requests: int | None = None,
    timeout: float = 10.0,
) -> LoadResult:
    """Drive ``url`` with ``connections`` concurrent connections for ``duration`` s (or ``requests``)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 80
    if parts.scheme != "http" or not _loopback(host):
        raise ValueError(f"only http:// loopback targets are allowed, got {url!r}")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: selfheal-bench\r\n"
        "Accept: */*\r\nConnection: keep-alive\r\n\r\n"
    ).encode()
    address = (host, port)
    sel = selectors.DefaultSelector()
    result = LoadResult()
    conns = [_Conn() for _ in range(max(1, connections))]
    start = time.perf_counter()
    stop_at = start + duration
    interval = 1.0 / rate if rate else 0.0
    next_send = start

    def open_socket(conn: _Conn) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        code = sock.connect_ex(address)
        if code not in (0, errno.EINPROGRESS):
            sock.close()
            raise OSError(code, "connect failed")
        conn.sock = sock
        result.connections_opened += 1
        sel.register(sock, selectors.EVENT_WRITE, conn)

    def drop(conn: _Conn) -> None:
        if conn.sock is not None:
            sel.unregister(conn.sock)
            conn.sock.close()
            conn.sock = None

    def send(conn: _Conn) -> None:
        conn.busy, conn.started = True, time.perf_counter()
        conn.out, conn.buf, conn.header_end, conn.length = request, bytearray(), -1, None
        result.sent += 1
        if conn.sock is None:
            try:
                open_socket(conn)
            except OSError as exc:
                fail(conn, f"connect: {exc.strerror or exc}")
            return
        sel.modify(conn.sock, selectors.EVENT_WRITE, conn)

    def fail(conn: _Conn, reason: str) -> None:
        result.errors[reason] += 1
        drop(conn)
        conn.busy = False

    def finish(conn: _Conn) -> None:
        result.statuses[conn.status] += 1
        result.latencies_ms.append((time.perf_counter() - conn.started) * 1000.0)
        conn.busy = False
        if conn.close_after:
            drop(conn)
        elif conn.sock is not None:
            sel.modify(conn.sock, selectors.EVENT_READ, conn)

    def parse(conn: _Conn, eof: bool) -> bool:
        """Return True when the response is complete."""
        if conn.header_end < 0:
            end = conn.buf.find(b"\r\n\r\n")
            if end < 0:
                return False
            conn.header_end = end + 4
            head = bytes(conn.buf[:end]).decode("latin-1").split("\r\n")
            conn.status = int(head[0].split(" ", 2)[1])
            conn.close_after = head[0].startswith("HTTP/1.0")
            for line in head[1:]:
                name, _, value = line.partition(":")
                lowered = name.strip().lower()
                if lowered == "content-length":
                    conn.length = int(value.strip())
                elif lowered == "connection":
                    conn.close_after = value.strip().lower() == "close"
        if conn.length is not None:
            return len(conn.buf) - conn.header_end >= conn.length
        conn.close_after = True
        return eof

    def budget_left() -> bool:
        now = time.perf_counter()
        if requests is not None:
            return result.sent < requests
        return now < stop_at

    while True:
        now = time.perf_counter()
        if budget_left():
            for conn in conns:
                if conn.busy:
                    continue
                if interval:
                    if now < next_send:
                        break
                    next_send = max(next_send + interval, now - 1.0)
                send(conn)
                if not budget_left():
                    break
        in_flight = sum(1 for c in conns if c.busy)
        if in_flight == 0 and not budget_left():
            break
        wait = 0.05
        if interval and budget_left():
            wait = max(0.0, min(wait, next_send - time.perf_counter()))
        for key, events in sel.select(wait):
            conn = key.data
            sock = conn.sock
            if sock is None:
                continue
            if events & selectors.EVENT_WRITE:
                try:
                    sent = sock.send(conn.out)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError as exc:
                    fail(conn, f"send: {exc.strerror or exc}")
                    continue
                conn.out = conn.out[sent:]
                if not conn.out:
                    sel.modify(sock, selectors.EVENT_READ, conn)
                continue
            try:
                chunk = sock.recv(_READ_CHUNK)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError as exc:
                fail(conn, f"recv: {exc.strerror or exc}")
                continue
            if not conn.busy:
                # The server closed an idle keep-alive connection.
                drop(conn)
                continue
            conn.buf += chunk
            try:
                complete = parse(conn, eof=not chunk)
            except (ValueError, IndexError):
                fail(conn, "bad response")
                continue
            if complete:
                if not chunk:
                    conn.close_after = True
                finish(conn)
            elif not chunk:
                fail(conn, "closed mid-response" if conn.buf else "closed before response")
        deadline = time.perf_counter() - timeout
        for conn in conns:
            if conn.busy and conn.started < deadline:
                fail(conn, "timeout")
    result.seconds = time.perf_counter() - start
    for conn in conns:
        drop(conn)
    sel.close()
    return result


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: run the load and print the summary as JSON."""
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--rate", type=float, default=None)
    parser.add_argument("--requests", type=int, default=None)
    parser.add_argument("--latencies", action="store_true", help="include every latency (ms) in the output")
    args = parser.parse_args(argv)
    result = run_load(
        args.url,
        connections=args.connections,
        duration=args.duration,
        rate=args.rate,
        requests=args.requests,
    )
    summary = result.summary()
    if args.latencies:
        summary["latencies_ms"] = [round(v, 3) for v in result.latencies_ms]
    json.dump(summary, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
