"""Ship Lambda environments' output to CloudWatch Logs in moto, in batches.

Lines are buffered per (group, stream) and written by a background thread every ``interval`` seconds with
one ``put_log_events`` per stream, creating the group and stream when missing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["LogShipper", "log_group_name", "log_stream_name"]


def log_group_name(function_name: str) -> str:
    """Return Lambda's log group for ``function_name``."""
    return f"/aws/lambda/{function_name}"


def log_stream_name(day: str, version: str, environment_id: str) -> str:
    """Return Lambda's log stream name, ``YYYY/MM/DD/[$LATEST]<environment id>``."""
    return f"{day}/[{version}]{environment_id}"


class LogShipper:
    """Buffer log lines and write them to moto's Logs backend in batches."""

    def __init__(self, logs: Callable[[], Any], *, interval: float = 0.2) -> None:
        self._logs = logs
        self._interval = interval

    def write(self, group: str, stream: str, message: str, timestamp_ms: int | None = None) -> None:
        """Queue one log line."""
        raise NotImplementedError

    def flush(self) -> None:
        """Write every queued line now."""
        raise NotImplementedError

    def start(self) -> None:
        """Start the background writer."""
        raise NotImplementedError

    def stop(self) -> None:
        """Flush and stop the background writer."""
        raise NotImplementedError
