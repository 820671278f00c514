"""The `up`, `down` and `demo` commands, registered on the CLI's :data:`selfheal.cli.app`.

After `up`, :func:`next_steps` prints what to run next as it can be run from this shell: ``selfheal`` when
the script's directory is on ``PATH``, else its path (``.venv/bin/selfheal`` after ``make demo``) and how
to activate the venv; and what to expect at the chosen time scale (at 1, the alarm needs minutes).
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from selfheal.cli.errors import CliError, describe_os_error, print_error
from selfheal.cli.options import WorkdirOption
from selfheal.demo.scenarios import DEFAULT_SCENARIO, scenarios_help
from selfheal.demo.settings import DEFAULT_DEADLINE, DEFAULT_RATE, DEFAULT_TIME_SCALE, DemoSettings
from selfheal.progress import ConsoleReporter
from selfheal.stack.cloud_process import CloudProcessError
from selfheal.stack.control import StackError, UpResult, down, parse_var_options, up
from selfheal.workdir import DEFAULT_WORKDIR, Workdir

__all__ = [
    "cloud_only_steps",
    "demo_command",
    "down_command",
    "expectation",
    "next_steps",
    "selfheal_command",
    "up_command",
]

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
# deploy/fragile's defaults for the alarm, when `--var` does not set them.
_ALARM_PERIOD, _ALARM_PERIODS = 60, 2
_FAST_TIME_SCALE = 30


def _fail(message: str, exit_code: int = 1) -> typer.Exit:
    print_error(message)
    return typer.Exit(exit_code)


def _shown(path: Path) -> str:
    """``path`` relative to the current directory when it is below it, else absolute."""
    relative = os.path.relpath(path)
    return relative if not relative.startswith("..") else str(path)


def selfheal_command(argv0: str | None = None, path: str | None = None) -> tuple[str, str | None]:
    """How to type ``selfheal`` in this shell, and a hint when it is not on ``PATH``.

    ``selfheal`` when the running script's directory is on ``PATH`` (``path``, default ``$PATH``); else the
    script's path (``.venv/bin/selfheal``) and how to put it on ``PATH``.
    """
    script = Path(argv0 if argv0 is not None else sys.argv[0])
    if script.name != "selfheal":  # python -m selfheal, python -c …: the venv's script beside the interpreter
        script = Path(sys.executable).parent / "selfheal"
    directory = script.absolute().parent
    on_path = [
        Path(entry).absolute()
        for entry in (path if path is not None else os.environ.get("PATH", "")).split(os.pathsep)
        if entry
    ]
    if any(entry == directory or entry.resolve() == directory.resolve() for entry in on_path):
        return "selfheal", None
    command = _shown(directory / "selfheal")
    if "/" not in command:
        command = f"./{command}"
    activate = directory / "activate"
    if activate.exists():
        return command, f"(selfheal is not on PATH: `source {_shown(activate)}` to type plain `selfheal`)"
    return command, f"(selfheal is not on PATH: add {_shown(directory)} to PATH to type plain `selfheal`)"


def _number(variables: Mapping[str, str], name: str, default: int) -> int:
    try:
        value = int(float(variables.get(name, default)))
    except ValueError:
        return default
    return value if value > 0 else default


def expectation(
    time_scale: float, variables: Mapping[str, str] | None = None, command: str = "selfheal"
) -> tuple[int, str]:
    """Seconds of traffic to see an incident through, and a line saying what to expect at ``time_scale``.

    The alarm needs its evaluation periods of errors (plus the period in progress) to fire, and as long
    again of clean traffic after the healer's fix to return to OK.
    """
    variables = variables or {}
    period = _number(variables, "alarm_period_seconds", _ALARM_PERIOD)
    periods = _number(variables, "alarm_evaluation_periods", _ALARM_PERIODS)
    phase = (periods + 1) * period / time_scale  # real seconds to detect, and again to recover
    duration = max(60, math.ceil(2 * phase / 30) * 30)
    when = f"within about {_duration(phase)}"
    line = (
        f"expect: at time scale {time_scale:g} the alarm ({periods} periods of {period} s) fires {when} "
        f"of errors, and the healed function is back to OK {when} more — the traffic above runs "
        f"{_duration(duration)}"
    )
    if time_scale < _FAST_TIME_SCALE and phase > 30:
        line += (
            f"; `{command} up --time-scale {_FAST_TIME_SCALE}` (after `{command} down`) shows it in seconds"
        )
    return duration, line


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def next_steps(
    result: UpResult,
    workdir: Workdir,
    variables: Mapping[str, str] | None = None,
    *,
    argv0: str | None = None,
    path: str | None = None,
) -> list[str]:
    """The outputs worth seeing, what to run next (as it can be typed in this shell) and what to expect."""
    outputs = result.outputs
    lines = [f"{name:<22} {outputs[name]}" for name in _SHOWN_OUTPUTS if name in outputs]
    if result.dashboard is not None:
        lines.append(f"{'dashboard':<22} {result.dashboard.url}")
    endpoint = result.cloud.endpoint
    selfheal, hint = selfheal_command(argv0, path)
    at = "" if workdir.root == DEFAULT_WORKDIR else f" --workdir {workdir.root}"
    duration, expect = expectation(result.cloud.time_scale, variables, selfheal)
    api = outputs.get("api_endpoint", "<api_endpoint>")
    lines += [
        "",
        "next:",
        f"  {selfheal} status{at}",
        f"  {selfheal} traffic --url {api} --rate 20 --duration {duration}",
        f"  {selfheal} logs --follow{at}",
        f"  {selfheal} down{at}",
    ]
    if hint:
        lines.append(f"  {hint}")
    lines += [
        expect,
        "for the aws CLI and other tools:",
        f"  export AWS_ENDPOINT_URL={endpoint}",
        f"  export AWS_REGION={result.cloud.region} AWS_DEFAULT_REGION={result.cloud.region}",
        f"  export AWS_SHARED_CREDENTIALS_FILE={workdir.credentials_file.resolve()} AWS_PROFILE=selfheal",
    ]
    return lines


def cloud_only_steps(
    result: UpResult, workdir: Workdir, *, argv0: str | None = None, path: str | None = None
) -> list[str]:
    """After `up --cloud-only`: how to apply your own Terraform to the cloud, and to stop it."""
    selfheal, hint = selfheal_command(argv0, path)
    at = "" if workdir.root == DEFAULT_WORKDIR else f" --workdir {workdir.root}"
    region = result.cloud.region
    lines = [
        "next (your own Terraform, e.g. deploy/fragile, unchanged):",
        f"  {selfheal} tf{at} -chdir=deploy/fragile init",
        f"  {selfheal} tf{at} -chdir=deploy/fragile apply -auto-approve",
        f"  {selfheal} dashboard{at}  # the live dashboard, once deploy/fragile is applied",
        f"  {selfheal} down{at}",
    ]
    if hint:
        lines.append(f"  {hint}")
    lines += [
        "for the aws CLI and other tools:",
        f"  export AWS_ENDPOINT_URL={result.cloud.endpoint}",
        f"  export AWS_REGION={region} AWS_DEFAULT_REGION={region}",
        f"  export AWS_SHARED_CREDENTIALS_FILE={workdir.credentials_file.resolve()} AWS_PROFILE=selfheal",
    ]
    return lines


def _os_failure(error: OSError, workdir: Path) -> typer.Exit:
    return _fail(f"{describe_os_error(error)} — is the work directory {workdir} writable? (--workdir)")


def up_command(
    var: Annotated[
        list[str] | None,
        typer.Option(
            "--var", metavar="NAME=VALUE", help="A Terraform variable of deploy/fragile (repeatable)."
        ),
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
    region: Annotated[
        str | None,
        typer.Option(
            "--region",
            metavar="REGION",
            help="Deploy into this AWS region (the cloud's default region and deploy/fragile's aws_region; "
            "default: --var aws_region, else us-east-1).",
            show_default=False,
        ),
    ] = None,
    cloud_only: Annotated[
        bool,
        typer.Option(
            "--cloud-only",
            help="Start only the local cloud, apply nothing (and no dashboard): for `selfheal tf` with your "
            "own Terraform.",
        ),
    ] = False,
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
            region=region,
            apply=not cloud_only,
        )
    except ValueError as error:
        raise _fail(str(error), 2) from None
    except (StackError, CloudProcessError, CliError) as error:
        raise _fail(str(error)) from None
    except OSError as error:
        raise _os_failure(error, workdir) from None
    applied = "nothing applied (--cloud-only)" if cloud_only else f"outputs in {place.outputs_json}"
    console.print(
        f"[bold green]up[/bold green] in {result.seconds:.1f} s: local cloud {result.cloud.endpoint} "
        f"(pid {result.cloud.pid}, time scale {result.cloud.time_scale:g}, region {result.cloud.region}); "
        f"{applied}"
    )
    for warning in result.warnings:
        console.print(f"warning: {warning}", markup=False)
    steps = cloud_only_steps(result, place) if cloud_only else next_steps(result, place, variables)
    for line in steps:
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
    except OSError as error:
        raise _os_failure(error, workdir) from None
    for warning in result.warnings:
        console.print(f"warning: {warning}", markup=False)
    destroyed = "nothing to destroy" if not result.destroyed else f"{result.destroyed} resources destroyed"
    dashboard = "" if result.dashboard is None else f"; dashboard {result.dashboard}"
    console.print(f"down: {destroyed}; local cloud {result.cloud}{dashboard}", markup=False)


def demo_command(
    scenario: Annotated[
        str, typer.Option("--scenario", metavar="NAME", help=scenarios_help())
    ] = DEFAULT_SCENARIO,
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
    """Deploy, cause a failure, watch the healer heal it live, show timings and Terraform drift."""
    from selfheal.demo.run import run_demo_command

    try:
        settings = DemoSettings(
            scenario=scenario,
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
    try:
        console = Console(highlight=False, soft_wrap=True)
        code = run_demo_command(settings, Workdir(workdir), console, *selfheal_command())
    except OSError as error:
        raise _os_failure(error, workdir) from None
    if code:
        raise typer.Exit(code)
