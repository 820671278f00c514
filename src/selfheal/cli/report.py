"""``selfheal report``: write an incident report (timeline PNG + self-contained HTML per incident)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console

from selfheal.cli.dashboard import resolve_with_workdir
from selfheal.cli.errors import CliError, describe_aws_error, reporting_errors
from selfheal.cli.options import EndpointOption, OutputsOption, PrefixOption, RegionOption
from selfheal.loop.deployment import DEFAULT_OUTPUTS_PATH
from selfheal.workdir import DEFAULT_WORKDIR

__all__ = ["DEFAULT_REPORT_DIR", "report_command"]

DEFAULT_REPORT_DIR = DEFAULT_WORKDIR / "report"


def report_command(
    since: Annotated[
        str, typer.Option(help="Incidents whose alarm fired within this much cloud time: 30m, 1h, 2d.")
    ] = "1h",
    out: Annotated[
        Path, typer.Option("--out", help="Directory for index.html and one PNG + HTML page per incident.")
    ] = DEFAULT_REPORT_DIR,
    endpoint_url: EndpointOption = None,
    region: RegionOption = None,
    prefix: PrefixOption = None,
    outputs: OutputsOption = DEFAULT_OUTPUTS_PATH,
    workdir: Annotated[
        Path, typer.Option("--workdir", help="The work directory of `selfheal up`.")
    ] = DEFAULT_WORKDIR,
) -> None:
    """Report each recent incident: error rate, alarm transitions, the healer's action, the recovery."""
    from healer.ledger import LedgerUnavailable
    from selfheal.report import build_report, parse_since

    with reporting_errors():
        seconds = parse_since(since)
        target, deployment, clock = resolve_with_workdir(endpoint_url, region, prefix, outputs, workdir)
    with reporting_errors(target, deployment.alarm_name):
        try:
            result = build_report(target, deployment, seconds, out, now=clock)
        except LedgerUnavailable as error:
            cause = error.__cause__
            if isinstance(cause, BotoCoreError | ClientError):
                raise CliError(describe_aws_error(cause, target, deployment.ledger_table_name)) from error
            raise CliError(f"ledger {deployment.ledger_table_name} unavailable: {error}") from error
    console = Console(highlight=False)
    console.print(f"{len(result.pages)} incident(s) in the last {since}: {result.index}", markup=False)
    for page in result.pages:
        console.print(f"  {page}", markup=False)
