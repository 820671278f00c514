"""``selfheal status``: the alarm, the fragile function's failure settings, the healer's decisions and the
protected functions of the registry (each registered alarm: function, mode, playbook, state, open incidents),
then the fleet: one row per protected function with its mode, its alarms' states, its open incident and the
last action the healer took on it (``selfheal.loop.protected.fleet_rows``, from the same ledger read).

Each part is read on its own, so a missing resource shows as missing while the others still show; only
an unreachable endpoint or missing credentials abort the whole report. ``--output json`` prints one JSON
object with fixed keys (:func:`status_json`; a part that could not be read is null and its ``*_error`` says
why). On a local cloud the function's runtime is shown too, with the note the cloud logs at each cold start
when it runs the function on another Python than the runtime names (``lambda_interpreters.runtime_note``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from healer.ledger import Incident, LedgerUnavailable
from healer.registry import RegistryUnavailable
from selfheal.cli.errors import CliError, describe_aws_error, reporting_errors
from selfheal.cli.options import OutputFormat, OutputOption
from selfheal.cli.target import DEFAULT_TARGET, Resolved, TargetOptions, target_command
from selfheal.loop.deployment import AwsTarget, Deployment
from selfheal.loop.protected import (
    FleetFunction,
    ProtectedAlarm,
    ProtectedFunctions,
    fleet_rows,
    read_protected,
)
from selfheal.loop.reader import AlarmInfo, FunctionInfo, LoopReader

__all__ = [
    "FAILURE_VARIABLES",
    "HEALED_VARIABLES",
    "StatusReport",
    "collect_status",
    "render_status",
    "status",
    "status_json",
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
_INCIDENT_FIELDS = (
    "incident_id",
    "alarm_name",
    "status",
    "alarm_time",
    "decision",
    "decision_code",
    "reason",
    "action",
    "action_at",
    "outcome",
    "ok_time",
    "time_to_recover",
    "previous_failure_rate",
)


@dataclass
class StatusReport:
    """What ``status`` found; a ``*_error`` is set instead of the data when that part could not be read."""

    deployment: Deployment
    target: AwsTarget
    alarm: AlarmInfo | None = None
    alarm_error: str | None = None
    function: FunctionInfo | None = None
    function_error: str | None = None
    runtime: str | None = None
    runtime_note: str | None = None
    incidents: list[Incident] = field(default_factory=list)
    incidents_error: str | None = None
    protected: ProtectedFunctions | None = None
    protected_error: str | None = None

    @property
    def fleet(self) -> list[FleetFunction] | None:
        """The protected functions grouped per function; None when the registry could not be read."""
        return None if self.protected is None else fleet_rows(self.protected, self.incidents)


def _checked(error: Exception, target: AwsTarget, subject: str) -> str:
    """Return the message for a per-part failure; raise CliError when nothing else can be read either."""
    message = describe_aws_error(error, target, subject)
    if isinstance(error, BotoCoreError) or message.startswith(_FATAL):
        raise CliError(message) from error
    return message


def local_runtime(target: AwsTarget, function: str) -> tuple[str | None, str | None]:
    """A local cloud's function's runtime and, when this machine's local cloud runs it on another Python, the
    note saying so; (None, None) for AWS, which runs every function on its runtime's own Python."""
    if not target.is_local:
        return None, None
    # Only for a local target: importing the cloud package costs a second.
    from selfheal.cloud.lambda_interpreters import runtime_note

    config = target.client("lambda").get_function_configuration(FunctionName=function)
    runtime = str(config.get("Runtime") or "")
    return runtime or None, runtime_note(runtime)


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
        report.runtime, report.runtime_note = local_runtime(target, deployment.fragile_function_name)
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
    try:
        report.protected = read_protected(target, deployment, report.incidents)
    except RegistryUnavailable as error:
        cause = error.__cause__
        reason = (
            _checked(cause, target, "GetParametersByPath")
            if isinstance(cause, BotoCoreError | ClientError)
            else str(error)
        )
        report.protected_error = f"registry {deployment.registry_path} unreadable: {reason}"
    except (BotoCoreError, ClientError) as error:
        report.protected_error = _checked(error, target, deployment.registry_path)
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
        if report.runtime is not None:
            function.add_row("runtime", escape(report.runtime))
        if report.runtime_note is not None:
            function.add_row("runtime note", f"[yellow]{escape(report.runtime_note)}[/yellow]")
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
    render_protected(report, console)


def render_protected(report: StatusReport, console: Console) -> None:
    """Print the registry's protected functions: one row per registered alarm, and the kill switch."""
    protected = report.protected
    if protected is None:
        console.print(f"[yellow]{escape(report.protected_error or 'registry not read')}[/yellow]")
        return
    switch = protected.kill_switch
    state = "[bold red]on[/]" if switch.engaged else "off"
    table = Table(
        title=f"Protected functions (registry {escape(protected.registry_path)}, kill switch {state})",
        title_justify="left",
    )
    for column in ("function", "alarm", "signal", "mode", "playbook", "alarm state", "open incidents"):
        table.add_column(column)
    fleet = report.fleet or []
    for group in fleet:
        for row in group.alarms:
            _protected_row(table, row, protected.alarm_states_error)
        table.add_section()
    console.print(table)
    if switch.engaged:
        console.print(f"[yellow]{escape(switch.reason)}[/yellow]")
    if protected.alarm_states_error:
        console.print(f"[yellow]{escape(protected.alarm_states_error)}[/yellow]")
    if not protected.alarms:
        console.print(f"[dim]no alarm registered under {escape(protected.registry_path)}/alarms/[/dim]")
        return
    render_fleet(fleet, console, protected.alarm_states_error is not None)


