"""The components' background thread and the loop of the schedule-firing threads."""

from __future__ import annotations

import logging
import math
import threading
import time
from types import SimpleNamespace

import pytest

from polling import eventually
from selfheal.clock import Clock
from selfheal.cloud.worker_thread import WorkerThread, fire_until_stopped, wait_for_due

LOG = logging.getLogger("selfheal.tests.worker")


def test_a_worker_starts_once_and_stops_its_loop() -> None:
    ran = threading.Event()
    worker: WorkerThread

    def loop() -> None:
        ran.set()
        worker.stopping.wait()

    worker = WorkerThread("test-worker", loop)
    worker.start()
    assert worker.started and ran.wait(5)
    with pytest.raises(RuntimeError, match="test-worker thread is already started"):
        worker.start()
    worker.stop()
    assert not worker.started
    worker.stop()  # stopping a stopped worker does nothing


def test_a_failing_round_is_logged_and_the_thread_fires_on(caplog: pytest.LogCaptureFixture) -> None:
    rounds: list[float] = []
    clock = Clock(scale=1.0)
    cloud = SimpleNamespace(clock=clock)

    def fire_due() -> float:
        rounds.append(time.monotonic())
        if len(rounds) == 1:
            raise RuntimeError("a bad schedule")
        return clock.now()  # due now: the loop comes straight back (after the 5 ms floor)

    worker: WorkerThread
    worker = WorkerThread(
        "firing",
        lambda: fire_until_stopped(worker, fire_due, lambda: cloud, LOG, "test schedules"),
    )
    with caplog.at_level(logging.ERROR, logger=LOG.name):
        worker.start()
        eventually(lambda: len(rounds) >= 5, 5, "five rounds")
        worker.stop()
    failures = [r for r in caplog.records if r.getMessage() == "test schedules failed"]
    assert len(failures) == 1 and failures[0].exc_info is not None
    # After the failure it waited the 0.25 s poll (nothing known to be due), then went on promptly.
    assert rounds[1] - rounds[0] >= 0.2
    assert rounds[4] - rounds[1] < 1.0


def test_the_wake_event_cuts_the_wait_short_and_is_cleared() -> None:
    clock = Clock(scale=1.0)
    cloud = SimpleNamespace(clock=clock)
    wake = threading.Event()
    rounds: list[float] = []

    def fire_due() -> float:
        rounds.append(time.monotonic())
        return clock.now() + 3600.0  # the next one is an hour away

    worker: WorkerThread
    worker = WorkerThread(
        "waking",
        lambda: fire_until_stopped(worker, fire_due, lambda: cloud, LOG, "woken", wake),
    )
    worker.start()
    try:
        eventually(lambda: len(rounds) == 1, 5, "the first round")
        wake.set()
        eventually(lambda: len(rounds) >= 2, 5, "a round woken early")
        eventually(lambda: not wake.is_set(), 5, "the wake event cleared")
    finally:
        worker.stop(wake)
    assert not worker.started


def test_wait_for_due_never_sleeps_past_the_poll_nor_spins() -> None:
    clock = Clock(scale=1.0)
    never = threading.Event()
    started = time.monotonic()
    wait_for_due(never, clock, math.inf)
    waited = time.monotonic() - started
    assert 0.2 <= waited < 1.0
    started = time.monotonic()
    wait_for_due(never, clock, clock.now() - 10)  # overdue: the 5 ms floor
    assert time.monotonic() - started < 0.2
