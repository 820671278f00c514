"""The report's navigation: the index lists the newest incident first, and each page links back to it."""

from __future__ import annotations

import re

from selfheal.loop.records import Datapoint, IncidentRecord
from selfheal.report.figures import incident_figures
from selfheal.report.page import IncidentPage, incident_html, index_html

ERRORS = [Datapoint(i * 60.0, v) for i, v in enumerate([0, 4, 6, 0, 0, 5, 5, 0])]


def _page(incident_id: str, alarm_time: float) -> IncidentPage:
    incident = IncidentRecord(incident_id, "RECOVERED", alarm_time=alarm_time, ok_time=alarm_time + 60)
    return IncidentPage(incident, incident_figures(incident, ERRORS, [], 60.0), f"{incident_id}.html")


def test_index_is_newest_first() -> None:
    listed = index_html([_page("old", 120.0), _page("new", 360.0)], "1h", "src")
    assert re.findall(r'href="(\w+)\.html"', listed) == ["new", "old"]


def test_incident_page_links_back_to_the_index() -> None:
    page = _page("one", 120.0)
    text = incident_html(page.incident, page.figures, b"png", [], "src")
    assert 'href="index.html"' in text
