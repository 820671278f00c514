"""The alarm history the local cloud keeps (moto keeps none): state updates, actions, configuration updates.

Items have DescribeAlarmHistory's fields; :meth:`AlarmHistory.query` filters them as that API does
(newest first unless ``scan_by`` says otherwise).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

__all__ = ["AlarmHistory", "HistoryItem", "HistoryItemType"]

HistoryItemType = Literal["ConfigurationUpdate", "StateUpdate", "Action"]


@dataclass(frozen=True)
class HistoryItem:
    """One entry of an alarm's history; ``timestamp`` is cloud epoch seconds."""

    alarm_name: str
    timestamp: float
    history_item_type: HistoryItemType
    summary: str
    data: str
    alarm_type: str = "MetricAlarm"

    def as_api(self) -> dict[str, Any]:
        """The item as DescribeAlarmHistory returns it (Timestamp as a naive UTC datetime, as moto writes)."""
        return {
            "AlarmName": self.alarm_name,
            "AlarmType": self.alarm_type,
            "Timestamp": datetime.fromtimestamp(self.timestamp, UTC).replace(tzinfo=None),
            "HistoryItemType": self.history_item_type,
            "HistorySummary": self.summary,
            "HistoryData": self.data,
        }


class AlarmHistory:
    """A thread-safe, bounded record of alarm history items."""

    def __init__(self, limit: int = 10_000) -> None:
        if limit < 1:
            raise ValueError(f"history limit must be at least 1, got {limit!r}")
        self._limit = limit
        self._items: list[HistoryItem] = []
        self._lock = threading.Lock()

    def add(self, item: HistoryItem) -> None:
        """Append ``item``, dropping the oldest beyond the limit."""
        with self._lock:
            self._items.append(item)
            del self._items[: max(0, len(self._items) - self._limit)]

    def state_update(
        self,
        alarm_name: str,
        timestamp: float,
        old: tuple[str, str, str],
        new: tuple[str, str, str],
    ) -> HistoryItem:
        """Record a state change; ``old``/``new`` are (state value, reason, reason data JSON)."""

        def state(value: str, reason: str, reason_data: str) -> dict[str, Any]:
            out: dict[str, Any] = {"stateValue": value, "stateReason": reason}
            try:
                parsed = json.loads(reason_data) if reason_data else None
            except ValueError:
                parsed = None
            if parsed:
                out["stateReasonData"] = parsed
            return out

        data = {"version": "1.0", "oldState": state(*old), "newState": state(*new)}
        return self._record(
            alarm_name, timestamp, "StateUpdate", f"Alarm updated from {old[0]} to {new[0]}", data
        )

    def action(self, alarm_name: str, timestamp: float, action: str, error: str | None = None) -> HistoryItem:
        """Record that ``action`` ran (or failed with ``error``)."""
        if error is None:
            summary = f"Successfully executed action {action}"
            data: dict[str, Any] = {"actionState": "Succeeded", "notificationResource": action}
        else:
            summary = f"Failed to execute action {action}"
            data = {"actionState": "Failed", "notificationResource": action, "error": error}
        return self._record(alarm_name, timestamp, "Action", summary, data)

    def configuration(self, alarm_name: str, timestamp: float, created: bool) -> HistoryItem:
        """Record that the alarm was created or updated."""
        verb = "created" if created else "updated"
        data = {"version": "1.0", "type": "Create" if created else "Update"}
        return self._record(
            alarm_name, timestamp, "ConfigurationUpdate", f'Alarm "{alarm_name}" {verb}', data
        )

    def _record(
        self, alarm_name: str, timestamp: float, kind: HistoryItemType, summary: str, data: dict[str, Any]
    ) -> HistoryItem:
        """Add an item whose ``HistoryData`` is ``data`` as compact JSON, and return it."""
        item = HistoryItem(alarm_name, timestamp, kind, summary, json.dumps(data, separators=(",", ":")))
        self.add(item)
        return item

    def items(self) -> list[HistoryItem]:
        """Every item, oldest first."""
        with self._lock:
            return list(self._items)

    def query(
        self,
        *,
        alarm_name: str | None = None,
        item_type: str | None = None,
        start: float | None = None,
        end: float | None = None,
        newest_first: bool = True,
        alarm_types: Iterable[str] | None = None,
    ) -> list[HistoryItem]:
        """Items matching every given filter, ``start <= timestamp <= end``."""
        types = set(alarm_types) if alarm_types else None
        found = [
            item
            for item in self.items()
            if (alarm_name is None or item.alarm_name == alarm_name)
            and (item_type is None or item.history_item_type == item_type)
            and (start is None or item.timestamp >= start)
            and (end is None or item.timestamp <= end)
            and (types is None or item.alarm_type in types)
        ]
        found.sort(key=lambda item: item.timestamp, reverse=newest_first)
        return found
