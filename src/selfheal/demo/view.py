"""How the demo shows the loop while it runs: a rich Live panel on a terminal, plain lines otherwise."""

from __future__ import annotations

from types import TracebackType
from typing import Protocol

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from selfheal.demo.timeline import Event, Timeline

__all__ = ["DemoView", "LiveView", "PlainView", "make_view", "status_line"]

_STATE_STYLE = {"OK": "bold green", "ALARM": "bold red", "INSUFFICIENT_DATA": "yellow"}
_SHOWN_EVENTS = 12


class DemoView(Protocol):
    """Receives the timeline after every poll, with the events that poll caused."""

    def __enter__(self) -> DemoView: ...

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    def update(self, timeline: Timeline, new: list[Event]) -> None: ...


def status_line(timeline: Timeline, scale: float) -> str:
    """One line of the current numbers."""
    latest = timeline.latest
    return (
        f"{timeline.request_rate:5.1f} req/s  errors {timeline.error_rate:4.0%}  "
        f"alarm {latest.alarm_state or '—'}  {timeline.setting} {latest.failure_rate or '—'}  "
        f"cloud +{latest.at * scale:.0f} s"
    )


def _render(timeline: Timeline, scale: float, url: str, dashboard_url: str | None) -> RenderableType:
    latest = timeline.latest
    numbers = Table.grid(padding=(0, 2))
    for _ in range(4):
        numbers.add_column()
    state = latest.alarm_state or "—"
    traffic = latest.traffic
    numbers.add_row(
        Text("requests", style="dim"),
        Text(f"{timeline.request_rate:.1f}/s"),
        Text("alarm", style="dim"),
        Text(state, style=_STATE_STYLE.get(state, "")),
    )
    error_style = "bold red" if timeline.error_rate > 0.05 else "green"
    numbers.add_row(
        Text("errors (last 3 s)", style="dim"),
        Text(f"{timeline.error_rate:.0%}", style=error_style),
        Text(timeline.setting, style="dim"),
        Text(latest.failure_rate or "—", style="bold"),
    )
    numbers.add_row(
        Text("total / 5xx", style="dim"),
        Text(f"{traffic.completed} / {traffic.server_errors}" if traffic else "—"),
        Text("incident", style="dim"),
        Text(timeline.incident.status if timeline.incident else "—"),
    )
    clock = Text(
        f"time scale {scale:g}: {latest.at:.1f} real s = {latest.at * scale:.0f} cloud s    {url}",
        style="dim",
    )
    events = Table.grid(padding=(0, 1))
    events.add_column(justify="right", style="dim")
    events.add_column()
    for event in timeline.events[-_SHOWN_EVENTS:]:
        style = "bold" if event.kind == "healer" else ""
        events.add_row(f"+{event.at:.1f} s", Text(event.text, style=style))
    if not timeline.events:
        events.add_row("", Text("waiting for the first failure…", style="dim"))
    parts: list[RenderableType] = []
    if dashboard_url:
        parts += [Text.assemble(("dashboard ", "dim"), (dashboard_url, "bold cyan underline")), Text("")]
    return Panel(
        Group(*parts, clock, Text(""), numbers, Text(""), events),
        title="selfheal demo — Detect → Decide → Act → Verify",
        title_align="left",
    )


class LiveView:
    """A panel redrawn in place: numbers, alarm state, the watched setting and the latest events."""

    def __init__(self, console: Console, scale: float, url: str, dashboard_url: str | None = None) -> None:
        self.scale, self.url, self.dashboard_url = scale, url, dashboard_url
        self._live = Live(console=console, refresh_per_second=4, transient=False, auto_refresh=True)

    def __enter__(self) -> LiveView:
        self._live.__enter__()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._live.__exit__(kind, error, tb)

    def update(self, timeline: Timeline, new: list[Event]) -> None:
        """Redraw."""
        self._live.update(_render(timeline, self.scale, self.url, self.dashboard_url))


class PlainView:
    """For logs: each event as a line, and the numbers every ``every`` real seconds."""

    def __init__(
        self,
        console: Console,
        scale: float,
        url: str,
        dashboard_url: str | None = None,
        every: float = 5.0,
    ) -> None:
        self.console, self.scale, self.url, self.every = console, scale, url, every
        self.dashboard_url = dashboard_url
        self._last: float | None = None

    def __enter__(self) -> PlainView:
        if self.dashboard_url:
            self.console.print(f"dashboard → {self.dashboard_url}", markup=False, highlight=False)
        self.console.print(f"traffic → {self.url} (time scale {self.scale:g})", markup=False)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Nothing to close."""

    def update(self, timeline: Timeline, new: list[Event]) -> None:
        """Print new events, and the numbers when it is time."""
        for event in new:
            self.console.print(f"[+{event.at:5.1f} s] {event.text}", markup=False, highlight=False)
        at = timeline.latest.at
        if self._last is None or at - self._last >= self.every:
            self._last = at
            line = status_line(timeline, self.scale)
            self.console.print(f"[+{at:5.1f} s] {line}", markup=False, highlight=False)


def make_view(console: Console, scale: float, url: str, dashboard_url: str | None = None) -> DemoView:
    """A live view on a terminal, plain lines otherwise; both show ``dashboard_url`` first when given."""
    if console.is_terminal:
        return LiveView(console, scale, url, dashboard_url)
    return PlainView(console, scale, url, dashboard_url)
