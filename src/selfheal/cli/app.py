"""The ``selfheal`` command line: every command registered on :data:`app` here, in one place.

Every command reports a failure as one line on stderr (``error: …``) and a non-zero exit code — 2 for bad
input, usage errors included, 1 for everything else — never a traceback: :class:`SelfhealGroup` turns
click's usage errors and any unexpected exception into that line; ``selfheal --debug`` shows the traceback
instead and turns on debug logging. Help is plain text (``-h``/``--help``), ``--version`` prints the
package's version, and ``--install-completion``/``--show-completion`` set up shell completion. Command
modules define plain functions (typer reads their annotations); none of them imports this module, so each
imports alone.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from selfheal.cli import cloud, dashboard, incident_commands, inject, logs, report, stack, status, tf, traffic
from selfheal.cli.errors import print_error, stderr_console

__all__ = ["SelfhealGroup", "app", "main", "package_version"]

# Loud libraries that stay at WARNING under --debug unless --debug-aws asks for them too.
_AWS_LOGGERS = ("botocore", "boto3", "urllib3", "s3transfer")


def package_version() -> str:
    """The installed ``selfheal`` distribution's version."""
    try:
        return version("selfheal")
    except PackageNotFoundError:
        return "unknown (not installed)"


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record is emitted (a test runner swaps it)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


@contextmanager
def _debug_logging(group: SelfhealGroup) -> Iterator[None]:
    """Debug logging on stderr while one command runs, if its ``--debug`` asked; restored afterwards."""
    root = logging.getLogger()
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    saved = (root.level, {name: logging.getLogger(name).level for name in _AWS_LOGGERS})
    group.on_debug = lambda aws: _enable(root, handler, aws)
    try:
        yield
    finally:
        group.on_debug = None
        root.removeHandler(handler)
        root.setLevel(saved[0])
        for name, level in saved[1].items():
            logging.getLogger(name).setLevel(level)


def _enable(root: logging.Logger, handler: logging.Handler, aws: bool) -> None:
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name in _AWS_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if aws else logging.WARNING)


class SelfhealGroup(TyperGroup):
    """The command group: click's errors and unexpected exceptions become one ``error:`` line."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.debug = False
        self.on_debug: Any = None

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        self.debug = False
        with _debug_logging(self):
            code = self._run(args, prog_name or "selfheal", complete_var, windows_expand_args, **extra)
        sys.exit(code)

    def _run(
        self,
        args: Sequence[str] | None,
        prog_name: str,
        complete_var: str | None,
        windows_expand_args: bool,
        **extra: Any,
    ) -> int:
        try:
            result = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except typer.TyperException as error:  # click's UsageError, BadParameter, FileError, …
            return _report_click_error(error)
        except typer.Abort:
            print_error("aborted")
            return 1
        except Exception as error:  # the last line of defence: one line, not a traceback
            if self.debug:
                traceback.print_exception(error, file=sys.stderr)
            else:
                print_error(
                    f"unexpected {type(error).__name__}: {error} — run `selfheal --debug …` for the traceback"
                )
            return 1
        code = result if isinstance(result, int) else 0
        if code == 130:
            stderr_console().print("interrupted")
        return code


def _report_click_error(error: typer.TyperException) -> int:
    """Print a click error as one line (the help itself when a group is called without a command)."""
    code = int(getattr(error, "exit_code", 1))
    ctx = getattr(error, "ctx", None)
    if type(error).__name__ == "NoArgsIsHelpError":
        sys.stderr.write(error.format_message() + "\n")
        return code
    hint = f" (see `{ctx.command_path} -h`)" if code == 2 and ctx is not None else ""
    print_error(f"{error.format_message()}{hint}")
    return code


app = typer.Typer(
    name="selfheal",
    cls=SelfhealGroup,
    help="A self-healing serverless platform: the local cloud, the loop's status, operator commands, "
    "failure injection, load.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110},
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"selfheal {package_version()}")
        raise typer.Exit(0)


@app.callback()
def _options(
    ctx: typer.Context,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            help="Show the traceback of an unexpected error and log at DEBUG (AWS SDK logs stay at WARNING).",
        ),
    ] = False,
    debug_aws: Annotated[
        bool, typer.Option("--debug-aws", help="--debug, and the AWS SDK's own debug logs (every request).")
    ] = False,
    show_version: Annotated[
        bool,
        typer.Option("--version", help="Print the version and exit.", is_eager=True, callback=_show_version),
    ] = False,
) -> None:
    """A self-healing serverless platform: the local cloud, the loop's status, failure injection, load."""
    group = ctx.find_root().command
    if (debug or debug_aws) and isinstance(group, SelfhealGroup):
        group.debug = True
        if group.on_debug is not None:
            group.on_debug(debug_aws)


_COMMANDS: dict[str, Callable[..., None]] = {
    "cloud": cloud.cloud,
    "up": stack.up_command,
    "down": stack.down_command,
    "demo": stack.demo_command,
    "status": status.status,
    "approve": incident_commands.approve_command,
    "restore": incident_commands.restore_command,
    "inject": inject.inject,
    "logs": logs.logs_command,
    "traffic": traffic.traffic,
    "dashboard": dashboard.dashboard_command,
    "report": report.report_command,
    "tf": tf.tf_command,
}
for _name, _command in _COMMANDS.items():
    # A command may carry click context settings (`tf` passes Terraform's own options through).
    app.command(_name, context_settings=getattr(_command, "context_settings", None))(_command)


def main() -> None:
    """Entry point of the ``selfheal`` script."""
    try:
        app(prog_name="selfheal")
    except KeyboardInterrupt:
        stderr_console().print("interrupted")
        sys.exit(130)
