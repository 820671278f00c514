"""``selfheal report``: write an incident report (timeline PNG + self-contained HTML per incident)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console

from selfheal.cli.errors import CliError, describe_aws_error, reporting_errors, stderr_console
from selfheal.cli.options import OutputFormat, OutputOption
from selfheal.cli.target import DEFAULT_TARGET, TargetOptions, target_command
from selfheal.workdir import DEFAULT_WORKDIR

__all__ = ["DEFAULT_REPORT_DIR", "report_command"]

DEFAULT_REPORT_DIR = DEFAULT_WORKDIR / "report"


def _progress_line(done: int, total: int, incident: str) -> None:
    """One line on stderr per incident read and drawn, so a long report shows it is moving."""
    if done < total:
        stderr_console().print(f"report: incident {done + 1}/{total} ({incident})", markup=False)


@target_command
def report_command(
    since: Annotated[
        str, typer.Option(help="Incidents whose alarm fired within this much cloud time: 30m, 1h, 2d.")
    ] = "1h",
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            metavar="DIR",
            help="Directory for index.html and one PNG + HTML page per incident (default: <workdir>/report).",
            show_default=False,
        ),
    ] = None,
    output: OutputOption = OutputFormat.TEXT,
    where: TargetOptions = DEFAULT_TARGET,
) -> None:
    """Report each recent incident: error rate, alarm transitions, the healer's action, the recovery."""
    from healer.ledger import LedgerUnavailable
    from selfheal.report import build_report, parse_since

    with reporting_errors():
        seconds = parse_since(since)
    resolved = where.resolve()
    target, deployment = resolved.target, resolved.deployment
    with reporting_errors(target, deployment.alarm_name):
        try:
            result = build_report(
                target,
                deployment,
                seconds,
                out if out is not None else where.workdir / "report",
                now=resolved.clock,
                progress=_progress_line,
            )
        except LedgerUnavailable as error:
            cause = error.__cause__
            if isinstance(cause, BotoCoreError | ClientError):
                raise CliError(describe_aws_error(cause, target, deployment.ledger_table_name)) from error
            raise CliError(f"ledger {deployment.ledger_table_name} unavailable: {error}") from error
    if output is OutputFormat.JSON:
        files = {
            "since": since,
            "index": str(result.index),
            "pages": [str(page) for page in result.pages],
            "images": [str(image) for image in result.images],
        }
        print(json.dumps(files, indent=2))
        return
    console = Console(highlight=False)
    console.print(f"{len(result.pages)} incident(s) in the last {since}: {result.index}", markup=False)
    for page in result.pages:
        console.print(f"  {page}", markup=False)
