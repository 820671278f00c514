"""The ``selfheal`` command line: every command registered on :data:`app` here, in one place.

Every command reports a failure as one line on stderr and a non-zero exit code (2 for bad input, 1 for
everything else), never a traceback. Command modules define plain functions (typer reads their
annotations); none of them imports this module, so each imports alone.
"""

from __future__ import annotations

import sys

import typer

from selfheal.cli import cloud, dashboard, inject, report, stack, status, traffic
from selfheal.cli.errors import stderr_console

__all__ = ["app", "main"]

app = typer.Typer(
    name="selfheal",
    help="A self-healing serverless platform: the local cloud, the loop's status, failure injection, load.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

app.command("cloud")(cloud.cloud)
app.command("up")(stack.up_command)
app.command("down")(stack.down_command)
app.command("demo")(stack.demo_command)
app.command("status")(status.status)
app.command("inject")(inject.inject)
app.command("traffic")(traffic.traffic)
app.command("dashboard")(dashboard.dashboard_command)
app.command("report")(report.report_command)


def main() -> None:
    """Entry point of the ``selfheal`` script."""
    try:
        app()
    except KeyboardInterrupt:
        stderr_console().print("interrupted")
        sys.exit(130)
