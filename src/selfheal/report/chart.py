"""The incident timeline as a PNG: errors per period against the threshold, the alarm band, the events.

matplotlib with the Agg backend (no display needed), one figure per call, closed before returning.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from datetime import UTC, datetime

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from selfheal.loop.records import AlarmSegment, Datapoint
from selfheal.report.figures import IncidentFigures

__all__ = ["STATE_COLORS", "failure_rate_steps", "timeline_png"]

STATE_COLORS = {"OK": "#2e9e5b", "ALARM": "#d64545", "INSUFFICIENT_DATA": "#c9a227"}


def _dt(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def timeline_png(
    *,
    title: str,
    errors: Sequence[Datapoint],
    invocations: Sequence[Datapoint],
    segments: Sequence[AlarmSegment],
    figures: IncidentFigures,
    threshold: float | None,
    period: float,
    start: float,
    end: float,
    failure_rate: Sequence[tuple[float, float]] = (),
) -> bytes:
    """Render the timeline of one incident between ``start`` and ``end`` (cloud epoch seconds) as PNG.

    ``failure_rate`` is the function's FAILURE_RATE as ``(from time, value)`` steps, drawn on a right axis.
    """
    if end <= start:
        raise ValueError(f"end {end!r} must be after start {start!r}")
    figure, (chart, band) = plt.subplots(
        2, 1, figsize=(10, 4.6), sharex=True, gridspec_kw={"height_ratios": [5, 1]}, dpi=110
    )
    try:
        width = period / 86400 * 0.9
        for points, color, alpha, label in (
            (invocations, "#3b6fd8", 0.25, "requests"),
            (errors, "#d64545", 0.8, "errors"),
        ):
            chart.bar(
                [_dt(p.t) for p in points],
                [p.value for p in points],
                width=width,
                align="edge",
                color=color,
                alpha=alpha,
                label=label,
            )
        if threshold is not None:
            chart.axhline(threshold, color="#d64545", linestyle="--", linewidth=1.5, label="alarm threshold")
        events = [
            (figures.onset, "errors begin", "#6b7483"),
            (figures.alarm, "ALARM", "#d64545"),
            (figures.action, "healer acts", "#111827"),
            (figures.recovered, "OK again", "#2e9e5b"),
        ]
        top = max([p.value for p in [*errors, *invocations]] + [threshold or 0, 1]) * 1.18
        chart.set_ylim(0, top)
        for index, (moment, label, color) in enumerate(events):
            if moment is not None and start <= moment <= end:
                chart.axvline(_dt(moment), color=color, linestyle=":", linewidth=1.6)
                # Events are often seconds apart: stagger the labels so they do not overlap.
                chart.text(
                    _dt(moment), top * (0.98 - 0.08 * index), f" {label}", color=color, va="top", fontsize=9
                )
        if failure_rate:
            rate_axis = chart.twinx()
            steps = sorted(failure_rate)
            times = [_dt(max(t, start)) for t, _ in steps] + [_dt(end)]
            values = [v for _, v in steps] + [steps[-1][1]]
            rate_axis.step(times, values, where="post", color="#7b4fc9", linewidth=2, label="FAILURE_RATE")
            rate_axis.set_ylim(0, 1.18)
            rate_axis.set_ylabel("FAILURE_RATE", color="#7b4fc9")
            rate_axis.spines["top"].set_visible(False)
        chart.set_ylabel(f"count per {period:g} s")
        chart.set_title(title, loc="left", fontsize=11)
        handles, labels = chart.get_legend_handles_labels()
        if failure_rate:
            handles.append(Line2D([], [], color="#7b4fc9", linewidth=2))
            labels.append("FAILURE_RATE")
        chart.legend(
            handles,
            labels,
            loc="upper left",
            bbox_to_anchor=(0, -0.02, 1, 0),
            ncols=4,
            fontsize=8,
            frameon=False,
        )
        chart.grid(axis="y", color="#e2e6ec")
        for spine in ("top", "right"):
            chart.spines[spine].set_visible(False)

        for segment in segments:
            band.axvspan(
                _dt(max(segment.start, start)),
                _dt(min(segment.end, end)),
                color=STATE_COLORS.get(segment.state, "#999999"),
                alpha=0.9,
            )
        shown = [state for state in STATE_COLORS if any(seg.state == state for seg in segments)]
        if shown:
            band.legend(
                [Patch(color=STATE_COLORS[state]) for state in shown],
                [f"alarm {state}" for state in shown],
                loc="upper left",
                bbox_to_anchor=(0, -0.55, 1, 0),
                ncols=len(shown),
                fontsize=8,
                frameon=False,
            )
        band.set_yticks([])
        band.set_ylabel("alarm", rotation=0, ha="right", va="center")
        band.set_xlim(_dt(start), _dt(end))
        formatter = mdates.DateFormatter("%H:%M:%S", tz=UTC)  # type: ignore[no-untyped-call]
        band.xaxis.set_major_formatter(formatter)
        band.set_xlabel("cloud time (UTC)")
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(figure)


def failure_rate_steps(
    previous: str | None, action: str | None, action_at: float | None
) -> list[tuple[float, float]]:
    """FAILURE_RATE around an incident from the ledger: the previous value until the healer's action, then
    the value the action set (``FAILURE_RATE=<value>`` in its description). Empty when unknown."""
    try:
        before = float(previous) if previous is not None else None
    except ValueError:
        return []
    if before is None:
        return []
    steps = [(float("-inf"), before)]
    found = re.search(r"FAILURE_RATE=(\d+(?:\.\d+)?)", action or "")
    if action_at is not None and found:
        steps.append((action_at, float(found.group(1))))
    return steps
