"""``selfheal dashboard``: serve the live dashboard against a running deployment until Ctrl-C or SIGTERM.

The endpoint is ``--endpoint-url``, else ``AWS_ENDPOINT_URL``, else the local cloud ``selfheal up``
recorded in the work directory, else real AWS. The recorded cloud's time scale gives the dashboard the
cloud's clock; a local cloud is signed with the work directory's operator key (``credentials``).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console

from selfheal.cli.errors import reporting_errors
from selfheal.cli.options import EndpointOption, OutputsOption, PrefixOption, RegionOption
from selfheal.loop.deployment import DEFAULT_OUTPUTS_PATH, AwsTarget, Deployment
from selfheal.workdir import DEFAULT_WORKDIR, Workdir

__all__ = ["dashboard_command", "resolve_with_workdir"]


def resolve_with_workdir(
    endpoint_url: str | None, region: str | None, prefix: str | None, outputs: Path, workdir: Path
) -> tuple[AwsTarget, Deployment, Callable[[], float] | None]:
    """The target, the names and (for a recorded local cloud) its clock; ValueError for bad input."""
    from selfheal.clock import Clock

    deployment = Deployment.resolve(prefix, outputs)
    record = Workdir(workdir).read_cloud()
    if endpoint_url is None and record is not None:
        endpoint_url = record.endpoint
        region = region or record.region
    target = AwsTarget.resolve(endpoint_url, region, deployment, workdir=workdir)
    clock: Callable[[], float] | None = None
    if record is not None and target.endpoint_url == record.endpoint and record.time_scale > 1:
        clock = Clock(record.time_scale, origin=record.started_at).now
    return target, deployment, clock


def dashboard_command(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0 picks a free one).")] = 8765,
    endpoint_url: EndpointOption = None,
    region: RegionOption = None,
    prefix: PrefixOption = None,
    outputs: OutputsOption = DEFAULT_OUTPUTS_PATH,
    workdir: Annotated[
        Path, typer.Option("--workdir", help="The work directory of `selfheal up` (cloud record, stack).")
    ] = DEFAULT_WORKDIR,
) -> None:
    """Serve a live dashboard of the loop (charts, incidents, controls) on 127.0.0.1."""
    from selfheal.dashboard import DashboardError, start_dashboard
    from selfheal.dashboard.controls import terraform_restore

    with reporting_errors():
        if not 0 <= port <= 65535:
            raise ValueError(f"--port must be from 0 to 65535, got {port}")
        target, deployment, clock = resolve_with_workdir(endpoint_url, region, prefix, outputs, workdir)
    stop = threading.Event()

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        with reporting_errors(target):
            try:
                server = start_dashboard(
                    target, deployment, port, now=clock, restore=lambda: terraform_restore(target, workdir)
                )
            except DashboardError as error:
                raise ValueError(str(error)) from error
        console = Console(highlight=False)
        console.print(
            f"dashboard: {server.url}  ({deployment.fragile_function_name} on {target.description})"
        )
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
