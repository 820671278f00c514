"""Turning failures into the CLI's one-line messages and exit codes: what went wrong, never a traceback.

Exit codes: 2 for bad input (an option, a value, a setting such as ``AWS_PROFILE``; nothing was changed),
1 for a failure at run time (a port taken, an unreachable cloud, a resource not found, a file that cannot
be written). Only ``selfheal --debug`` shows the traceback of an unexpected error (see ``cli/app.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from botocore.exceptions import BotoCoreError, ClientError, ProfileNotFound
from rich.console import Console

from selfheal.loop.aws_errors import describe_aws_error
from selfheal.loop.deployment import AwsTarget, unknown_profile_message

__all__ = [
    "CliError",
    "describe_aws_error",
    "describe_os_error",
    "print_error",
    "reporting_errors",
    "stderr_console",
]


class CliError(Exception):
    """A failure the CLI reports as one line and a non-zero exit code."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


def stderr_console() -> Console:
    """Where error lines go."""
    return Console(stderr=True, highlight=False, soft_wrap=True)


def print_error(message: str) -> None:
    """``error: <message>`` on stderr, as one line (no markup, no wrapping)."""
    stderr_console().print(f"error: {' '.join(message.split())}", markup=False)


def describe_os_error(error: OSError) -> str:
    """One line for a file-system failure: the file and the reason."""
    reason = error.strerror or str(error) or type(error).__name__
    return f"cannot use {error.filename}: {reason}" if error.filename else reason


@contextmanager
def reporting_errors(target: AwsTarget | None = None, subject: str = "") -> Iterator[None]:
    """Turn expected failures into one line on stderr and an exit code (2 for bad input, else 1)."""
    try:
        yield
    except CliError as error:
        print_error(error.message)
        raise typer.Exit(error.exit_code) from None
    except ValueError as error:
        print_error(str(error))
        raise typer.Exit(2) from None
    except ProfileNotFound as error:
        print_error(unknown_profile_message(error.kwargs.get("profile")))
        raise typer.Exit(2) from None
    except (BotoCoreError, ClientError) as error:
        print_error(describe_aws_error(error, target, subject) if target else str(error))
        raise typer.Exit(1) from None
    except OSError as error:
        print_error(describe_os_error(error))
        raise typer.Exit(1) from None
