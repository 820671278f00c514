"""Turning failures into the CLI's one-line messages and exit codes: what went wrong, never a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console

from selfheal.loop.aws_errors import describe_aws_error
from selfheal.loop.deployment import AwsTarget

__all__ = ["CliError", "describe_aws_error", "reporting_errors", "stderr_console"]


class CliError(Exception):
    """A failure the CLI reports as one line and a non-zero exit code."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


def stderr_console() -> Console:
    """Where error lines go."""
    return Console(stderr=True, highlight=False, soft_wrap=True)


@contextmanager
def reporting_errors(target: AwsTarget | None = None, subject: str = "") -> Iterator[None]:
    """Turn expected failures into one line on stderr and an exit code (2 for bad input, else 1)."""
    try:
        yield
    except CliError as error:
        stderr_console().print(f"error: {error.message}", markup=False)
        raise typer.Exit(error.exit_code) from None
    except ValueError as error:
        stderr_console().print(f"error: {error}", markup=False)
        raise typer.Exit(2) from None
    except (BotoCoreError, ClientError) as error:
        message = describe_aws_error(error, target, subject) if target else str(error)
        stderr_console().print(f"error: {message}", markup=False)
        raise typer.Exit(1) from None
