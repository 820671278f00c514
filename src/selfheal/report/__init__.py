"""Incident reports of the self-healing loop: figures, a timeline PNG and a self-contained HTML page each."""

from selfheal.report.builder import ReportResult, build_report, parse_since
from selfheal.report.figures import IncidentFigures, alarm_segments, error_onset, incident_figures

__all__ = [
    "IncidentFigures",
    "ReportResult",
    "alarm_segments",
    "build_report",
    "error_onset",
    "incident_figures",
    "parse_since",
]
