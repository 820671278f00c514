"""Ship Lambda environments' output to CloudWatch Logs in moto, in batches, in cloud time, bounded.

Lines are buffered per (group, stream) and written by a background thread every ``interval`` real seconds
with one put per stream, creating the group and stream when missing. Events are stamped in cloud time (as
every other timestamp of the local cloud), so they are written to moto's log group directly: moto's
``PutLogEvents`` would refuse events more than two hours ahead of the real clock. After each flush
:class:`~selfheal.cloud.log_limits.LogLimits` applies the groups' retention (cloud time) and byte cap.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from selfheal.cloud.flusher import PeriodicFlusher

from .lambda_functions import backend_in_region
from .log_limits import DEFAULT_MAX_GROUP_BYTES, LogLimits

__all__ = ["LogShipper", "log_group_name", "log_stream_name"]


def log_group_name(function_name: str) -> str:
    """Return Lambda's log group for ``function_name``."""
    return f"/aws/lambda/{function_name}"


def log_stream_name(day: str, version: str, environment_id: str) -> str:
    """Return Lambda's log stream name, ``YYYY/MM/DD/[$LATEST]<environment id>``."""
    return f"{day}/[{version}]{environment_id}"


class LogShipper(PeriodicFlusher):
    """Buffer log lines and write them to moto's Logs backend in batches.

    ``logs`` returns moto's Logs backend; ``now_ms`` gives the (cloud) time of a line in epoch milliseconds.
    ``max_group_bytes`` caps what each log group keeps (None: no cap; see :attr:`limits`).
    """

    thread_name = "lambda-logs"

    def __init__(
        self,
        logs: Callable[[], Any],
        now_ms: Callable[[], int],
        *,
        interval: float = 0.2,
        max_group_bytes: int | None = DEFAULT_MAX_GROUP_BYTES,
    ) -> None:
        super().__init__(interval)
        self._logs = logs
        self._now_ms = now_ms
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        # By (region, group, stream); region None: the backend ``logs`` returns (the cloud's region).
        self._buffers: dict[tuple[str | None, str, str], list[dict[str, Any]]] = {}
        self._regions: set[str | None] = {None}
        self.limits = LogLimits(max_group_bytes)
        self.puts = 0

    def write(
        self,
        group: str,
        stream: str,
        message: str,
        timestamp_ms: int | None = None,
        *,
        region: str | None = None,
    ) -> None:
        """Queue one log line for ``region``'s CloudWatch Logs (None: the cloud's region)."""
        with self._lock:
            events = self._buffers.setdefault((region, group, stream), [])
            stamp = self._now_ms() if timestamp_ms is None else timestamp_ms
            # A batch must be in chronological order; lines of one stream come from two threads.
            if events:
                stamp = max(stamp, events[-1]["timestamp"])
            events.append({"timestamp": stamp, "message": message})

    def flush(self) -> None:
        """Write every queued line now (one put per stream), then apply retention and the byte cap."""
        with self._flush_lock:
            with self._lock:
                buffers, self._buffers = self._buffers, {}
            default = self._logs()
            now_ms = self._now_ms()
            for (region, group, stream), events in buffers.items():
                self._regions.add(region)
                backend = backend_in_region(default, "logs", region)
                backend.ensure_log_group(group)
                log_group = backend.groups[group]
                if stream not in log_group.streams:
                    log_group.create_log_stream(stream)
                target = log_group.streams[stream]
                log_group.put_log_events(stream, events)
                # moto stamps ingestion with the real clock; the local cloud's clock is the cloud's.
                for event in target.events[-len(events) :]:
                    event.ingestion_time = now_ms
                target.last_ingestion_time = datetime.fromtimestamp(now_ms / 1000, UTC).replace(tzinfo=None)
                self.limits.added(log_group, target, events)
                self.puts += 1
            for region in self._regions:
                self.limits.enforce(now_ms, backend_in_region(default, "logs", region).groups)
