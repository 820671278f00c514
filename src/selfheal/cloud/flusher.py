"""A background thread that flushes a buffer every interval, and once more when stopped.

The Lambda log shipper and the metrics publisher both batch what the runtime records and write it to
moto on a timer, never one call per record.
"""

from __future__ import annotations

import threading

__all__ = ["PeriodicFlusher"]


class PeriodicFlusher:
    """Call ``flush()`` every ``interval`` real seconds on a daemon thread named ``thread_name``."""

    thread_name = "flusher"

    def __init__(self, interval: float) -> None:
        if interval <= 0:
            raise ValueError(f"interval must be positive, got {interval!r}")
        self._interval = interval
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def flush(self) -> object:
        """Write what is pending; subclasses implement it."""
        raise NotImplementedError

    def _run(self) -> None:
        while not self._stopping.wait(self._interval):
            self.flush()

    def start(self) -> None:
        """Start the background flusher."""
        if self._thread is not None:
            raise RuntimeError(f"the {self.thread_name} thread is already started")
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the background flusher and flush what is pending."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stopping.set()
            thread.join(timeout=10)
        self.flush()
