"""``selfheal approve INCIDENT`` and ``selfheal restore INCIDENT``: an operator's command, run by the healer.

Each is one synchronous Invoke of the deployment's healer (docs/platform.md, "Operator commands") with
``{"selfheal_command": "approve" | "restore", "incident_id": …, "operator": …}``: the healer checks the
command against the ledger and the registry, acts under the same rails and guards as an automatic run, and
records it. ``approve`` runs the incident's playbook step and verifies it inside the invocation, so the
client waits up to the healer's own limit (900 s) and never repeats the call. ``restore`` puts back what
the incident's steps changed, each change only where the value is still the one the healer set, recorded
as its own ledger entry.

The incident id is checked here first (nothing is sent for a malformed one, exit 2). The healer's answer
``{"results": [summary], "rejected": []}`` prints the summary (exit 0); a rejection prints its reason as
one line (exit 1); a healer that crashed (or caught its own failure: ``internal_error``) or an AWS failure
is one line too (exit 1). ``--output json`` prints the healer's answer as it came, before any error line.
"""

from __future__ import annotations

import getpass
import json
import re
from collections.abc import Callable
from typing import Annotated, Any

import typer
from botocore.config import Config
from botocore.exceptions import ReadTimeoutError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from selfheal.cli.errors import CliError, print_error, reporting_errors, stderr_console
from selfheal.cli.options import OutputFormat, OutputOption
from selfheal.cli.target import DEFAULT_TARGET, TargetOptions, target_command
from selfheal.loop.deployment import AwsTarget

__all__ = [
    "HEALER_TIMEOUT_SECONDS",
    "approve_command",
    "check_incident_id",
    "check_operator",
    "default_operator",
    "invoke_healer_command",
    "render_summary",
    "restore_command",
]

HEALER_TIMEOUT_SECONDS = 900
"""The healer function's timeout (deploy/modules/platform): the longest an approval may run."""

_INCIDENT_ID = re.compile(r"inc-[0-9a-f]{20}")
_OPERATOR = re.compile(r"[\w.@+=,:/ -]{1,128}")  # what the healer accepts (healer.commands)
_NOT_OPERATOR = re.compile(r"[^\w.@+=,:/ -]")
# One attempt only: a command is not repeated behind the operator's back (a second approve is refused
# anyway, but it would hide the first one's answer). The read timeout outlasts the healer's own limit.
_READ_TIMEOUT = HEALER_TIMEOUT_SECONDS + 30
_INVOKE_CONFIG = Config(
    read_timeout=_READ_TIMEOUT,
    connect_timeout=10,
    retries={"mode": "standard", "total_max_attempts": 1},
)
_SUMMARY_FIELDS = (
    "incident_id",
    "decision",
    "code",
    "reason",
    "action_taken",
    "verification",
    "time_to_recover_seconds",
    "restore",
    "detail",
    "escalated",
)
_DOING = {
    "approve": "approving {incident} as {operator}: the healer acts and verifies; this can take up to the "
    "verify deadline",
    "restore": "restoring {incident} as {operator}: the healer puts back what the incident's steps changed, "
    "where nobody changed it since",
}

IncidentArgument = Annotated[
    str,
    typer.Argument(
        metavar="INCIDENT",
        help="The incident's id, inc-<20 hex digits> (`selfheal status` lists the open ones).",
        show_default=False,
    ),
]
OperatorOption = Annotated[
    str | None,
    typer.Option(
        "--operator",
        metavar="NAME",
        help="Who runs the command, recorded in the ledger (default: your user name). Letters, digits, "
        "spaces and . @ + = , : / - _, at most 128.",
        show_default=False,
    ),
]


def default_operator() -> str:
    """The local user name, with any character the healer would refuse replaced by ``_``."""
    try:
        name = getpass.getuser()
    except (OSError, KeyError):  # no user name in the environment nor in the password database
        name = ""
    cleaned = _NOT_OPERATOR.sub("_", name)[:128]
    return cleaned or "operator"


def check_incident_id(incident: str) -> str:
    """``incident`` when it is an incident id; ValueError (exit 2) naming the expected form otherwise."""
    if not _INCIDENT_ID.fullmatch(incident):
        raise ValueError(f"INCIDENT must look like inc-<20 lowercase hex digits>, got {incident!r}")
    return incident


def check_operator(operator: str | None) -> str:
    """The operator's name as given (or the default); ValueError (exit 2) for one the healer would refuse."""
    if operator is None:
        return default_operator()
    if not _OPERATOR.fullmatch(operator):
        raise ValueError(
            f"--operator must be 1-128 letters, digits, spaces or . @ + = , : / - _, got {operator!r}"
        )
    return operator


