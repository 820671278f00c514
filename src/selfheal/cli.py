"""The ``selfheal`` command line: run the local cloud, inspect the loop, inject failures, send traffic.

Every command reports a failure as one line on stderr and a non-zero exit code (2 for bad input, 1 for
everything else), never a traceback. Other modules add commands to :data:`app` (see the end of the file).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console

from selfheal.cli_errors import CliError, describe_aws_error
from selfheal.deployment import DEFAULT_OUTPUTS_PATH, AwsTarget, Deployment
from selfheal.workdir import DEFAULT_WORKDIR

__all__ = ["WorkdirOption", "app", "main"]

app = typer.Typer(
    name="selfheal",
    help="A self-healing serverless platform: the local cloud, the loop's status, failure injection, load.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EndpointOption = Annotated[
    str | None,
    typer.Option(
        "--endpoint-url",
        envvar="AWS_ENDPOINT_URL",
        help="The local cloud's endpoint (default: AWS_ENDPOINT_URL; unset means real AWS).",
        show_default=False,
    ),
]
RegionOption = Annotated[
    str | None, typer.Option("--region", help="AWS region (default: outputs, AWS_REGION).")
]
PrefixOption = Annotated[
    str | None,
    typer.Option(
        "--prefix", help="Terraform name_prefix (default: names from the outputs file, else selfheal)."
    ),
]
OutputsOption = Annotated[
    Path, typer.Option("--outputs", help="Terraform outputs written by `selfheal up`.", dir_okay=False)
]
WorkdirOption = Annotated[
    Path,
    typer.Option(
        "--workdir", help="Where the cloud record, the operator key, Terraform state and logs live."
    ),
]


def _stderr() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


@contextmanager
def _reporting_errors(target: AwsTarget | None = None, subject: str = "") -> Iterator[None]:
    """Turn expected failures into one line on stderr and an exit code."""
    try:
        yield
    except CliError as error:
        _stderr().print(f"error: {error.message}", markup=False)
        raise typer.Exit(error.exit_code) from None
    except ValueError as error:
        _stderr().print(f"error: {error}", markup=False)
        raise typer.Exit(2) from None
    except (BotoCoreError, ClientError) as error:
        message = describe_aws_error(error, target, subject) if target else str(error)
        _stderr().print(f"error: {message}", markup=False)
        raise typer.Exit(1) from None


@app.command()
def cloud(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0 picks a free one).")] = 4566,
    time_scale: Annotated[
        float, typer.Option(help="Cloud time runs this many times faster than real time (1 to 3600).")
    ] = 1.0,
    enforce_iam: Annotated[
        bool,
        typer.Option(
            "--enforce-iam/--no-enforce-iam",
            help="Authorise calls Lambda code makes with its execution role's policies, as AWS does.",
        ),
    ] = True,
    time_origin: Annotated[
        float | None,
        typer.Option(
            help="Epoch seconds at which cloud time equals real time (default: now); lets other processes "
            "share the cloud's clock.",
        ),
    ] = None,
    workdir: WorkdirOption = DEFAULT_WORKDIR,
    accept_any_key: Annotated[
        bool,
        typer.Option(
            "--accept-any-key",
            help="Accept any access key as root, as moto does — only for throwaway tests; anything on "
            "this machine can then act as root.",
        ),
    ] = False,
    allow_origin: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-origin",
            metavar="ORIGIN",
            help="Let web pages from ORIGIN call the cloud (CORS); repeatable.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run the local cloud in the foreground until Ctrl-C or SIGTERM.

    Requests must be signed with the operator key kept in <workdir>/credentials (made on first use).
    """
    from selfheal.cli_cloud import run_cloud

    with _reporting_errors():
        run_cloud(
            port,
            time_scale,
            Console(highlight=False),
            enforce_iam=enforce_iam,
            time_origin=time_origin,
            workdir=workdir,
            accept_any_key=accept_any_key,
            allow_origins=tuple(allow_origin or ()),
        )


@app.command()
def status(
    endpoint_url: EndpointOption = None,
    region: RegionOption = None,
    prefix: PrefixOption = None,
    outputs: OutputsOption = DEFAULT_OUTPUTS_PATH,
    limit: Annotated[
        int, typer.Option(help="How many recent healer decisions to show.", min=1, max=100)
    ] = 10,
) -> None:
    """Show the alarm state, the fragile function's failure settings and the healer's recent decisions."""
    from selfheal.cli_status import collect_status, render_status

    target: AwsTarget | None = None
    with _reporting_errors():
        deployment = Deployment.resolve(prefix, outputs)
        target = AwsTarget.resolve(endpoint_url, region, deployment)
    assert target is not None
    with _reporting_errors(target):
        report = collect_status(deployment, target, limit)
        render_status(report, Console(highlight=False))
    if report.alarm is None and report.function_variables is None:
        raise typer.Exit(1)