def _state(state: str | None, unreadable: bool) -> str:
    if state is None:
        return "?" if unreadable else "[yellow]not found[/]"
    return f"[{_STATE_STYLE.get(state, 'white')}]{state}[/]"


def _protected_row(table: Table, row: ProtectedAlarm, states_error: str | None) -> None:
    """One registered alarm's row of the per-alarm table."""
    if row.problem is not None:
        table.add_row("?", escape(row.alarm_name), "-", "-", f"[red]invalid entry: {escape(row.problem)}[/]")
        return
    function = f"{row.function_name}:{row.alias_name}" if row.alias_name else str(row.function_name)
    table.add_row(
        escape(function),
        escape(row.alarm_name),
        escape(row.signal or "-"),
        escape(row.mode or "-"),
        escape(", ".join(row.playbook) or "-"),
        _state(row.alarm_state, states_error is not None),
        escape(", ".join(row.open_incidents)) or "-",
    )


def render_fleet(fleet: list[FleetFunction], console: Console, unreadable: bool = False) -> None:
    """Print the fleet: per protected function its mode, each alarm's state, its open incident (with how
    many are open) and the last action taken; an entry that does not parse names its problem."""
    table = Table(title="Fleet (one row per protected function)", title_justify="left")
    for column in ("function", "mode", "alarms", "open incident", "last action"):
        table.add_column(column)
    for row in fleet:
        alarms = "\n".join(
            f"{escape(alarm.alarm_name)} {_state(alarm.alarm_state, unreadable)}" for alarm in row.alarms
        )
        if row.function_name is None:
            table.add_row("?", "-", alarms, f"[red]invalid entry: {escape(row.problem or '')}[/]", "-")
            continue
        names = [f"{row.function_name}:{alias}" for alias in row.aliases] or [row.function_name]
        incident = row.open_incident
        opened = "-"
        if incident is not None:
            more = f" (+{row.open_count - 1} more open)" if row.open_count > 1 else ""
            opened = escape(f"{incident.incident_id} {incident.status}{more}")
        action = row.last_action
        acted = "-"
        if action is not None:
            when = "" if action.at is None else " at " + _when(datetime.fromtimestamp(action.at, UTC))
            acted = escape(f"{action.action} {action.status}{when} ({action.incident_id})")
        table.add_row(escape(", ".join(names)), escape(", ".join(row.modes) or "-"), alarms, opened, acted)
    console.print(table)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def status_json(report: StatusReport, resolved: Resolved | None = None) -> dict[str, Any]:
    """``status --output json``: always the same keys; a part that could not be read is null + its error."""
    names = report.deployment
    alarm = report.alarm
    function = report.function
    return {
        "target": resolved.as_json()
        if resolved is not None
        else {"endpoint_url": report.target.endpoint_url, "region": report.target.region},
        "alarm": None
        if alarm is None
        else {
            "name": alarm.name or names.alarm_name,
            "state": alarm.state,
            "reason": alarm.reason,
            "updated": _json_value(
                None if alarm.updated is None else datetime.fromtimestamp(alarm.updated, UTC)
            ),
        },
        "alarm_error": report.alarm_error,
        "function": None
        if function is None
        else {
            "name": names.fragile_function_name,
            "state": function.state,
            "last_update_status": function.last_update_status,
            "runtime": report.runtime,
            "runtime_note": report.runtime_note,
            "failure": {name: function.variables.get(name) for name in FAILURE_VARIABLES},
            "markers": {name: function.variables.get(name) for name in HEALED_VARIABLES},
        },
        "function_error": report.function_error,
        "incidents": [
            {name: _json_value(getattr(incident, name, None)) for name in _INCIDENT_FIELDS}
            for incident in report.incidents
        ],
        "incidents_error": report.incidents_error,
        "kill_switch": None
        if report.protected is None
        else {"engaged": report.protected.kill_switch.engaged, "reason": report.protected.kill_switch.reason},
        "protected": None if report.protected is None else [row.as_json() for row in report.protected.alarms],
        "protected_error": report.protected_error
        if report.protected is None
        else report.protected.alarm_states_error,
        "fleet": None if report.fleet is None else [row.as_json() for row in report.fleet],
    }


@target_command
def status(
    output: OutputOption = OutputFormat.TEXT,
    where: TargetOptions = DEFAULT_TARGET,
    limit: Annotated[
        int,
        typer.Option(
            help="How many recent healer decisions to show (and to find open incidents among).",
            min=1,
            max=100,
        ),
    ] = 10,
) -> None:
    """Show the alarm state, the fragile function's failure settings, the healer's recent decisions and the
    protected functions (alarms, mode, open incidents) with the kill switch."""
    resolved = where.resolve()
    target = resolved.target
    with reporting_errors(target):
        report = collect_status(resolved.deployment, target, limit)
        if output is OutputFormat.JSON:
            print(json.dumps(status_json(report, resolved), indent=2))
        else:
            render_status(report, Console(highlight=False))
    if report.alarm is None and report.function is None:
        raise typer.Exit(1)
