"""Tests of the load generator: target checks, percentiles, and counts against a local HTTP server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from werkzeug.serving import BaseWSGIServer, make_server

from selfheal.loop.traffic import LoadGenerator, TrafficPlan, TrafficStats, check_target, percentile


def _app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    path = environ.get("PATH_INFO", "/")
    status = {"/ok": "200 OK", "/fail": "500 Internal Server Error", "/missing": "404 Not Found"}.get(
        path, "200 OK"
    )
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"hi"]


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    """A threaded WSGI server on a free loopback port, shut down after the module."""
    server: BaseWSGIServer = make_server("127.0.0.1", 0, _app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080/x", "http://localhost/", "https://[::1]:4566/a", "http://127.1.2.3/"]
)
def test_loopback_targets_are_allowed(url: str) -> None:
    """Loopback hosts pass the target check."""
    check_target(url)


@pytest.mark.parametrize(
    "url", ["http://example.com/", "http://10.0.0.1/", "https://abc.execute-api.us-east-1.amazonaws.com/"]
)
def test_remote_targets_need_allow_remote(url: str) -> None:
    """A non-loopback host is refused unless allow_remote is set."""
    with pytest.raises(ValueError, match="allow-remote"):
        check_target(url)
    check_target(url, allow_remote=True)


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/", "127.0.0.1:80", "http:///path", ""])
def test_malformed_urls_are_refused(url: str) -> None:
    """Only http(s) URLs with a host are accepted, even with allow_remote."""
    with pytest.raises(ValueError):
        check_target(url, allow_remote=True)


@pytest.mark.parametrize(
    "changes",
    [{"rate": 0}, {"rate": -1}, {"duration": 0}, {"concurrency": 0}, {"concurrency": 10_000}, {"timeout": 0}],
)
def test_bad_plans_are_refused(changes: dict[str, Any]) -> None:
    """Out-of-range rate, duration, concurrency or timeout raise ValueError before anything is sent."""
    arguments: dict[str, Any] = {"url": "http://127.0.0.1:9/", "rate": 1.0, "duration": 1.0, **changes}
    with pytest.raises(ValueError):
        LoadGenerator(TrafficPlan(**arguments))


def test_percentile_nearest_rank() -> None:
    """Nearest-rank percentiles of 1..100 are the expected elements."""
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.50) == 50.0
    assert percentile(values, 0.95) == 95.0
    assert percentile(values, 0.99) == 99.0
    assert percentile([3.0], 0.99) == 3.0
    assert percentile([], 0.5) is None


def test_stats_classify_statuses() -> None:
    """2xx are ok, 5xx server errors, 4xx and failures other errors."""
    stats = TrafficStats()
    stats.start()
    for status in (200, 204, 500, 503, 404):
        stats.record(status, 0.01)
    stats.record(None, 1.0, "timeout")
    snapshot = stats.snapshot()
    assert (snapshot.ok, snapshot.server_errors, snapshot.other_errors) == (2, 2, 2)
    assert snapshot.completed == 6
    assert snapshot.statuses["timeout"] == 1


@pytest.mark.parametrize(("path", "ok", "server"), [("/ok", True, False), ("/fail", False, True)])
def test_counts_against_a_local_server(server_url: str, path: str, ok: bool, server: bool) -> None:
    """Every sent request is counted once, as ok or as a 5xx, with latencies recorded."""
    plan = TrafficPlan(url=server_url + path, rate=50.0, duration=0.4, concurrency=4)
    progress: list[int] = []
    snapshot = LoadGenerator(plan, progress_interval=0.05).run(lambda s: progress.append(s.completed))
    assert snapshot.sent == snapshot.completed
    assert snapshot.sent >= 5
    assert snapshot.ok == (snapshot.sent if ok else 0)
    assert snapshot.server_errors == (snapshot.sent if server else 0)
    assert snapshot.p50 is not None and snapshot.p99 is not None and snapshot.p50 <= snapshot.p99
    assert progress and progress[-1] == snapshot.completed


def test_unreachable_target_counts_other_errors() -> None:
    """Connection failures are other errors, not 5xx."""
    plan = TrafficPlan(url="http://127.0.0.1:9/", rate=20.0, duration=0.2, concurrency=2, timeout=2.0)
    snapshot = LoadGenerator(plan).run()
    assert snapshot.completed == snapshot.sent > 0
    assert snapshot.other_errors == snapshot.sent
    assert snapshot.server_errors == 0 and snapshot.ok == 0


class _SlowApp:
    """A WSGI app that holds each request briefly and records the most requests in flight at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        with self.lock:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
        time.sleep(0.05)
        with self.lock:
            self.in_flight -= 1
        start_response("200 OK", [("Content-Length", "0")])
        return [b""]


def test_concurrency_bounds_requests_in_flight() -> None:
    """At most ``concurrency`` requests are in flight, even when the target is slower than the rate."""
    slow = _SlowApp()
    server = make_server("127.0.0.1", 0, slow, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        plan = TrafficPlan(
            url=f"http://127.0.0.1:{server.server_port}/", rate=200.0, duration=0.5, concurrency=2
        )
        snapshot = LoadGenerator(plan).run()
    finally:
        server.shutdown()
        thread.join(timeout=10)
    assert slow.most <= 2
    assert snapshot.completed == snapshot.sent
    assert snapshot.sent < 200 * 0.5