@app.command()
def inject(
    rate: Annotated[
        float | None, typer.Option(help="FAILURE_RATE: probability (0..1) that a request fails.")
    ] = None,
    mode: Annotated[
        str | None, typer.Option(help="FAILURE_MODE: exception, latency, timeout or status.")
    ] = None,
    latency_ms: Annotated[int | None, typer.Option(help="LATENCY_MS for the latency mode.")] = None,
    status_code: Annotated[
        int | None, typer.Option(help="FAILURE_STATUS_CODE (400-599) for status mode.")
    ] = None,
    enable: Annotated[
        bool | None, typer.Option("--enable/--disable", help="FAILURE_INJECTION_ENABLED.", show_default=False)
    ] = None,
    endpoint_url: EndpointOption = None,
    region: RegionOption = None,
    prefix: PrefixOption = None,
    outputs: OutputsOption = DEFAULT_OUTPUTS_PATH,
) -> None:
    """Change the fragile function's failure settings now, keeping every other variable."""
    from selfheal.cli_inject import FailureChange, apply_failure_change

    change = FailureChange(
        rate=rate, mode=mode, latency_ms=latency_ms, status_code=status_code, enabled=enable
    )
    target: AwsTarget | None = None
    with _reporting_errors():
        change.validate()
        deployment = Deployment.resolve(prefix, outputs)
        target = AwsTarget.resolve(endpoint_url, region, deployment)
    assert target is not None
    function = deployment.fragile_function_name
    with _reporting_errors(target, function):
        outcome = apply_failure_change(target.client("lambda"), function, change)
    console = Console(highlight=False)
    if not outcome.updated:
        console.print(f"{function}: already set, nothing changed")
        return
    for name in sorted(set(outcome.before) | set(outcome.after)):
        old, new = outcome.before.get(name), outcome.after.get(name)
        if old != new:
            console.print(f"{function}: {name} {old if old is not None else '(unset)'} → {new}", markup=False)


@app.command()
def traffic(
    url: Annotated[
        str | None, typer.Option(help="Target URL (default: api_endpoint from the outputs file).")
    ] = None,
    rate: Annotated[float, typer.Option(help="Requests per second.")] = 10.0,
    duration: Annotated[float, typer.Option(help="Seconds to send for.")] = 10.0,
    concurrency: Annotated[int, typer.Option(help="At most this many requests in flight.")] = 16,
    timeout: Annotated[float, typer.Option(help="Per-request timeout in seconds.")] = 10.0,
    allow_remote: Annotated[
        bool, typer.Option("--allow-remote", help="Allow a target that is not 127.0.0.1/localhost.")
    ] = False,
    outputs: OutputsOption = DEFAULT_OUTPUTS_PATH,
    max_error_rate: Annotated[
        float | None, typer.Option(help="Exit 1 when the error rate ends above this fraction.")
    ] = None,
) -> None:
    """Send load to an HTTP endpoint with a live progress line and a summary."""
    from selfheal.cli_traffic import run_traffic_command
    from selfheal.traffic import TrafficPlan

    with _reporting_errors():
        if url is None:
            url = Deployment.resolve(None, outputs).api_endpoint if outputs.exists() else None
            if not url:
                raise CliError(
                    "give --url (no api_endpoint in Terraform outputs; run `selfheal up` first)", 2
                )
        plan = TrafficPlan(
            url=url,
            rate=rate,
            duration=duration,
            concurrency=concurrency,
            timeout=timeout,
            allow_remote=allow_remote,
        )
        plan.validate()
        snapshot = run_traffic_command(plan, Console(highlight=False))
    answered = sum(count for name, count in snapshot.statuses.items() if name.isdigit())
    if answered == 0:
        _stderr().print(f"error: no HTTP response from {plan.url} — is it running?", markup=False)
        raise typer.Exit(1)
    if max_error_rate is not None and snapshot.error_rate > max_error_rate:
        _stderr().print(f"error: error rate {snapshot.error_rate:.1%} is above {max_error_rate:.1%}")
        raise typer.Exit(1)


def main() -> None:
    """Entry point of the ``selfheal`` script."""
    try:
        app()
    except KeyboardInterrupt:
        _stderr().print("interrupted")
        sys.exit(130)


# Commands defined in other modules register themselves on ``app`` here, e.g. the Terraform driver's
# `up`/`down`/`demo`: import their module below; it decorates its functions with `@app.command()`.
import selfheal.cli_dashboard  # noqa: E402  (dashboard)
import selfheal.cli_report  # noqa: E402, F401  (report)
from selfheal import cli_stack  # noqa: E402, F401  (up, down, demo)
