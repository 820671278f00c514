"""``selfheal inject``: change the fragile function's failure settings now, keeping every other variable."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console

from selfheal.cli.errors import reporting_errors
from selfheal.cli.options import OutputFormat, OutputOption
from selfheal.cli.target import DEFAULT_TARGET, TargetOptions, target_command
from selfheal.loop.injection import FailureChange, apply_failure_change

__all__ = ["inject"]


@target_command
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
    output: OutputOption = OutputFormat.TEXT,
    where: TargetOptions = DEFAULT_TARGET,
) -> None:
    """Change the fragile function's failure settings now, keeping every other variable."""
    change = FailureChange(
        rate=rate, mode=mode, latency_ms=latency_ms, status_code=status_code, enabled=enable
    )
    with reporting_errors():
        change.validate()
    resolved = where.resolve()
    target = resolved.target
    function = resolved.deployment.fragile_function_name
    with reporting_errors(target, function):
        outcome = apply_failure_change(target.client("lambda"), function, change)
    changed = {
        name: [outcome.before.get(name), outcome.after.get(name)]
        for name in sorted(set(outcome.before) | set(outcome.after))
        if outcome.before.get(name) != outcome.after.get(name)
    }
    if output is OutputFormat.JSON:
        print(json.dumps({"function": function, "updated": outcome.updated, "changed": changed}, indent=2))
        return
    console = Console(highlight=False)
    if not outcome.updated:
        console.print(f"{function}: already set, nothing changed")
        return
    for name, (old, new) in changed.items():
        console.print(f"{function}: {name} {old if old is not None else '(unset)'} → {new}", markup=False)
