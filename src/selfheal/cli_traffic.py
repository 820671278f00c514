"""``selfheal traffic``: the load generator with a live progress line and a summary."""

from __future__ import annotations

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from selfheal.traffic import LoadGenerator, TrafficPlan, TrafficSnapshot

__all__ = ["progress_line", "run_traffic_command", "summary_table"]


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f} ms"


def progress_line(snapshot: TrafficSnapshot, plan: TrafficPlan) -> Text:
    """One line: requests, errors (5xx / other), achieved rate and latency percentiles."""
    line = Text()
    line.append(f"{snapshot.elapsed:5.1f}/{plan.duration:g} s  ")
    line.append(f"requests {snapshot.completed}/{snapshot.sent}  ")
    line.append("errors ")
    line.append(f"{snapshot.server_errors} 5xx", style="red" if snapshot.server_errors else "green")
    line.append(" / ")
    line.append(f"{snapshot.other_errors} other", style="yellow" if snapshot.other_errors else "green")
    line.append(f"  {snapshot.achieved_rate:.1f} req/s (target {plan.rate:g})  ")
    line.append(f"p50 {_ms(snapshot.p50)}  p95 {_ms(snapshot.p95)}  p99 {_ms(snapshot.p99)}")
    return line


def summary_table(snapshot: TrafficSnapshot, plan: TrafficPlan) -> Table:
    """The end-of-run summary."""
    table = Table(title=f"traffic to {plan.url}", show_header=False, title_justify="left")
    table.add_row(
        "requests", f"{snapshot.completed} completed of {snapshot.sent} sent in {snapshot.elapsed:.1f} s"
    )
    table.add_row("achieved rate", f"{snapshot.achieved_rate:.1f} req/s (target {plan.rate:g})")
    table.add_row("ok", str(snapshot.ok))
    table.add_row("5xx errors", str(snapshot.server_errors))
    table.add_row("other errors", str(snapshot.other_errors))
    table.add_row("error rate", f"{snapshot.error_rate:.1%}")
    table.add_row("latency", f"p50 {_ms(snapshot.p50)}  p95 {_ms(snapshot.p95)}  p99 {_ms(snapshot.p99)}")
    statuses = ", ".join(f"{name}: {count}" for name, count in sorted(snapshot.statuses.items()))
    table.add_row("by status", statuses or "-")
    return table


def run_traffic_command(plan: TrafficPlan, console: Console) -> TrafficSnapshot:
    """Run ``plan`` with a live line, print the summary and return the final snapshot.

    Ctrl-C stops sending early; the summary of what was sent is still printed.
    """
    generator = LoadGenerator(plan)
    with Live(progress_line(generator.stats.snapshot(), plan), console=console, refresh_per_second=4) as live:
        try:
            final = generator.run(lambda snapshot: live.update(progress_line(snapshot, plan)))
        except KeyboardInterrupt:
            generator.stats.finish()
            final = generator.stats.snapshot()
            live.update(progress_line(final, plan))
            console.print("[yellow]interrupted[/yellow]")
    if not console.is_terminal:
        # Off a terminal Live leaves its last line unterminated; keep the summary on its own lines.
        console.line()
    console.print(summary_table(final, plan))
    return final
