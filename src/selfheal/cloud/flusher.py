"""A background thread that flushes a buffer every interval, and once more when stopped.

The Lambda log shipper and the metrics publisher both batch what the runtime records and write it to
moto on a timer, never one call per record.
"""

from __future__ import annotations

from .worker_thread import WorkerThread

__all__ = ["PeriodicFlusher"]


class PeriodicFlusher:
    """Call ``flush()`` every ``interval`` real seconds on a daemon thread named ``thread_name``."""

    thread_name = "flusher"

    def __init__(self, interval: float) -> None:
        if interval <= 0:
            raise ValueError(f"interval must be positive, got {interval!r}")
        self._interval = interval
        self._worker = WorkerThread(self.thread_name, self._run)

    def flush(self) -> object:
        """Write what is pending; subclasses implement it."""
        raise NotImplementedError

    def _run(self) -> None:
        while not self._worker.stopping.wait(self._interval):
            self.flush()

    def start(self) -> None:
        """Start the background flusher."""
        self._worker.start()

    def stop(self) -> None:
        """Stop the background flusher and flush what is pending."""
        self._worker.stop()
        self.flush()
