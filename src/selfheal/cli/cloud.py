"""``selfheal cloud``: run the local cloud in the foreground until Ctrl-C or SIGTERM."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
from rich.console import Console

from selfheal.cli.errors import CliError, reporting_errors
from selfheal.cli.options import WorkdirOption
from selfheal.stack.cloud_process import port_available
from selfheal.workdir import DEFAULT_WORKDIR, check_region

__all__ = ["cloud", "run_cloud", "usage_lines"]


def usage_lines(endpoint: str, region: str, credentials_file: Path | None = None) -> list[str]:
    """How to point tools at a local cloud listening on ``endpoint``.

    The operator key is named by its file (``credentials_file``, profile ``selfheal``), never printed.
    Both region variables: the SDKs read ``AWS_REGION``, botocore and the aws CLI ``AWS_DEFAULT_REGION``.
    """
    from selfheal.cloud.credentials import OPERATOR_PROFILE

    if credentials_file is not None:
        signing = (
            f"export AWS_SHARED_CREDENTIALS_FILE={credentials_file.resolve()} AWS_PROFILE={OPERATOR_PROFILE}"
        )
    else:
        signing = "sign requests with the cloud's operator key (start it with --workdir to keep it in a file)"
    return [
        f"export AWS_ENDPOINT_URL={endpoint} AWS_REGION={region} AWS_DEFAULT_REGION={region}",
        signing,
        f"aws --endpoint-url {endpoint} lambda list-functions",
        f"HTTP APIs answer at {endpoint}/_api/<api-id>/ (their ApiEndpoint)",
    ]


def run_cloud(
    port: int,
    time_scale: float,
    console: Console,
    *,
    cloud_factory: Callable[..., Any] | None = None,
    stop: threading.Event | None = None,
    enforce_iam: bool | None = None,
    time_origin: float | None = None,
    workdir: Path | None = None,
    accept_any_key: bool = False,
    allow_origins: Sequence[str] = (),
    region: str | None = None,
) -> None:
    """Start a LocalCloud, print how to use it, block until stopped, then stop it cleanly.

    ``region`` (one of AWS's region names) is the cloud's default region (None: the cloud's default,
    us-east-1); every region is served whatever it is.

    ``stop`` (set by SIGTERM, or by a test) ends the wait; Ctrl-C does too. ``enforce_iam`` None keeps
    the cloud's default (enforced). With ``workdir`` the cloud's operator key is the one kept in
    ``<workdir>/credentials`` (made, mode 0600, if missing); without, the cloud makes a random one.
    """
    if not 0 <= port <= 65535:
        raise CliError(f"--port must be from 0 to 65535, got {port}", exit_code=2)
    if region is not None:
        _check_region(region)
    real_cloud = cloud_factory is None
    if cloud_factory is None:
        from selfheal.cloud import LocalCloud

        cloud_factory = LocalCloud
    credentials_file: Path | None = None
    try:
        options: dict[str, Any] = {} if enforce_iam is None else {"enforce_iam": enforce_iam}
        if time_origin is not None:
            options["time_origin"] = time_origin
        if workdir is not None:
            from selfheal.cloud.credentials import load_or_create
            from selfheal.workdir import Workdir

            credentials_file = Workdir(workdir).credentials_file
            try:
                options["operator_key"] = load_or_create(credentials_file)
            except OSError as error:
                raise CliError(f"cannot create {credentials_file}: {error.strerror or error}") from None
        if accept_any_key:
            options["accept_any_key"] = True
        if allow_origins:
            options["allow_origins"] = tuple(allow_origins)
        if region is not None:
            options["region"] = region
        cloud = cloud_factory(port=port, time_scale=time_scale, **options)
    except ValueError as error:
        raise CliError(str(error), exit_code=2) from error
    stop = stop if stop is not None else threading.Event()
    previous = _on_sigterm(stop)
    try:
        try:
            cloud.start()
        except (OSError, SystemExit) as error:
            # werkzeug's make_server reports a busy port by printing and calling sys.exit(1).
            _stop_quietly(cloud)
            reason = error.strerror if isinstance(error, OSError) and error.strerror else "address in use"
            raise CliError(_port_taken(port, reason)) from None
        if real_cloud:
            from selfheal.cloud.server import settle_heap

            settle_heap()  # this process serves one long-lived cloud
        try:
            console.print(
                f"[bold green]local cloud running[/bold green] at [bold]{cloud.endpoint}[/bold]"
                f" (time scale {time_scale:g}, region {cloud.region})"
            )
            if enforce_iam is not None:
                state = "enforced" if enforce_iam else "NOT enforced (--no-enforce-iam)"
                console.print(f"  IAM {state} for calls signed by Lambda execution roles", markup=False)
            if accept_any_key:
                console.print(
                    "  warning: ANY access key acts as root (--accept-any-key): only for throwaway tests",
                    markup=False,
                )
            for origin in allow_origins:
                console.print(f"  web pages from {origin} may call the cloud (CORS)", markup=False)
            for line in usage_lines(cloud.endpoint, cloud.region, credentials_file):
                console.print(f"  {line}", highlight=False, markup=False, soft_wrap=True)
            console.print("Press Ctrl-C to stop.")
            try:
                while not stop.wait(0.5):
                    pass
            except KeyboardInterrupt:
                pass
            console.print("stopping the local cloud…")
        finally:
            cloud.stop()
        console.print("stopped.")
    finally:
        _restore_sigterm(previous)


def _check_region(region: str) -> None:
    try:
        check_region(region)
    except ValueError as error:
        raise CliError(f"--region: {error}", exit_code=2) from None


def _port_taken(port: int, reason: str = "address in use") -> str:
    return (
        f"cannot listen on 127.0.0.1:{port} ({reason}) — "
        "is another `selfheal cloud` running? Choose another --port"
    )


def _stop_quietly(cloud: Any) -> None:
    """Release whatever a failed start left behind; its own failure must not hide the first one."""
    with contextlib.suppress(Exception):
        cloud.stop()


def _on_sigterm(stop: threading.Event) -> Any:
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    return signal.signal(signal.SIGTERM, handler)


def _restore_sigterm(previous: Any) -> None:
    if previous is not None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, previous)


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
    region: Annotated[
        str,
        typer.Option(
            "--region",
            metavar="REGION",
            help="The cloud's default region (an AWS region name); stacks in every region are served.",
        ),
    ] = "us-east-1",
) -> None:
    """Run the local cloud in the foreground until Ctrl-C or SIGTERM.

    Requests must be signed with the operator key kept in <workdir>/credentials (made on first use).
    """
    with reporting_errors():
        _check_region(region)
        if 0 < port <= 65535 and not port_available(port):  # before werkzeug prints its own lines about it
            raise CliError(_port_taken(port))
        run_cloud(
            port,
            time_scale,
            Console(highlight=False),
            enforce_iam=enforce_iam,
            time_origin=time_origin,
            workdir=workdir,
            accept_any_key=accept_any_key,
            allow_origins=tuple(allow_origin or ()),
            region=region,
        )
