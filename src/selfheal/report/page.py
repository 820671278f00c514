"""Self-contained HTML pages of the report: one per incident (PNG embedded as base64) and an index."""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from selfheal.loop.records import IncidentRecord, StateChange
from selfheal.loop.timings import format_duration
from selfheal.report.figures import IncidentFigures

__all__ = ["IncidentPage", "format_duration", "incident_html", "index_html"]

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;color:#1d2430;max-width:1000px;margin:24px auto;padding:0 16px}
h1{font-size:22px;margin:0 0 4px} .muted{color:#6b7483} img{max-width:100%;border:1px solid #e2e6ec}
table{border-collapse:collapse;margin:12px 0} td,th{padding:5px 12px 5px 0;text-align:left;
border-bottom:1px solid #e2e6ec} th{color:#6b7483;font-weight:500}
.figures td:last-child{font-weight:650;font-size:16px}
"""


@dataclass(frozen=True)
class IncidentPage:
    """What the index lists about one incident page."""

    incident: IncidentRecord
    figures: IncidentFigures
    file_name: str


def _when(t: float | None) -> str:
    return "-" if t is None else datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _page(title: str, body: str) -> str:
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body>\n{body}\n</body></html>\n"
    )


def incident_html(
    incident: IncidentRecord,
    figures: IncidentFigures,
    png: bytes,
    changes: Sequence[StateChange],
    source: str,
) -> str:
    """The page of one incident: figures, timeline image, the healer's decision and the alarm transitions."""
    e = html.escape
    rows = [
        ("time to detect (errors begin → ALARM)", format_duration(figures.time_to_detect)),
        ("time to act (ALARM → healer's change)", format_duration(figures.time_to_act)),
        ("time to recover (ALARM → OK)", format_duration(figures.time_to_recover)),
        (
            "errors served during the incident",
            f"{figures.errors_served:.0f} of {figures.requests_served:.0f} requests",
        ),
    ]
    figure_rows = "".join(f"<tr><td>{e(name)}</td><td>{e(value)}</td></tr>" for name, value in rows)
    details = [
        ("status", incident.status),
        ("alarm at", _when(incident.alarm_time)),
        ("decision", incident.decision or "-"),
        ("reason", incident.reason or "-"),
        ("action", incident.action or "-"),
        ("action at", _when(incident.action_at)),
        ("previous FAILURE_RATE", incident.previous_failure_rate or "-"),
        ("OK again at", _when(incident.ok_time)),
    ]
    detail_rows = "".join(f"<tr><th>{e(name)}</th><td>{e(value)}</td></tr>" for name, value in details)
    change_rows = "".join(
        f"<tr><td>{e(_when(c.t))}</td><td>{e(c.old)} → {e(c.new)}</td><td>{e(c.reason)}</td></tr>"
        for c in changes
    )
    image = base64.b64encode(png).decode("ascii")
    body = f"""<nav><a href="index.html">← all incidents</a></nav>
<h1>Incident {e(incident.incident_id)}</h1>
<div class="muted">{e(source)}</div>
<table class="figures">{figure_rows}</table>
<img alt="timeline of incident {e(incident.incident_id)}" src="data:image/png;base64,{image}">
<h2>What the healer did</h2><table>{detail_rows}</table>
<h2>Alarm transitions</h2><table><tr><th>time</th><th>change</th><th>reason</th></tr>{change_rows}</table>"""
    return _page(f"selfheal incident {incident.incident_id}", body)


def index_html(pages: Sequence[IncidentPage], since_text: str, source: str) -> str:
    """The report's index: one row per incident, newest first, with its figures and a link to its page."""
    e = html.escape
    pages = sorted(pages, key=lambda p: p.incident.alarm_time, reverse=True)
    rows = "".join(
        f'<tr><td><a href="{e(p.file_name)}">{e(_when(p.incident.alarm_time))}</a></td>'
        f"<td>{e(p.incident.status)}</td><td>{e(format_duration(p.figures.time_to_detect))}</td>"
        f"<td>{e(format_duration(p.figures.time_to_act))}</td>"
        f"<td>{e(format_duration(p.figures.time_to_recover))}</td><td>{p.figures.errors_served:.0f}</td></tr>"
        for p in pages
    )
    empty = "" if pages else "<p>No incidents in this period.</p>"
    header = "".join(
        f"<th>{name}</th>" for name in ("alarm at", "status", "detect", "act", "recover", "errors")
    )
    body = (
        f"<h1>selfheal incident report</h1>"
        f'<div class="muted">{e(source)} — incidents of the last {e(since_text)}</div>\n'
        f"<table><tr>{header}</tr>{rows}</table>{empty}"
    )
    return _page("selfheal incident report", body)
