"""Bounded Lambda logs: each log group's retention in cloud time, and a cap on the bytes a group keeps.

moto keeps every log event forever and ignores ``retentionInDays``, so a cloud serving traffic grew by about
1.7 KiB per request. :class:`LogLimits` bounds what the log shipper (:mod:`.lambda_logs`) writes into moto:

- **retention**: events older than the group's ``retentionInDays`` (``PutRetentionPolicy``; none: never
  expire, as on AWS) are dropped, measured in cloud time (the events are stamped in cloud time too);
- **byte cap**: a group keeping more than ``max_group_bytes`` (default 16 MiB) drops its oldest events down
  to 7/8 of the cap. Sizes are counted as CloudWatch Logs counts an event for ``PutLogEvents``: its message
  in UTF-8 plus 26 bytes.

Bookkeeping is per *batch* (the events one flush wrote to one stream; consecutive batches of a stream are
merged while they span at most a cloud minute and 1/64 of the cap), kept in a deque per group in write
order, so finding what to drop is O(1) per batch. The events themselves are deleted from the heads of moto's
per-stream lists, which costs a copy of the list: that is done only when what is due amounts to 1/8 of what
the group keeps (or the cap was passed, or everything is due), or once a second at most otherwise, so the
work stays O(1) amortised per event and expired events disappear within about a second.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DEFAULT_MAX_GROUP_BYTES", "EVENT_OVERHEAD_BYTES", "LogLimits", "event_size"]

DEFAULT_MAX_GROUP_BYTES = 16 * 1024 * 1024
#: "the sum of all event messages in UTF-8, plus 26 bytes for each log event" (CloudWatch Logs API
#: reference, PutLogEvents).
EVENT_OVERHEAD_BYTES = 26
DAY_MS = 86_400_000
MERGE_SPAN_MS = 60_000
SWEEP_SECONDS = 1.0


def event_size(message: str) -> int:
    """How many bytes CloudWatch Logs counts for one event with ``message``."""
    return len(message.encode("utf-8", "replace")) + EVENT_OVERHEAD_BYTES


@dataclass
class _Batch:
    stream: Any  # moto's LogStream
    oldest_ms: int
    newest_ms: int
    size: int  # bytes as CloudWatch Logs counts them
    count: int
    moto_bytes: int  # what moto added to the stream's storedBytes (message lengths)


@dataclass
class _Group:
    model: Any  # moto's LogGroup
    batches: deque[_Batch] = field(default_factory=deque)
    size: int = 0  # bytes of the batches still kept
    due: dict[int, list[Any]] = field(default_factory=dict)  # id(stream) -> [stream, count, moto bytes]
    due_size: int = 0
    last_sweep: float = 0.0

    @property
    def stored(self) -> int:
        return self.size + self.due_size

    def retire(self, batch: _Batch) -> None:
        self.size -= batch.size
        self.due_size += batch.size
        entry = self.due.setdefault(id(batch.stream), [batch.stream, 0, 0])
        entry[1] += batch.count
        entry[2] += batch.moto_bytes


class LogLimits:
    """Apply retention and the byte cap to the log groups the shipper writes.

    ``max_group_bytes`` None turns the cap off (retention still applies); ``monotonic`` times the sweeps.
    """

    def __init__(
        self,
        max_group_bytes: int | None = DEFAULT_MAX_GROUP_BYTES,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_group_bytes is not None and max_group_bytes < 1:
            raise ValueError(f"max_group_bytes must be positive or None, got {max_group_bytes!r}")
        self.max_group_bytes = max_group_bytes
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._groups: dict[str, _Group] = {}
        self.dropped = 0

    def added(self, group: Any, stream: Any, events: list[dict[str, Any]]) -> None:
        """Account ``events`` (chronological), just written to moto's ``stream`` of ``group``."""
        if not events:
            return
        size = sum(event_size(e["message"]) for e in events)
        moto_bytes = sum(len(e["message"]) for e in events)
        oldest, newest = int(events[0]["timestamp"]), int(events[-1]["timestamp"])
        with self._lock:
            tracked = self._groups.get(group.name)
            if tracked is None or tracked.model is not group:
                tracked = self._groups[group.name] = _Group(group, last_sweep=self._monotonic())
            last = tracked.batches[-1] if tracked.batches else None
            if (
                last is not None
                and last.stream is stream
                and newest - last.oldest_ms <= MERGE_SPAN_MS
                and last.size + size <= (self.max_group_bytes or DEFAULT_MAX_GROUP_BYTES) // 64
            ):
                last.newest_ms = max(last.newest_ms, newest)
                last.size += size
                last.count += len(events)
                last.moto_bytes += moto_bytes
            else:
                tracked.batches.append(_Batch(stream, oldest, newest, size, len(events), moto_bytes))
            tracked.size += size

    def stored_bytes(self, group_name: str) -> int:
        """Bytes the group keeps now (as CloudWatch Logs counts them), of what the shipper wrote."""
        with self._lock:
            tracked = self._groups.get(group_name)
            return tracked.stored if tracked is not None else 0

    def enforce(self, now_ms: int, groups: Mapping[str, Any]) -> int:
        """Drop what retention (at cloud time ``now_ms``) and the cap no longer allow; return how many events.

        ``groups`` is moto's current log groups by name (a group deleted or recreated since is forgotten).
        """
        dropped = 0
        with self._lock:
            now = self._monotonic()
            for name, tracked in list(self._groups.items()):
                if groups.get(name) is not tracked.model:
                    del self._groups[name]
                    continue
                dropped += self._enforce_group(tracked, now_ms, now)
            self.dropped += dropped
        return dropped

    def _enforce_group(self, tracked: _Group, now_ms: int, now: float) -> int:
        batches = tracked.batches
        days = tracked.model.retention_in_days
        if days:
            cutoff = now_ms - int(float(days) * DAY_MS)
            while batches and batches[0].newest_ms < cutoff:
                tracked.retire(batches.popleft())
        forced = False
        cap = self.max_group_bytes
        if cap is not None and tracked.stored > cap:
            forced = True
            while batches and tracked.size > cap * 7 // 8:
                tracked.retire(batches.popleft())
        if not tracked.due:
            return 0
        if not (
            forced
            or not batches
            or tracked.due_size * 8 >= tracked.stored
            or now - tracked.last_sweep >= SWEEP_SECONDS
        ):
            return 0
        dropped = 0
        for stream, count, moto_bytes in tracked.due.values():
            count = min(count, len(stream.events))
            del stream.events[:count]
            stream.stored_bytes = max(0, stream.stored_bytes - moto_bytes)
            dropped += count
        tracked.due.clear()
        tracked.due_size = 0
        tracked.last_sweep = now
        return dropped
