"""``selfheal cloud``: run the local cloud in the foreground until Ctrl-C or SIGTERM."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from rich.console import Console

from selfheal.cli_errors import CliError

__all__ = ["run_cloud", "usage_lines"]


def usage_lines(endpoint: str, region: str) -> list[str]:
    """How to point tools at a local cloud listening on ``endpoint``."""
    return [
        f"export AWS_ENDPOINT_URL={endpoint}",
        f"export AWS_REGION={region} AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing",
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
) -> None:
    """Start a LocalCloud, print how to use it, block until stopped, then stop it cleanly.

    ``stop`` (set by SIGTERM, or by a test) ends the wait; Ctrl-C does too. ``enforce_iam`` None keeps
    the cloud's default (enforced).
    """
    if not 0 <= port <= 65535:
        raise CliError(f"--port must be from 0 to 65535, got {port}", exit_code=2)
    if cloud_factory is None:
        from selfheal.cloud import LocalCloud

        cloud_factory = LocalCloud
    try:
        options: dict[str, Any] = {} if enforce_iam is None else {"enforce_iam": enforce_iam}
        if time_origin is not None:
            options["time_origin"] = time_origin
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
            raise CliError(
                f"cannot listen on 127.0.0.1:{port} ({reason}) — "
                "is another `selfheal cloud` running? Choose another --port"
            ) from None
        try:
            console.print(
                f"[bold green]local cloud running[/bold green] at [bold]{cloud.endpoint}[/bold]"
                f" (time scale {time_scale:g}, region {cloud.region})"
            )
            if enforce_iam is not None:
                state = "enforced" if enforce_iam else "NOT enforced (--no-enforce-iam)"
                console.print(f"  IAM {state} for calls signed by Lambda execution roles", markup=False)
            for line in usage_lines(cloud.endpoint, cloud.region):
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
