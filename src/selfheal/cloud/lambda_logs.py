"""Ship Lambda environments' output to CloudWatch Logs in moto, in batches.

Lines are buffered per (group, stream) and written by a background thread every ``interval`` real seconds
with one ``put_log_events`` per stream, creating the group and stream when missing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from selfheal.cloud.flusher import PeriodicFlusher

__all__ = ["LogShipper", "log_group_name", "log_stream_name"]


def log_group_name(function_name: str) -> str:
    """Return Lambda's log group for ``function_name``."""
    return f"/aws/lambda/{function_name}"


def log_stream_name(day: str, version: str, environment_id: str) -> str:
    """Return Lambda's log stream name, ``YYYY/MM/DD/[$LATEST]<environment id>``."""
    return f"{day}/[{version}]{environment_id}"


class LogShipper(PeriodicFlusher):
    """Buffer log lines and write them to moto's Logs backend in batches.

    ``logs`` returns moto's Logs backend; ``now_ms`` gives the timestamp of a line. Log timestamps are real
    time, not cloud time: moto (like AWS) rejects events more than two hours in the future.
    """

    thread_name = "lambda-logs"

    def __init__(self, logs: Callable[[], Any], now_ms: Callable[[], int], *, interval: float = 0.2) -> None:
        super().__init__(interval)
        self._logs = logs
        self._now_ms = now_ms
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._buffers: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.puts = 0

    def write(self, group: str, stream: str, message: str, timestamp_ms: int | None = None) -> None:
        """Queue one log line."""
        with self._lock:
            events = self._buffers.setdefault((group, stream), [])
            stamp = self._now_ms() if timestamp_ms is None else timestamp_ms
            # A batch must be in chronological order; lines of one stream come from two threads.
            if events:
                stamp = max(stamp, events[-1]["timestamp"])
            events.append({"timestamp": stamp, "message": message})

    def flush(self) -> None:
        """Write every queued line now: one put per stream."""
        with self._flush_lock:
            with self._lock:
                buffers, self._buffers = self._buffers, {}
            if not buffers:
                return
            backend = self._logs()
            for (group, stream), events in buffers.items():
                backend.ensure_log_group(group)
                log_group = backend.groups[group]
                if stream not in log_group.streams:
                    log_group.create_log_stream(stream)
                backend.put_log_events(group, stream, events)
                self.puts += 1
