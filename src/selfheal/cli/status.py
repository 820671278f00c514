"""``selfheal status``: the alarm, the fragile function's failure settings and the healer's decisions.

Each part is read on its own, so a missing resource shows as missing while the others still show; only
an unreachable endpoint or missing credentials abort the whole report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console
from rich.table import Table

from healer.ledger import Incident, LedgerUnavailable
from selfheal.cli.errors import CliError, describe_aws_error, reporting_errors
from selfheal.cli.options import EndpointOption, OutputsOption, PrefixOption, RegionOption
from selfheal.loop.deployment import DEFAULT_OUTPUTS_PATH, AwsTarget, Deployment
from selfheal.loop.reader import AlarmInfo, FunctionInfo, LoopReader

__all__ = [
    "FAILURE_VARIABLES",
    "HEALED_VARIABLES",
    "StatusReport",
    "collect_status",
    "render_status",
    "status",
]

FAILURE_VARIABLES = (
    "FAILURE_RATE",
    "FAILURE_MODE",
    "LATENCY_MS",
    "FAILURE_STATUS_CODE",
    "FAILURE_INJECTION_ENABLED",
)
HEALED_VARIABLES = ("HEALED_AT", "HEALED_BY", "HEALED_INCIDENT", "PREVIOUS_FAILURE_RATE")
_FATAL = ("AWS rejected the credentials",)


@dataclass
class StatusReport:
    """What ``status`` found; a ``*_error`` is set instead of the data when that part could not be read."""

    deployment: Deployment
    target: AwsTarget
    alarm: AlarmInfo | None = None
    alarm_error: str | None = None
    function: FunctionInfo | None = None
    function_error: str | None = None
    incidents: list[Incident] = field(default_factory=list)
    incidents_error: str | None = None


def _checked(error: Exception, target: AwsTarget, subject: str) -> str:
    """Return the message for a per-part failure; raise CliError when nothing else can be read either."""
    message = describe_aws_error(error, target, subject)
    if isinstance(error, BotoCoreError) or message.startswith(_FATAL):
        raise CliError(message) from error
    return message


def collect_status(deployment: Deployment, target: AwsTarget, limit: int = 10) -> StatusReport:
    """Read the alarm, the function configuration and the latest incidents from ``target``."""
    report = StatusReport(deployment, target)
    reader = LoopReader(target, deployment)
    try:
        report.alarm = reader.alarm()
        if report.alarm is None:
            report.alarm_error = f"alarm {deployment.alarm_name} not found — is the stack deployed?"
    except (BotoCoreError, ClientError) as error:
        report.alarm_error = _checked(error, target, deployment.alarm_name)
    try:
        report.function = reader.function()
    except (BotoCoreError, ClientError) as error:
        report.function_error = _checked(error, target, deployment.fragile_function_name)
    try:
        report.incidents = reader.ledger_incidents(limit)
    except LedgerUnavailable as error:
        cause = error.__cause__
        if isinstance(cause, BotoCoreError | ClientError):
            report.incidents_error = _checked(cause, target, deployment.ledger_table_name)
        else:
            report.incidents_error = f"ledger {deployment.ledger_table_name} unavailable: {error}"
    except (BotoCoreError, ClientError) as error:
        report.incidents_error = _checked(error, target, deployment.ledger_table_name)
    return report


def _when(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S %Z").strip()
    return "-" if value is None else str(value)


_STATE_STYLE = {"OK": "green", "ALARM": "bold red", "INSUFFICIENT_DATA": "yellow"}


def render_status(report: StatusReport, console: Console) -> None:
    """Print ``report`` as a few small tables."""
    console.print(
        f"[bold]selfheal status[/bold] — {report.target.description}, names from {report.deployment.source}"
    )
    alarm = Table(title=f"Alarm {report.deployment.alarm_name}", show_header=False, title_justify="left")
    if report.alarm is not None:
        state = report.alarm.state
        updated = report.alarm.updated
        alarm.add_row("state", f"[{_STATE_STYLE.get(state, 'white')}]{state}[/]")
        alarm.add_row("since", _when(None if updated is None else datetime.fromtimestamp(updated, UTC)))
        alarm.add_row("reason", report.alarm.reason or "-")
    else:
        alarm.add_row("error", f"[red]{report.alarm_error}[/red]")
    console.print(alarm)

    function = Table(
        title=f"Function {report.deployment.fragile_function_name}", show_header=False, title_justify="left"
    )
    if report.function is not None:
        variables = report.function.variables
        function.add_row(
            "state", f"{report.function.state} / last update {report.function.last_update_status}"
        )
        for name in FAILURE_VARIABLES:
            function.add_row(name, variables.get(name, "[dim](unset)[/dim]"))
        markers = [name for name in HEALED_VARIABLES if name in variables]
        for name in markers:
            function.add_row(name, f"[cyan]{variables[name]}[/cyan]")
        if not markers:
            function.add_row("healed", "[dim]no HEALED_* markers (not remediated since the last apply)[/dim]")
    else:
        function.add_row("error", f"[red]{report.function_error}[/red]")
    console.print(function)

    decisions = Table(title=f"Healer decisions ({report.deployment.ledger_table_name})", title_justify="left")
    for column in ("alarm time", "status", "decision", "reason", "action", "recovered in"):
        decisions.add_column(column)
    for incident in report.incidents:
        recovered = getattr(incident, "time_to_recover", None)
        decisions.add_row(
            _when(getattr(incident, "alarm_time", None)),
            str(getattr(incident, "status", "-")),
            str(getattr(incident, "decision", None) or "-"),
            str(getattr(incident, "reason", None) or "-"),
            str(getattr(incident, "action", None) or "-"),
            f"{recovered:.1f} s" if isinstance(recovered, int | float) else "-",
        )
    console.print(decisions)
    if report.incidents_error:
        console.print(f"[yellow]{report.incidents_error}[/yellow]")
    elif not report.incidents:
        console.print("[dim]no incidents recorded[/dim]")


def status(
    endpoint_url: EndpointOption = None,
    region: RegionOption = None,
    prefix: PrefixOption = None,
    outputs: OutputsOption = DEFAULT_OUTPUTS_PATH,
    limit: Annotated[
        int, typer.Option(help="How many recent healer decisions to show.", min=1, max=100)
    ] = 10,
) -> None:
    """Show the alarm state, the fragile function's failure settings and the healer's recent decisions."""
    target: AwsTarget | None = None
    with reporting_errors():
        deployment = Deployment.resolve(prefix, outputs)
        target = AwsTarget.resolve(endpoint_url, region, deployment)
    assert target is not None
    with reporting_errors(target):
        report = collect_status(deployment, target, limit)
        render_status(report, Console(highlight=False))
    if report.alarm is None and report.function is None:
        raise typer.Exit(1)
