"""`selfheal tf ARGS…`: real Terraform with your own ``.tf`` files, unchanged, against the local cloud.

ARGS go to Terraform as its own CLI takes them (``init``, ``plan -detailed-exitcode``, ``apply
-auto-approve``, ``-chdir=DIR``, ``-var``, …); its output streams as it comes and its exit code is the
command's. The cloud is the one at ``AWS_ENDPOINT_URL``, else the one recorded in ``<workdir>/cloud.json``
(as :mod:`selfheal.cli.target` resolves targets), signed with ``<workdir>/credentials``; a non-loopback
endpoint is refused. selfheal's own failures are one line and exit code 1 — never 2, which ``plan
-detailed-exitcode`` uses for "changes". The mechanics are in :mod:`selfheal.terraform.user_stack`.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import typer

from selfheal.cli.errors import CliError, print_error, stderr_console
from selfheal.cli.options import WorkdirOption
from selfheal.cli.target import announce, resolve_target
from selfheal.loopback import is_loopback_url
from selfheal.terraform.user_stack import (
    NEEDS_NO_CLOUD,
    UserStackError,
    run_terraform,
    subcommand,
)
from selfheal.workdir import DEFAULT_WORKDIR, Workdir

__all__ = ["CONTEXT_SETTINGS", "local_cloud", "tf_command"]

#: Terraform's arguments reach it untouched: options selfheal does not know (``-auto-approve``) are kept,
#: and after the first argument (Terraform's subcommand) nothing is parsed. ``-h`` is not selfheal's help,
#: so ``-chdir=…`` is never read as a cluster of short options; ``selfheal tf -h`` is Terraform's help.
CONTEXT_SETTINGS = {
    "ignore_unknown_options": True,
    "allow_interspersed_args": False,
    "help_option_names": ["--help"],
}


def _start_hint(workdir: Path) -> str:
    flag = "" if workdir == DEFAULT_WORKDIR else f" --workdir {workdir}"
    return (
        f"start one with `selfheal up{flag}`, or run `selfheal cloud{flag}` in another terminal and export "
        "AWS_ENDPOINT_URL as it prints"
    )


def _answers(endpoint: str) -> bool:
    """Whether something accepts connections at ``endpoint``'s host and port."""
    parts = urlsplit(endpoint)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        with socket.create_connection((parts.hostname or "127.0.0.1", port), timeout=2):
            return True
    except (OSError, ValueError):
        return False


def local_cloud(workdir: Path) -> tuple[str, dict[str, str], str]:
    """The local cloud's endpoint, the key it accepts (as environment variables) and its region; CliError
    (one line) when there is none, it is not running, or the endpoint is not on this machine."""
    given = os.environ.get("AWS_ENDPOINT_URL")
    if given and not is_loopback_url(given):  # before any key is looked for
        raise CliError(
            f"AWS_ENDPOINT_URL={given} is not a local cloud (not a loopback address): `selfheal tf` "
            "applies to the local cloud only — unset AWS_ENDPOINT_URL, or use terraform itself for AWS"
        )
    try:
        resolved = resolve_target(None, None, None, None, workdir)
    except ValueError as error:
        raise CliError(str(error)) from None
    endpoint = resolved.target.endpoint_url
    if endpoint is None:
        raise CliError(
            f"no local cloud: AWS_ENDPOINT_URL is not set and none is recorded in "
            f"{Workdir(workdir).cloud_json} — {_start_hint(workdir)}"
        )
    if not _answers(endpoint):
        raise CliError(f"no local cloud answers at {endpoint} (AWS_ENDPOINT_URL) — {_start_hint(workdir)}")
    if resolved.target.operator_key is not None:
        credentials = resolved.target.operator_key.environment()
    else:  # AWS_SHARED_CREDENTIALS_FILE + AWS_PROFILE as `selfheal cloud` prints them
        import boto3

        found = boto3.session.Session().get_credentials()
        if found is None:  # resolve_target already refused this; kept for a clear line if it changes
            raise CliError(f"no credentials for the local cloud at {endpoint} — {_start_hint(workdir)}")
        frozen = found.get_frozen_credentials()
        credentials = {
            "AWS_ACCESS_KEY_ID": str(frozen.access_key),
            "AWS_SECRET_ACCESS_KEY": str(frozen.secret_key),
        }
        if frozen.token:
            credentials["AWS_SESSION_TOKEN"] = frozen.token
    announce(resolved)
    return endpoint, credentials, resolved.target.region


def _note(line: str) -> None:
    stderr_console().print(line, markup=False, highlight=False, soft_wrap=True)


def tf_command(
    args: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="ARGS...",
            help="Terraform's own arguments: init, plan, apply, output, destroy, -chdir=DIR, -var, …",
            show_default=False,
        ),
    ] = None,
    workdir: WorkdirOption = DEFAULT_WORKDIR,
) -> None:
    """Real Terraform with your own .tf files (unchanged) against the local cloud.

    Local providers serve hashicorp/aws, archive, random, null and time (no registry); the cloud is the one at
    AWS_ENDPOINT_URL, else the one recorded in <workdir>/cloud.json. A remote backend block is overridden
    to local state while Terraform runs. Terraform's output streams as it comes and its exit code is this
    command's; selfheal's own errors exit 1. selfheal's options (--workdir) go before Terraform's
    arguments; `selfheal tf -help` is Terraform's help.
    """
    arguments = list(args or [])
    command = subcommand(arguments)
    credentials: dict[str, str] = {}
    endpoint: str | None = None
    region = "us-east-1"
    try:
        if command is not None and command not in NEEDS_NO_CLOUD:
            endpoint, credentials, region = local_cloud(workdir)
        rc = run_terraform(arguments, endpoint=endpoint, credentials=credentials, region=region, note=_note)
    except (CliError, UserStackError) as error:
        print_error(str(error.message if isinstance(error, CliError) else error))
        raise typer.Exit(1) from None
    except OSError as error:
        print_error(f"cannot run Terraform: {error.strerror or error}")
        raise typer.Exit(1) from None
    raise typer.Exit(rc)


tf_command.context_settings = CONTEXT_SETTINGS  # type: ignore[attr-defined]
