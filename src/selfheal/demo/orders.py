"""The demo's traffic for a queue-fed function: orders sent straight to an SQS queue, and a few poison ones.

:class:`OrderSender` stands where :class:`selfheal.loop.traffic.LoadGenerator` stands for an HTTP API
(``run``, ``stop``, ``stats``): it sends one well-formed order per tick at its rate and, once, after
``poison_after`` real seconds, a few malformed orders spaced apart (so they land in different batches).
It counts exactly what SQS accepted, so the demo can account for every message at the end.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from selfheal.loop.traffic import TrafficStats

__all__ = ["OrderSender", "poison_body"]


def poison_body(index: int) -> str:
    """A malformed order: its quantity is not a whole number (the worker cannot process it, ever)."""
    return json.dumps({"order_id": f"poison-{index}", "quantity": "a dozen"})


class OrderSender:
    """Sends orders to ``queue_url`` at ``rate`` per second until stopped, with ``poison`` malformed ones."""

    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        rate: float,
        *,
        poison: int = 5,
        poison_after: float = 2.0,
        poison_spacing: float = 0.4,
    ) -> None:
        self.sqs, self.queue_url, self.rate = sqs, queue_url, rate
        self.poison, self.poison_after, self.poison_spacing = poison, poison_after, poison_spacing
        self.stats = TrafficStats()
        self.orders_sent = 0
        self.poison_sent = 0
        self.refused = 0
        self._events: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()

    @property
    def accepted(self) -> int:
        """Messages SQS accepted (orders and poison)."""
        return self.orders_sent + self.poison_sent

    def stop(self) -> None:
        """Ask a running sender to stop (from any thread)."""
        self._stop.set()

    def take_events(self) -> list[str]:
        """What the sender did worth an event line since the last call (the poison it sent)."""
        with self._lock:
            taken, self._events = self._events, []
        return taken

    def _send(self, body: str) -> bool:
        self.stats.record_sent()
        started = time.monotonic()
        try:
            self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=body)
        except (BotoCoreError, ClientError) as error:
            self.refused += 1
            self.stats.record(None, time.monotonic() - started, type(error).__name__)
            return False
        self.stats.record(200, time.monotonic() - started)
        return True

    def run(self) -> None:
        """Send until :meth:`stop` (blocking)."""
        self.stats.start()
        start = time.monotonic()
        last_poison = -self.poison_spacing
        tick = 0
        while not self._stop.is_set():
            now = time.monotonic() - start
            due_poison = (
                self.poison_sent < self.poison
                and now >= self.poison_after
                and now - last_poison >= self.poison_spacing
            )
            if due_poison:
                index = self.poison_sent + 1
                if self._send(poison_body(index)):
                    self.poison_sent += 1
                    with self._lock:
                        self._events.append(f"poison: malformed order poison-{index} sent to the queue")
                last_poison = now
            elif self._send(json.dumps({"order_id": f"order-{tick}", "quantity": tick % 5 + 1})):
                self.orders_sent += 1
                tick += 1
            else:
                tick += 1
            self._stop.wait(max(0.0, start + (tick + self.poison_sent) / self.rate - time.monotonic()))
        self.stats.finish()
