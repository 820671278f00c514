"""A small, bounded HTTP load generator: a target rate for a duration, at most C requests in flight.

Requests are scheduled at ``rate`` per second from the start; when ``concurrency`` requests are already
in flight the next one waits, so a slow target lowers the achieved rate instead of piling up requests.
Only loopback targets are accepted unless ``allow_remote`` is set: selfheal must never load-test
anything else by accident. Used by ``selfheal traffic``, the demo and the benchmarks.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from selfheal.loopback import is_loopback_host

__all__ = [
    "LoadGenerator",
    "TrafficPlan",
    "TrafficSnapshot",
    "TrafficStats",
    "check_target",
    "percentile",
]

MAX_CONCURRENCY = 256
MAX_RATE = 10_000.0


def check_target(url: str, allow_remote: bool = False) -> None:
    """Raise ValueError unless ``url`` is an http(s) URL on a loopback host (or ``allow_remote``)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"--url must be an http:// URL with a host, got {url!r}")
    if allow_remote:
        return
    host = parts.hostname
    if not is_loopback_host(host):
        raise ValueError(
            f"refusing to send load to {host}: only 127.0.0.1/localhost targets without --allow-remote"
        )


def percentile(sorted_values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile of already sorted values; None for no values."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


@dataclass(frozen=True)
class TrafficPlan:
    """Send ``rate`` requests per second for ``duration`` seconds, at most ``concurrency`` at once."""

    url: str
    rate: float
    duration: float
    concurrency: int = 16
    timeout: float = 10.0
    method: str = "GET"
    allow_remote: bool = False

    def validate(self) -> None:
        """Raise ValueError naming the first bad value."""
        check_target(self.url, self.allow_remote)
        if not math.isfinite(self.rate) or not 0 < self.rate <= MAX_RATE:
            raise ValueError(
                f"--rate must be above 0 and at most {MAX_RATE:g} requests per second, got {self.rate}"
            )
        if not math.isfinite(self.duration) or not 0 < self.duration <= 24 * 3600:
            raise ValueError(
                f"--duration must be above 0 and at most a day (in seconds), got {self.duration}"
            )
        if not 1 <= self.concurrency <= MAX_CONCURRENCY:
            raise ValueError(f"--concurrency must be from 1 to {MAX_CONCURRENCY}, got {self.concurrency}")
        if not math.isfinite(self.timeout) or self.timeout <= 0:
            raise ValueError(f"timeout must be positive, got {self.timeout}")


@dataclass(frozen=True)
class TrafficSnapshot:
    """Counts and latencies so far: ``server_errors`` are 5xx, ``other_errors`` 4xx and failed requests."""

    sent: int
    completed: int
    ok: int
    server_errors: int
    other_errors: int
    elapsed: float
    achieved_rate: float
    p50: float | None
    p95: float | None
    p99: float | None
    statuses: dict[str, int]

    @property
    def errors(self) -> int:
        """All unsuccessful requests."""
        return self.server_errors + self.other_errors

    @property
    def error_rate(self) -> float:
        """Unsuccessful share of completed requests (0 when none completed)."""
        return self.errors / self.completed if self.completed else 0.0


class TrafficStats:
    """Thread-safe counters of one run; :meth:`snapshot` reads them consistently."""

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self._lock = threading.Lock()
        self._started: float | None = None
        self._finished: float | None = None
        self._sent = 0
        self._latencies: list[float] = []
        self._statuses: Counter[str] = Counter()
        self._ok = self._server = self._other = 0

    def start(self) -> None:
        """Mark the start of the run."""
        with self._lock:
            self._started = self._now()

    def finish(self) -> None:
        """Mark the end of the run; the achieved rate stops moving."""
        with self._lock:
            self._finished = self._now()

    def record_sent(self) -> None:
        """Count a request as sent."""
        with self._lock:
            self._sent += 1

    def record(self, status: int | None, latency: float, failure: str | None = None) -> None:
        """Count a completed request: its status (None when it failed without one) and latency in seconds."""
        with self._lock:
            if status is None:
                self._other += 1
                self._statuses[failure or "error"] += 1
                return
            self._latencies.append(latency)
            self._statuses[str(status)] += 1
            if status >= 500:
                self._server += 1
            elif status >= 400:
                self._other += 1
            else:
                self._ok += 1

    def snapshot(self) -> TrafficSnapshot:
        """The counts so far and latency percentiles (seconds)."""
        with self._lock:
            end = self._finished if self._finished is not None else self._now()
            elapsed = max(0.0, end - self._started) if self._started is not None else 0.0
            latencies = sorted(self._latencies)
            completed = self._ok + self._server + self._other
            return TrafficSnapshot(
                sent=self._sent,
                completed=completed,
                ok=self._ok,
                server_errors=self._server,
                other_errors=self._other,
                elapsed=elapsed,
                achieved_rate=completed / elapsed if elapsed > 0 else 0.0,
                p50=percentile(latencies, 0.50),
                p95=percentile(latencies, 0.95),
                p99=percentile(latencies, 0.99),
                statuses=dict(self._statuses),
            )


class LoadGenerator:
    """Runs one :class:`TrafficPlan`; ``stats`` can be read while it runs and after it stops."""

    def __init__(self, plan: TrafficPlan, progress_interval: float = 0.25) -> None:
        plan.validate()
        self.plan = plan
        self.stats = TrafficStats()
        self._progress_interval = progress_interval
        self._stop = threading.Event()

    def stop(self) -> None:
        """Ask a running generator to stop sending (from any thread)."""
        self._stop.set()

    def run(self, on_progress: Callable[[TrafficSnapshot], None] | None = None) -> TrafficSnapshot:
        """Send the load (blocking) and return the final snapshot."""
        return asyncio.run(self._run(on_progress))

    async def _one(self, client: httpx.AsyncClient, gate: asyncio.Semaphore) -> None:
        started = time.monotonic()
        try:
            response = await client.request(self.plan.method, self.plan.url)
            await response.aclose()
            self.stats.record(response.status_code, time.monotonic() - started)
        except httpx.TimeoutException:
            self.stats.record(None, time.monotonic() - started, "timeout")
        except httpx.HTTPError as error:
            self.stats.record(None, time.monotonic() - started, type(error).__name__)
        finally:
            gate.release()

    async def _report(self, on_progress: Callable[[TrafficSnapshot], None]) -> None:
        while True:
            on_progress(self.stats.snapshot())
            await asyncio.sleep(self._progress_interval)

    async def _run(self, on_progress: Callable[[TrafficSnapshot], None] | None) -> TrafficSnapshot:
        plan = self.plan
        limits = httpx.Limits(max_connections=plan.concurrency, max_keepalive_connections=plan.concurrency)
        gate = asyncio.Semaphore(plan.concurrency)
        tasks: set[asyncio.Task[None]] = set()
        reporter = asyncio.create_task(self._report(on_progress)) if on_progress else None
        async with httpx.AsyncClient(limits=limits, timeout=plan.timeout, trust_env=False) as client:
            self.stats.start()
            start = time.monotonic()
            index = 0
            while not self._stop.is_set():
                due = start + index / plan.rate
                if due - start >= plan.duration:
                    break
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                await gate.acquire()
                if self._stop.is_set() or time.monotonic() - start >= plan.duration:
                    gate.release()
                    break
                self.stats.record_sent()
                task = asyncio.create_task(self._one(client, gate))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                index += 1
            if tasks:
                await asyncio.wait(set(tasks))
            self.stats.finish()
        final = self.stats.snapshot()
        if reporter is not None and on_progress is not None:
            reporter.cancel()
            await asyncio.gather(reporter, return_exceptions=True)
            on_progress(final)
        return final
