"""``selfheal logs [FUNCTION] [--follow]``: a function's CloudWatch Logs events, newest last (``sam logs``).

Events of the log group ``/aws/lambda/FUNCTION`` since ``--since`` ago (in the cloud's time, as log
timestamps are), read with FilterLogEvents page by page; ``--follow`` polls from the newest timestamp
seen (skipping the events already printed at that timestamp) until Ctrl-C. ``--output json`` prints one
JSON object a line.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from botocore.exceptions import ClientError

from selfheal.cli.errors import CliError, reporting_errors
from selfheal.cli.options import OutputFormat, OutputOption
from selfheal.cli.target import DEFAULT_TARGET, TargetOptions, target_command

__all__ = ["LogTail", "follow", "format_event", "log_group", "logs_command", "parse_duration"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_MAX_PAGES = 100


def parse_duration(text: str) -> float:
    """Seconds in ``90s``, ``10m``, ``2h``, ``1d``; ValueError otherwise."""
    match = _DURATION.match(text)
    if not match or float(match[1]) <= 0:
        raise ValueError(f"--since must be a positive number with s, m, h or d (e.g. 10m, 2h), got {text!r}")
    return float(match[1]) * _UNITS[match[2]]


def log_group(function: str) -> str:
    """Lambda's log group of ``function``."""
    return f"/aws/lambda/{function}"


class LogTail:
    """Reads a log group's events from a start time on, each event once, across repeated polls."""

    def __init__(self, client: Any, group: str, start_ms: int) -> None:
        self._client = client
        self._group = group
        self._start = start_ms
        self._seen: set[str] = set()  # event ids at timestamp ``_start`` already returned

    def poll(self) -> list[dict[str, Any]]:
        """The events not returned before, oldest first; ClientError as boto3 raises it."""
        events: list[dict[str, Any]] = []
        request: dict[str, Any] = {"logGroupName": self._group, "startTime": self._start}
        for _ in range(_MAX_PAGES):
            page = self._client.filter_log_events(**request)
            events += page.get("events", [])
            token = page.get("nextToken")
            if not token or token == request.get("nextToken"):
                break
            request["nextToken"] = token
        events.sort(key=lambda event: (int(event.get("timestamp", 0)), int(event.get("ingestionTime", 0))))
        fresh = [event for event in events if event.get("eventId") not in self._seen]
        if events:
            newest = int(events[-1].get("timestamp", 0))
            at_newest = {str(e.get("eventId")) for e in events if int(e.get("timestamp", 0)) == newest}
            self._seen = at_newest if newest > self._start else self._seen | at_newest
            self._start = max(self._start, newest)
        return fresh


def format_event(event: dict[str, Any], output: OutputFormat) -> str:
    """One printed line: ``<UTC time> <message>``, or a JSON object with the stream too."""
    stamp = int(event.get("timestamp", 0))
    when = datetime.fromtimestamp(stamp / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    message = str(event.get("message", "")).rstrip("\n")
    if output is OutputFormat.JSON:
        record = {
            "timestamp": when,
            "timestamp_ms": stamp,
            "stream": event.get("logStreamName"),
            "message": message,
        }
        return json.dumps(record)
    return f"{when}  {message}"


def follow(
    tail: LogTail,
    emit: Callable[[dict[str, Any]], None],
    *,
    interval: float = 1.0,
    stop: threading.Event | None = None,
) -> None:
    """Emit every new event until ``stop`` is set (or Ctrl-C, which the caller handles)."""
    stop = stop or threading.Event()
    while True:
        for event in tail.poll():
            emit(event)
        if stop.wait(interval):
            return


@target_command
def logs_command(
    function: Annotated[
        str | None,
        typer.Argument(
            metavar="FUNCTION",
            help="The function whose logs to print (default: the fragile function of the deployment).",
            show_default=False,
        ),
    ] = None,
    follow_: Annotated[
        bool,
        typer.Option(
            "--follow", "-f", help="Keep printing new events until Ctrl-C (like `sam logs --tail`)."
        ),
    ] = False,
    since: Annotated[
        str,
        typer.Option(
            metavar="DURATION",
            help="Start this long ago (in the cloud's time for a local cloud): 90s, 10m, 2h, 1d.",
        ),
    ] = "10m",
    output: OutputOption = OutputFormat.TEXT,
    where: TargetOptions = DEFAULT_TARGET,
) -> None:
    """Print a function's CloudWatch Logs events with their times, newest last; --follow to keep going."""
    with reporting_errors():
        window = parse_duration(since)
    resolved = where.resolve()
    # Log events carry the cloud's time: a recorded local cloud may run its clock faster than real time.
    now = resolved.clock() if resolved.clock is not None else time.time()
    start_ms = int((now - window) * 1000)
    target = resolved.target
    name = function or resolved.deployment.fragile_function_name
    group = log_group(name)

    def emit(event: dict[str, Any]) -> None:
        print(format_event(event, output), flush=True)

    with reporting_errors(target, group):
        tail = LogTail(target.client("logs"), group, start_ms)
        try:
            if follow_:
                follow(tail, emit)
            else:
                for event in tail.poll():
                    emit(event)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                raise CliError(
                    f"no log group {group} in {target.description} — is {name} deployed, and has it run yet?"
                ) from None
            raise
        except KeyboardInterrupt:
            return