def invoke_healer_command(
    target: AwsTarget, healer: str, command: str, incident: str, operator: str
) -> dict[str, Any]:
    """Invoke ``healer`` synchronously with the command; its answer. CliError when the healer failed."""
    event = {"selfheal_command": command, "incident_id": incident, "operator": operator}
    try:
        response = target.client("lambda", config=_INVOKE_CONFIG).invoke(
            FunctionName=healer, InvocationType="RequestResponse", Payload=json.dumps(event).encode()
        )
    except ReadTimeoutError:
        raise CliError(
            f"the healer {healer} did not answer within {_READ_TIMEOUT} s; the command may "
            "still be running — `selfheal status` shows the incident, `selfheal logs "
            f"{healer}` the healer's log"
        ) from None
    raw = response["Payload"].read()
    try:
        answer = json.loads(raw or b"null")
    except ValueError:
        answer = None
    if response.get("FunctionError"):
        detail = answer if isinstance(answer, dict) else {}
        kind = detail.get("errorType") or response["FunctionError"]
        message = detail.get("errorMessage") or raw.decode(errors="replace")[:300]
        raise CliError(f"the healer {healer} failed ({kind}): {message} — see `selfheal logs {healer}`")
    if not isinstance(answer, dict) or not isinstance(answer.get("results"), list):
        raise CliError(f"the healer {healer} gave an answer that is not a command's result: {raw[:300]!r}")
    return answer


def _failure(answer: dict[str, Any]) -> str | None:
    """Why the command did not run: the healer refused it, or failed inside it (``internal_error``)."""
    rejected = answer.get("rejected") or []
    if rejected:
        first = rejected[0] if isinstance(rejected[0], dict) else {}
        return str(first.get("reason") or first.get("error") or rejected[0])
    results = answer["results"]
    if not results or not isinstance(results[0], dict):
        return str(answer.get("error") or "the healer answered with no result")
    if results[0].get("code") == "internal_error":
        return str(results[0].get("reason") or "the healer failed")
    return None


def render_summary(command: str, summary: dict[str, Any], console: Console) -> None:
    """Print the healer's summary of the command."""
    table = Table(title=f"{command} {summary.get('incident_id') or ''}".strip(), show_header=False)
    table.title_justify = "left"
    for name in _SUMMARY_FIELDS[1:]:
        value = summary.get(name)
        if value is None or (name == "escalated" and value is False):
            continue
        table.add_row(name, escape(str(value)))
    for later in summary.get("then") or []:
        if isinstance(later, dict):
            table.add_row("then", escape(f"{later.get('code')}: {later.get('reason')}"))
    console.print(table)


def _run(
    command: str, incident: str, operator: str | None, output: OutputFormat, where: TargetOptions
) -> None:
    with reporting_errors():
        incident_id = check_incident_id(incident)
        name = check_operator(operator)
    resolved = where.resolve()
    target = resolved.target
    healer = resolved.deployment.healer_function_name
    stderr_console().print(_DOING[command].format(incident=incident_id, operator=name), markup=False)
    with reporting_errors(target, healer):
        answer = invoke_healer_command(target, healer, command, incident_id, name)
    if output is OutputFormat.JSON:
        print(json.dumps(answer, indent=2, default=str))
    reason = _failure(answer)
    if reason is not None:
        print_error(reason)
        raise typer.Exit(1)
    if output is OutputFormat.TEXT:
        render_summary(command, dict(answer["results"][0]), Console(highlight=False))


def _operator_command(command: str, summary: str) -> Callable[..., None]:
    """``selfheal COMMAND INCIDENT``, named ``COMMAND_command``, ``summary`` its help."""

    def run(
        incident: IncidentArgument,
        operator: OperatorOption = None,
        output: OutputOption = OutputFormat.TEXT,
        where: TargetOptions = DEFAULT_TARGET,
    ) -> None:
        _run(command, incident, operator, output, where)

    run.__doc__ = summary
    run.__name__ = run.__qualname__ = f"{command}_command"
    return target_command(run)


approve_command = _operator_command(
    "approve",
    "Let an incident AWAITING_APPROVAL run its playbook: the healer acts and verifies, within the rails.",
)
restore_command = _operator_command(
    "restore",
    "Undo what an incident's steps changed (where unchanged since), recorded as its own ledger entry.",
)
