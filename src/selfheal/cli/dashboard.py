"""``selfheal dashboard``: serve the live dashboard against a running deployment until Ctrl-C or SIGTERM.

The target follows ``cli/target.py``: ``--endpoint-url``/``AWS_ENDPOINT_URL``, else the local cloud
``selfheal up`` recorded in the work directory (whose time scale gives the dashboard the cloud's clock),
else real AWS. Before serving, the fragile function is looked up once: nothing deployed, no credentials or
a dead recorded cloud fail at once with one line (exit 1) instead of a dashboard of warnings. An endpoint
that does not answer yet is served anyway, its problems listed (the background dashboard of ``selfheal up``
is started that way); a port already taken is exit 1, a port out of range exit 2.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Annotated

import typer
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError
from rich.console import Console

from selfheal.cli.errors import CliError, reporting_errors
from selfheal.cli.target import DEFAULT_TARGET, Resolved, TargetOptions, target_command
from selfheal.stack.cloud_process import port_available

__all__ = ["check_deployed", "dashboard_command"]


def check_deployed(resolved: Resolved) -> str | None:
    """Look the fragile function up once; raise (boto3's errors) when it is not there or cannot be read.

    Returns a warning instead when the endpoint does not answer (yet).
    """
    target = resolved.target
    function = resolved.deployment.fragile_function_name
    try:
        target.client("lambda").get_function_configuration(FunctionName=function)
    except (EndpointConnectionError, ConnectTimeoutError):
        return f"{target.description} does not answer yet; the dashboard shows what it can read"
    return None


@target_command
def dashboard_command(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0 picks a free one).")] = 8765,
    where: TargetOptions = DEFAULT_TARGET,
) -> None:
    """Serve a live dashboard of the loop (charts, incidents, controls) on 127.0.0.1."""
    from selfheal.dashboard import DashboardError, start_dashboard
    from selfheal.dashboard.controls import terraform_restore

    with reporting_errors():
        if not 0 <= port <= 65535:
            raise ValueError(f"--port must be from 0 to 65535, got {port}")
        if port and not port_available(port):  # before werkzeug, which prints its own lines about it
            raise CliError(f"port {port} on 127.0.0.1 is taken — choose another --port")
    resolved = where.resolve()
    target, deployment = resolved.target, resolved.deployment
    with reporting_errors(target, deployment.fragile_function_name):
        unreachable = check_deployed(resolved)
    stop = threading.Event()

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        with reporting_errors(target):
            try:
                server = start_dashboard(
                    target,
                    deployment,
                    port,
                    now=resolved.clock,
                    restore=lambda: terraform_restore(target, where.workdir),
                )
            except DashboardError as error:
                raise CliError(f"{error} — choose another --port") from error
        console = Console(highlight=False)
        console.print(
            f"dashboard: {server.url}  ({deployment.fragile_function_name} on {target.description})"
        )
        if unreachable:
            console.print(f"warning: {unreachable}", markup=False)
        problems = server.app.collector.latest().get("problems") or []
        for problem in problems:
            console.print(f"[yellow]warning:[/yellow] {problem}", markup=True)
        console.print("Ctrl-C to stop")
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
        console.print("dashboard stopped")
    finally:
        signal.signal(signal.SIGTERM, previous)
