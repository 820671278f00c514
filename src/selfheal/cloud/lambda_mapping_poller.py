"""The thread of one event source mapping, whatever it polls: start, wake, stop, warn once per problem.

:class:`MappingPoller` runs ``_poll`` (one batch, or nothing) in a loop while the mapping is enabled —
``settle(uuid)`` reports the mapping's ``State`` and answers whether it is — and sleeps on an event while it
is disabled; :meth:`wake` makes it re-read the mapping after the batch in flight. An exception from
``_poll`` (a queue or table deleted under the mapping, the cloud stopping) is logged once per distinct
problem and retried after ``retry_wait`` real seconds. :class:`~.lambda_sqs_poller.SqsPoller` and
:class:`~.lambda_stream_poller.StreamPoller` are its two kinds.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from selfheal.clock import Clock

from .protocol import Lambdas

__all__ = ["MappingPoller"]

log = logging.getLogger("selfheal.cloud.event_sources")


class MappingPoller:
    """One mapping's polling thread; subclasses implement :meth:`_poll`."""

    #: The thread's name is this prefix and the start of the mapping's UUID.
    thread_prefix = "poller"
    #: Real seconds before polling again after a batch that could not be invoked or a failed poll.
    retry_wait = 0.5

    def __init__(
        self,
        mapping: Any,
        *,
        lambdas: Lambdas,
        clock: Clock,
        region: str,
        settle: Callable[[str], bool],
    ) -> None:
        self.mapping = mapping
        self.uuid: str = mapping.uuid
        self._lambdas = lambdas
        self._clock = clock
        self._region = region
        self._settle = settle
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"{self.thread_prefix}-{self.uuid[:8]}", daemon=True
        )
        self.batches = 0
        self._warned: str | None = None

    def start(self) -> None:
        """Start polling (or waiting, while the mapping is disabled)."""
        self._thread.start()

    def wake(self) -> None:
        """The mapping changed: take it in after the batch in flight."""
        self._wake.set()

    def stop(self) -> None:
        """End the thread after the batch in flight (does not wait)."""
        self._stopping.set()
        self._wake.set()

    def join(self, timeout: float) -> None:
        """Wait up to ``timeout`` real seconds for the thread to end."""
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _poll(self) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            if not self._settle(self.uuid):
                self._wake.wait()
                continue
            try:
                self._poll()
            except Exception as exc:  # the source deleted under the mapping, the cloud stopping, …
                self._warn(f"{type(exc).__name__}: {exc}")
                self._stopping.wait(self.retry_wait)

    def _warn(self, problem: str) -> None:
        if problem != self._warned:
            self._warned = problem
            log.warning("event source mapping %s (%s): %s", self.uuid, self.mapping.event_source_arn, problem)
