"""``selfheal inject``: change the fragile function's failure settings now, keeping every other variable."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from selfheal.cli.errors import reporting_errors
from selfheal.cli.options import EndpointOption, OutputsOption, PrefixOption, RegionOption
from selfheal.loop.deployment import DEFAULT_OUTPUTS_PATH, AwsTarget, Deployment
from selfheal.loop.injection import FailureChange, apply_failure_change

__all__ = ["inject"]


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
    change = FailureChange(
        rate=rate, mode=mode, latency_ms=latency_ms, status_code=status_code, enabled=enable
    )
    target: AwsTarget | None = None
    with reporting_errors():
        change.validate()
        deployment = Deployment.resolve(prefix, outputs)
        target = AwsTarget.resolve(endpoint_url, region, deployment)
    assert target is not None
    function = deployment.fragile_function_name
    with reporting_errors(target, function):
        outcome = apply_failure_change(target.client("lambda"), function, change)
    console = Console(highlight=False)
    if not outcome.updated:
        console.print(f"{function}: already set, nothing changed")
        return
    for name in sorted(set(outcome.before) | set(outcome.after)):
        old, new = outcome.before.get(name), outcome.after.get(name)
        if old != new:
            console.print(f"{function}: {name} {old if old is not None else '(unset)'} → {new}", markup=False)
