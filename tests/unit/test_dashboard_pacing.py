"""The dashboard's sampling cadence: fast while a page reads, slow while none does, awake when one returns."""

from __future__ import annotations

import threading
import time

from test_dashboard_collector import T0, FakeReader

from selfheal.dashboard.collector import Collector
from selfheal.dashboard.timing import Pacing


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _next_in_thread(pacing: Pacing) -> tuple[threading.Thread, list[bool]]:
    result: list[bool] = []
    thread = threading.Thread(target=lambda: result.append(pacing.next()), daemon=True)
    thread.start()
    return thread, result


def test_a_read_collector_samples_every_interval() -> None:
    clock = FakeClock()
    pacing = Pacing(0.05, idle_interval=30.0, idle_after=10.0, clock=clock)
    started = time.monotonic()
    assert pacing.next() is True
    assert 0.04 <= time.monotonic() - started < 1.0
    assert not pacing.idle


def test_unread_for_idle_after_it_slows_down_and_a_reader_wakes_it() -> None:
    clock = FakeClock()
    pacing = Pacing(0.05, idle_interval=30.0, idle_after=10.0, clock=clock)
    clock.now += 10.5
    assert pacing.idle
    thread, result = _next_in_thread(pacing)
    thread.join(0.5)
    assert thread.is_alive() and result == []  # idle: not after 0.05 s, nor after 0.5 s
    pacing.read()
    thread.join(2.0)
    assert result == [True]
    assert not pacing.idle


def test_a_read_while_active_does_not_cut_the_interval_short() -> None:
    clock = FakeClock()
    pacing = Pacing(0.6, idle_interval=30.0, idle_after=10.0, clock=clock)
    started = time.monotonic()
    thread, result = _next_in_thread(pacing)
    pacing.read()
    thread.join(5.0)
    assert result == [True]
    assert time.monotonic() - started >= 0.5


def test_stop_ends_the_wait_even_when_idle() -> None:
    clock = FakeClock()
    pacing = Pacing(0.05, idle_interval=30.0, idle_after=10.0, clock=clock)
    clock.now += 60
    thread, result = _next_in_thread(pacing)
    pacing.stop()
    thread.join(2.0)
    assert result == [False]
    assert pacing.next() is False


def test_the_idle_interval_is_never_shorter_than_the_interval() -> None:
    assert Pacing(20.0, idle_interval=15.0).idle_interval == 20.0


def test_the_collector_idles_without_readers_and_samples_when_one_arrives() -> None:
    reader = FakeReader(T0 + 900)
    collector = Collector(reader, now=lambda: reader.now)  # type: ignore[arg-type]
    collector._pacing = Pacing(0.05, idle_interval=60.0, idle_after=0.3)
    collector.start()
    try:
        deadline = time.monotonic() + 5
        while not collector._pacing.idle:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.2)  # a sample already under way when it went idle ends
        version = collector._version
        time.sleep(0.6)
        assert collector._version == version  # idle: no sampling
        before = collector.latest()["version"]
        fresh = collector.wait(before, timeout=5.0)
        assert fresh is not None and fresh["version"] > before
    finally:
        collector.stop()
