"""Building an incident report: collect each incident's data, compute its figures, write PNG and HTML.

Output in ``out``: ``index.html``, and per incident ``<incident id>.png`` and ``<incident id>.html``
(self-contained: the PNG is embedded). The alarm transitions come from DescribeAlarmHistory, or from
what the ledger recorded for the incident where the history is not served.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from selfheal.loop.deployment import AwsTarget, Deployment
from selfheal.loop.reader import AlarmInfo, LoopReader
from selfheal.loop.records import IncidentRecord, StateChange
from selfheal.report.chart import failure_rate_steps, timeline_png
from selfheal.report.figures import alarm_segments, incident_figures
from selfheal.report.page import IncidentPage, incident_html, index_html

__all__ = ["ReportResult", "build_report", "parse_since"]

_SINCE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_LEAD_PERIODS = 8
_TAIL_PERIODS = 4


def parse_since(text: str) -> float:
    """Seconds in ``30m``, ``1h``, ``2d``, ``90s``; ValueError otherwise (or beyond 30 days)."""
    match = _SINCE.match(text)
    if not match:
        raise ValueError(f"--since must be a number with s, m, h or d (e.g. 1h, 30m), got {text!r}")
    seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if not 0 < seconds <= 30 * 86400:
        raise ValueError(f"--since must be above 0 and at most 30d (the ledger's retention), got {text!r}")
    return seconds


@dataclass(frozen=True)
class ReportResult:
    """The files written."""

    index: Path
    pages: tuple[Path, ...]
    images: tuple[Path, ...]


def _ledger_changes(incident: IncidentRecord) -> list[StateChange]:
    changes: list[StateChange] = []
    previous = "OK"
    for state, moment in sorted(incident.transitions, key=lambda item: item[1]):
        changes.append(StateChange(moment, previous, state, "recorded by the healer's ledger"))
        previous = state
    return changes


def build_report(
    target: AwsTarget,
    deployment: Deployment,
    since: float,
    out: Path,
    *,
    now: Callable[[], float] | None = None,
    limit: int = 100,
    progress: Callable[[int, int, str], None] | None = None,
) -> ReportResult:
    """Write the report of the incidents whose alarm fired in the last ``since`` cloud seconds.

    ``progress(done, total, incident_id)`` is called before each incident is read and drawn (and once
    more with ``done == total`` when the index is written), for a caller that shows progress."""
    if since <= 0:
        raise ValueError(f"since must be positive, got {since!r}")
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a directory")
    reader = LoopReader(target, deployment)
    alarm: AlarmInfo | None = reader.alarm()
    incidents = reader.incidents(limit)
    newest = [t for i in incidents for t in (i.alarm_time, i.ok_time, i.action_at) if t is not None]
    latest = max([time.time(), *newest, *([alarm.updated] if alarm and alarm.updated else [])])
    current = now() if now is not None else latest
    chosen = sorted((i for i in incidents if i.alarm_time >= current - since), key=lambda i: i.alarm_time)
    period = alarm.period if alarm else 60
    threshold = alarm.threshold if alarm else None
    source = f"{deployment.fragile_function_name} on {target.description}"

    out.mkdir(parents=True, exist_ok=True)
    pages: list[IncidentPage] = []
    written: list[Path] = []
    images: list[Path] = []
    for done, incident in enumerate(chosen):
        if progress is not None:
            progress(done, len(chosen), incident.incident_id)
        start = incident.alarm_time - period * _LEAD_PERIODS
        finish = max(incident.ok_time or current, incident.action_at or 0.0) + period * _TAIL_PERIODS
        end = min(finish, max(current, incident.alarm_time + period))
        invocations, errors = reader.metrics(start, end, period)
        changes = reader.state_changes(start, end)
        if changes is None:
            changes = _ledger_changes(incident)
        figures = incident_figures(
            incident, errors, invocations, period, reader.onset_errors(incident, period)
        )
        segments = alarm_segments(changes, start, end, alarm.state if alarm else None)
        png = timeline_png(
            title=f"{deployment.fragile_function_name}: incident {incident.incident_id} ({incident.status})",
            errors=errors,
            invocations=invocations,
            segments=segments,
            figures=figures,
            threshold=threshold,
            period=period,
            start=start,
            end=end,
            failure_rate=failure_rate_steps(
                incident.previous_failure_rate, incident.action, incident.action_at
            ),
        )
        image = out / f"{incident.incident_id}.png"
        image.write_bytes(png)
        page = out / f"{incident.incident_id}.html"
        page.write_text(incident_html(incident, figures, png, changes, source), encoding="utf-8")
        images.append(image)
        written.append(page)
        pages.append(IncidentPage(incident, figures, page.name))
    index = out / "index.html"
    index.write_text(index_html(pages, _since_text(since), source), encoding="utf-8")
    if progress is not None:
        progress(len(chosen), len(chosen), "")
    return ReportResult(index, tuple(written), tuple(images))


def _since_text(seconds: float) -> str:
    for unit in ("d", "h", "m"):
        if seconds >= _UNITS[unit] and seconds % _UNITS[unit] == 0:
            return f"{seconds / _UNITS[unit]:g}{unit}"
    return f"{seconds:g}s"
