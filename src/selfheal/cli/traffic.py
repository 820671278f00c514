"""``selfheal traffic``: the load generator with a live progress line and a summary."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from selfheal.cli.errors import CliError, reporting_errors, stderr_console
from selfheal.cli.options import OutputsOption, WorkdirOption
from selfheal.loop.deployment import Deployment
from selfheal.loop.traffic import LoadGenerator, TrafficPlan, TrafficSnapshot
from selfheal.workdir import DEFAULT_WORKDIR, Workdir

__all__ = ["progress_line", "run_traffic_command", "summary_table", "traffic"]


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


def traffic(
    url: Annotated[
        str | None,
        typer.Option(metavar="URL", help="Target URL (default: api_endpoint from the outputs file)."),
    ] = None,
    rate: Annotated[float, typer.Option(help="Requests per second.")] = 10.0,
    duration: Annotated[float, typer.Option(help="Seconds to send for.")] = 10.0,
    concurrency: Annotated[int, typer.Option(help="At most this many requests in flight.")] = 16,
    timeout: Annotated[float, typer.Option(help="Per-request timeout in seconds.")] = 10.0,
    allow_remote: Annotated[
        bool, typer.Option("--allow-remote", help="Allow a target that is not 127.0.0.1/localhost.")
    ] = False,
    outputs: OutputsOption = None,
    workdir: WorkdirOption = DEFAULT_WORKDIR,
    max_error_rate: Annotated[
        float | None, typer.Option(help="Exit 1 when the error rate ends above this fraction.")
    ] = None,
) -> None:
    """Send load to an HTTP endpoint with a live progress line and a summary."""
    with reporting_errors():
        if url is None:
            outputs = outputs if outputs is not None else Workdir(workdir).outputs_json
            url = Deployment.resolve(None, outputs).api_endpoint if outputs.exists() else None
            if not url:
                raise CliError(
                    "give --url (no api_endpoint in Terraform outputs; run `selfheal up` first)", 2
                )
        plan = TrafficPlan(url, rate, duration, concurrency, timeout, allow_remote=allow_remote)
        plan.validate()
        snapshot = run_traffic_command(plan, Console(highlight=False))
    answered = sum(count for name, count in snapshot.statuses.items() if name.isdigit())
    if answered == 0:
        stderr_console().print(f"error: no HTTP response from {plan.url} — is it running?", markup=False)
        raise typer.Exit(1)
    if max_error_rate is not None and snapshot.error_rate > max_error_rate:
        stderr_console().print(f"error: error rate {snapshot.error_rate:.1%} is above {max_error_rate:.1%}")
        raise typer.Exit(1)
