"""The `up`, `down` and `demo` commands, registered on the CLI's :data:`selfheal.cli.app`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from selfheal.cli.errors import CliError
from selfheal.cli.options import WorkdirOption
from selfheal.demo.settings import DEFAULT_DEADLINE, DEFAULT_RATE, DEFAULT_TIME_SCALE, DemoSettings
from selfheal.progress import ConsoleReporter
from selfheal.stack.cloud_process import CloudProcessError
from selfheal.stack.control import StackError, UpResult, down, parse_var_options, up
from selfheal.workdir import DEFAULT_WORKDIR, Workdir

__all__ = ["demo_command", "down_command", "next_steps", "up_command"]

DashboardPortOption = Annotated[
    int | None,
    typer.Option(
        "--dashboard-port",
        help="Port of the live dashboard on 127.0.0.1 (default 8765, or a free one if 8765 is taken; "
        "0 picks a free one).",
        show_default=False,
    ),
]
NoDashboardOption = Annotated[bool, typer.Option("--no-dashboard", help="Do not serve the live dashboard.")]
_SHOWN_OUTPUTS = ("api_endpoint", "alarm_name", "fragile_function_name", "healer_function_name")


def _fail(message: str, exit_code: int = 1) -> typer.Exit:
    Console(stderr=True, highlight=False, soft_wrap=True).print(f"error: {message}", markup=False)
    return typer.Exit(exit_code)


def next_steps(result: UpResult, workdir: Workdir) -> list[str]:
    """The outputs worth seeing and what to run next."""
    outputs = result.outputs
    lines = [f"{name:<22} {outputs[name]}" for name in _SHOWN_OUTPUTS if name in outputs]
    if result.dashboard is not None:
        lines.append(f"{'dashboard':<22} {result.dashboard.url}")
    endpoint = result.cloud.endpoint
    outputs_flag = "" if workdir.root == DEFAULT_WORKDIR else f" --outputs {workdir.outputs_json}"
    lines += [
        "",
        "next:",
        f"  export AWS_ENDPOINT_URL={endpoint}",
        f"  export AWS_SHARED_CREDENTIALS_FILE={workdir.credentials_file.resolve()} AWS_PROFILE=selfheal",
        f"  selfheal status{outputs_flag}",
        f"  selfheal traffic --url {outputs.get('api_endpoint', '<api_endpoint>')} --rate 20 --duration 60",
        f"  selfheal down{'' if workdir.root == DEFAULT_WORKDIR else f' --workdir {workdir.root}'}",
    ]
    return lines


def up_command(
    var: Annotated[
        list[str] | None,
        typer.Option("--var", help="A Terraform variable of deploy/fragile, name=value (repeatable)."),
    ] = None,
    time_scale: Annotated[
        float, typer.Option(help="Cloud time runs this many times faster than real time (1 to 3600).")
    ] = 1.0,
    port: Annotated[
        int, typer.Option(help="Port of the local cloud on 127.0.0.1 (0 picks a free one).")
    ] = 4566,
    dashboard_port: DashboardPortOption = None,
    no_dashboard: NoDashboardOption = False,
    workdir: WorkdirOption = DEFAULT_WORKDIR,
) -> None:
    """Start the local cloud in the background, apply deploy/fragile to it, serve the live dashboard."""
    console = Console(highlight=False, soft_wrap=True)
    place = Workdir(workdir)
    try:
        variables = parse_var_options(var or [])
        result = up(
            place,
            variables=variables,
            port=port,
            time_scale=time_scale,
            reporter=ConsoleReporter(console),
            dashboard=not no_dashboard,
            dashboard_port=dashboard_port,
        )
    except ValueError as error:
        raise _fail(str(error), 2) from None
    except (StackError, CloudProcessError, CliError) as error:
        raise _fail(str(error)) from None
    console.print(
        f"[bold green]up[/bold green] in {result.seconds:.1f} s: local cloud {result.cloud.endpoint} "
        f"(pid {result.cloud.pid}, time scale {result.cloud.time_scale:g}); outputs in {place.outputs_json}"
    )
    for warning in result.warnings:
        console.print(f"warning: {warning}", markup=False)
    for line in next_steps(result, place):
        console.print(line, markup=False)


def down_command(
    workdir: WorkdirOption = DEFAULT_WORKDIR,
    grace: Annotated[float, typer.Option(help="Seconds to wait after SIGTERM before SIGKILL.", min=0)] = 10.0,
) -> None:
    """Stop the dashboard, destroy the deployment, stop the local cloud and its Lambda environments."""
    console = Console(highlight=False, soft_wrap=True)
    try:
        result = down(Workdir(workdir), reporter=ConsoleReporter(console), grace=grace)
    except (StackError, CloudProcessError, ValueError) as error:
        raise _fail(str(error)) from None
    for warning in result.warnings:
        console.print(f"warning: {warning}", markup=False)
    destroyed = "nothing to destroy" if not result.destroyed else f"{result.destroyed} resources destroyed"
    dashboard = "" if result.dashboard is None else f"; dashboard {result.dashboard}"
    console.print(f"down: {destroyed}; local cloud {result.cloud}{dashboard}", markup=False)


def demo_command(
    time_scale: Annotated[
        float, typer.Option(help="Cloud time runs this many times faster than real time.")
    ] = DEFAULT_TIME_SCALE,
    rate: Annotated[float, typer.Option(help="Requests per second sent to the HTTP API.")] = DEFAULT_RATE,
    deadline: Annotated[
        float, typer.Option(help="Give up (exit 1) after this many real seconds of traffic.")
    ] = DEFAULT_DEADLINE,
    keep: Annotated[bool, typer.Option("--keep", help="Leave the cloud and the deployment running.")] = False,
    port: Annotated[int, typer.Option(help="Port of the local cloud (0 picks a free one).")] = 0,
    dashboard_port: DashboardPortOption = None,
    no_dashboard: NoDashboardOption = False,
    workdir: WorkdirOption = DEFAULT_WORKDIR,
) -> None:
    """Deploy, send traffic, watch the loop heal the service live, show timings and Terraform drift."""
    from selfheal.demo.run import run_demo_command

    try:
        settings = DemoSettings(
            time_scale=time_scale,
            rate=rate,
            deadline=deadline,
            keep=keep,
            port=port,
            dashboard=not no_dashboard,
            dashboard_port=dashboard_port,
        )
    except ValueError as error:
        raise _fail(str(error), 2) from None
    code = run_demo_command(settings, Workdir(workdir), Console(highlight=False, soft_wrap=True))
    if code:
        raise typer.Exit(code)
