"""A component's background thread: a daemon running one loop, started once and stopped on request.

The alarm scheduler, EventBridge's schedules and the periodic flushers each run one; the loop watches
:attr:`WorkerThread.stopping` and ends when it is set. :func:`fire_until_stopped` is the loop of the
threads that fire schedules on the cloud clock (EventBridge's rules, EventBridge Scheduler).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Protocol

from selfheal.clock import Clock

__all__ = ["Clocked", "WorkerThread", "fire_until_stopped", "wait_for_due"]

_POLL = 0.25  # real seconds a schedule-firing thread sleeps at most


class Clocked(Protocol):
    """Whatever has the cloud clock (the local cloud, to the components it runs)."""

    @property
    def clock(self) -> Clock: ...


class WorkerThread:
    """Run ``loop`` on a daemon thread named ``name`` between :meth:`start` and :meth:`stop`."""

    def __init__(self, name: str, loop: Callable[[], None]) -> None:
        self.name = name
        self.stopping = threading.Event()
        self._loop = loop
        self._thread: threading.Thread | None = None

    @property
    def started(self) -> bool:
        """Whether :meth:`start` ran and :meth:`stop` has not."""
        return self._thread is not None

    def start(self) -> None:
        """Start the thread; an error if it is already started."""
        if self._thread is not None:
            raise RuntimeError(f"the {self.name} thread is already started")
        self.stopping.clear()
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, wake: threading.Event | None = None, timeout: float = 10) -> None:
        """Set :attr:`stopping` (and ``wake``, which the loop may wait on); wait ``timeout`` s for the end.

        Nothing happens when the thread is not started.
        """
        thread, self._thread = self._thread, None
        if thread is not None:
            self.stopping.set()
            if wake is not None:
                wake.set()
            thread.join(timeout)


def wait_for_due(event: threading.Event, clock: Clock, due: float) -> None:
    """Wait on ``event`` until cloud time ``due`` (inf: nothing due), at least 5 ms and at most 0.25 real
    seconds."""
    delay = clock.to_real(due) - time.time() if math.isfinite(due) else _POLL
    event.wait(min(_POLL, max(0.005, delay)))


def fire_until_stopped(
    worker: WorkerThread,
    fire_due: Callable[[], float],
    cloud: Callable[[], Clocked],
    log: logging.Logger,
    what: str,
    wake: threading.Event | None = None,
) -> None:
    """Until ``worker`` stops: fire what is due (``fire_due`` returns the next due cloud time, inf for
    none), then wait for that time on ``cloud()``'s clock, or for ``wake``. A round that raises is logged
    as ``what`` failing and the thread polls on, so one bad schedule never stops the others."""
    event = wake if wake is not None else worker.stopping
    while not worker.stopping.is_set():
        try:
            due = fire_due()
        except Exception:
            log.exception("%s failed", what)
            due = math.inf
        wait_for_due(event, cloud().clock, due)
        if wake is not None:
            wake.clear()
