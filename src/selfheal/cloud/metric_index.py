"""An index of moto's CloudWatch datums by metric and time, and their expiry.

moto keeps every datum in one list (``CloudWatchBackend.metric_data``) and scans all of it for each query.
:class:`MetricIndex` keeps, per metric — (namespace, metric name, exact dimension set) — the datums sorted
by timestamp, so that the datums of one metric in a time window are found by bisection, whatever else is
stored. It reads moto's list incrementally: it remembers how far it has read and indexes what was appended
since (at each read, and after each ``put_metric_data`` while the wrapper :meth:`MetricIndex.patch` registers
on a :class:`~selfheal.cloud.moto_patches.MotoPatches` is installed). A list replaced or shortened behind its
back (a reset backend) is re-read from the start. The wrapper also attaches to a stored statistic set the
(value, count) pairs its metric datum carried under ``SelfhealValues`` (the Lambda metrics publisher's
durations), for percentiles (:data:`~selfheal.cloud.alarm_datapoints.VALUES_ATTRIBUTE`).

:meth:`MetricIndex.expire` drops the datums stamped before a cutoff from both the index and moto's list.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .alarm_datapoints import VALUES_ATTRIBUTE, MetricSelector
from .moto_patches import MotoPatches

__all__ = ["MetricIndex", "MetricKey"]

MetricKey = tuple[str, str, frozenset[tuple[str, str]]]


def _epoch(moment: datetime) -> float:
    # moto stores naive UTC datetimes.
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


@dataclass
class _Series:
    """One metric's datums in timestamp order (ties in arrival order), with their arrival numbers."""

    stamps: list[float] = field(default_factory=list)
    arrivals: list[int] = field(default_factory=list)
    datums: list[Any] = field(default_factory=list)

    def add(self, stamp: float, arrival: int, datum: Any) -> None:
        if not self.stamps or stamp >= self.stamps[-1]:
            self.stamps.append(stamp)
            self.arrivals.append(arrival)
            self.datums.append(datum)
            return
        at = bisect.bisect_right(self.stamps, stamp)
        self.stamps.insert(at, stamp)
        self.arrivals.insert(at, arrival)
        self.datums.insert(at, datum)

    def drop_before(self, cutoff: float) -> list[Any]:
        at = bisect.bisect_left(self.stamps, cutoff)
        dropped = self.datums[:at]
        if at:
            del self.stamps[:at], self.arrivals[:at], self.datums[:at]
        return dropped


class MetricIndex:
    """Datums of moto's CloudWatch backend by metric, sorted by time; thread-safe."""

    def __init__(self, backend: Any) -> None:
        self._backend = backend
        self._lock = threading.RLock()
        self._series: dict[MetricKey, _Series] = {}
        self._list: list[Any] | None = None  # the moto list indexed so far
        self._read = 0  # how many of its datums are indexed
        self._arrivals = 0

    def __len__(self) -> int:
        with self._lock:
            self._catch_up()
            return sum(len(s.stamps) for s in self._series.values())

    def _catch_up(self) -> None:
        data: list[Any] = self._backend.metric_data
        if data is not self._list or len(data) < self._read:
            self._series.clear()
            self._list, self._read = data, 0
        end = len(data)
        for datum in data[self._read : end]:
            key = (datum.namespace, datum.name, frozenset((d.name, d.value) for d in datum.dimensions))
            series = self._series.get(key)
            if series is None:
                series = self._series[key] = _Series()
            series.add(_epoch(datum.timestamp), self._arrivals, datum)
            self._arrivals += 1
        self._read = end

    def patch(self, patches: MotoPatches) -> None:
        """Register on ``patches`` the wrapper of the backend's ``put_metric_data`` that indexes each put."""
        patches.replace(
            self._backend,
            "put_metric_data",
            self._indexing,
            reason="index each put at once, so that alarm evaluations read only their metric's window",
        )

    def hook(self) -> Callable[[], None]:
        """Install :meth:`patch` on a registry of its own; return its restore (the undo)."""
        patches = MotoPatches()
        self.patch(patches)
        patches.install()
        return patches.restore

    def _indexing(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def put_metric_data(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                data = self._backend.metric_data
                before = len(data)
                result = original(*args, **kwargs)
                members = kwargs.get("metric_data", args[1] if len(args) > 1 else None)
                if members and data is self._backend.metric_data:
                    _attach_values(members, data[before:])
                self._catch_up()
            return result

        return put_metric_data

    def window(self, selector: MetricSelector, start: float, end: float) -> list[Any]:
        """The selector's datums stamped in [start, end), in the order moto stored them."""
        with self._lock:
            self._catch_up()
            series = self._series.get((selector.namespace, selector.metric_name, selector.dimensions))
            if series is None:
                return []
            lo = bisect.bisect_left(series.stamps, start)
            hi = bisect.bisect_left(series.stamps, end, lo)
            picked = sorted(zip(series.arrivals[lo:hi], series.datums[lo:hi], strict=True), key=_first)
        # Arrival order, as a scan of moto's list sees them, so that sums add up in the same order.
        return [datum for _, datum in picked if selector.unit is None or datum.unit == selector.unit]

    def expire(self, cutoff: float) -> int:
        """Drop the datums stamped before ``cutoff`` (epoch) from the index and moto; return how many."""
        with self._lock:
            self._catch_up()
            dropped: set[int] = set()
            for key, series in list(self._series.items()):
                dropped.update(id(datum) for datum in series.drop_before(cutoff))
                if not series.stamps:
                    del self._series[key]
            if dropped:
                data = self._backend.metric_data
                data[:] = [datum for datum in data if id(datum) not in dropped]
                self._read = len(data)
            return len(dropped)


def _first(pair: tuple[int, Any]) -> int:
    return pair[0]


def _attach_values(members: list[dict[str, Any]], stored: list[Any]) -> None:
    """Give each stored statistic set the value pairs its member carried (moto stores members in order)."""
    at = 0
    for member in members:
        if member.get("Values"):
            counts = member.get("Counts") or ["1"] * len(member["Values"])
            at += sum(int(float(count)) for count in counts)
            continue
        if at >= len(stored):
            return
        pairs = member.get("SelfhealValues")
        if pairs is not None and member.get("StatisticValues"):
            setattr(stored[at], VALUES_ATTRIBUTE, tuple((float(v), float(c)) for v, c in pairs))
        at += 1
