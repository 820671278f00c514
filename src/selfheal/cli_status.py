"""``selfheal status``: the alarm, the fragile function's failure settings and the healer's decisions.

Each part is read on its own, so a missing resource shows as missing while the others still show; only
an unreachable endpoint or missing credentials abort the whole report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console
from rich.table import Table

from selfheal.cli_errors import CliError, describe_aws_error
from selfheal.deployment import AwsTarget, Deployment

__all__ = ["FAILURE_VARIABLES", "HEALED_VARIABLES", "StatusReport", "collect_status", "render_status"]

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
    alarm: dict[str, Any] | None = None
    alarm_error: str | None = None
    function_variables: dict[str, str] | None = None
    function_state: str | None = None
    function_error: str | None = None
    incidents: list[Any] = field(default_factory=list)
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
    try:
        alarms = target.client("cloudwatch").describe_alarms(AlarmNames=[deployment.alarm_name])
        found = alarms.get("MetricAlarms", [])
        if found:
            report.alarm = found[0]
        else:
            report.alarm_error = f"alarm {deployment.alarm_name} not found — is the stack deployed?"
    except (BotoCoreError, ClientError) as error:
        report.alarm_error = _checked(error, target, deployment.alarm_name)
    try:
        config = target.client("lambda").get_function_configuration(
            FunctionName=deployment.fragile_function_name
        )
        report.function_variables = dict((config.get("Environment") or {}).get("Variables") or {})
        report.function_state = (
            f"{config.get('State', '?')} / last update {config.get('LastUpdateStatus', '?')}"
        )
    except (BotoCoreError, ClientError) as error:
        report.function_error = _checked(error, target, deployment.fragile_function_name)
    report.incidents, report.incidents_error = _incidents(deployment, target, limit)
    return report


def _incidents(deployment: Deployment, target: AwsTarget, limit: int) -> tuple[list[Any], str | None]:
    try:
        from healer.ledger import LedgerUnavailable, recent_incidents
    except ImportError:
        return [], "the healer's ledger module is not installed; no decisions shown"
    try:
        return recent_incidents(deployment.ledger_table_name, limit, client=target.client("dynamodb")), None
    except LedgerUnavailable as error:
        cause = error.__cause__
        if isinstance(cause, BotoCoreError | ClientError):
            return [], _checked(cause, target, deployment.ledger_table_name)
        return [], f"ledger {deployment.ledger_table_name} unavailable: {error}"
    except (BotoCoreError, ClientError) as error:
        return [], _checked(error, target, deployment.ledger_table_name)


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
        state = str(report.alarm.get("StateValue", "?"))
        alarm.add_row("state", f"[{_STATE_STYLE.get(state, 'white')}]{state}[/]")
        alarm.add_row("since", _when(report.alarm.get("StateUpdatedTimestamp")))
        alarm.add_row("reason", str(report.alarm.get("StateReason", "-")))
    else:
        alarm.add_row("error", f"[red]{report.alarm_error}[/red]")
    console.print(alarm)

    function = Table(
        title=f"Function {report.deployment.fragile_function_name}", show_header=False, title_justify="left"
    )
    if report.function_variables is not None:
        variables = report.function_variables
        function.add_row("state", report.function_state or "-")
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
