"""Which deployment a command talks to, and where: one rule for every command that reads or changes it.

The endpoint is ``--endpoint-url`` (or ``AWS_ENDPOINT_URL``) when given; else the local cloud ``selfheal up``
recorded in ``<workdir>/cloud.json`` (its endpoint and region, signed with ``<workdir>/credentials``),
refused in one line when that process is gone; else real AWS through boto3's credentials. Names come from
``--prefix``, else the outputs file (default ``<workdir>/outputs.json``), else the default prefix. Each
command says on stderr which target it talks to (``target: …``), so stdout stays the command's output.

A command takes those five options as one parameter, ``where: TargetOptions``, and is decorated with
:func:`target_command`, which shows typer the five options in that parameter's place.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from selfheal.cli.errors import CliError, reporting_errors, stderr_console
from selfheal.cli.options import EndpointOption, OutputsOption, PrefixOption, RegionOption, WorkdirOption
from selfheal.loop.deployment import AwsTarget, Deployment
from selfheal.stack.cloud_process import cloud_alive
from selfheal.workdir import DEFAULT_WORKDIR, CloudRecord, Workdir

__all__ = ["DEFAULT_TARGET", "Resolved", "TargetOptions", "announce", "resolve_target", "target_command"]


@dataclass(frozen=True)
class Resolved:
    """A command's target, the deployment's names, how the target was chosen and the cloud's clock."""

    target: AwsTarget
    deployment: Deployment
    chosen_by: str
    signed_with: str
    clock: Callable[[], float] | None = None

    @property
    def summary(self) -> str:
        """One line: where requests go, why there, and with which key."""
        return f"{self.target.description} ({self.chosen_by}; {self.signed_with})"

    def as_json(self) -> dict[str, object]:
        """The target for ``--output json``."""
        return {
            "endpoint_url": self.target.endpoint_url,
            "region": self.target.region,
            "local": self.target.is_local,
            "chosen_by": self.chosen_by,
            "names_from": self.deployment.source,
        }


def _recorded_cloud(place: Workdir) -> CloudRecord | None:
    """The cloud recorded in the work directory; CliError when its process is gone."""
    record = place.read_cloud()  # ValueError (exit 2) for a damaged record
    if record is not None and not cloud_alive(record):
        raise CliError(
            f"the local cloud recorded in {place.cloud_json} ({record.endpoint}, pid {record.pid}) is not "
            f"running — `selfheal up{_workdir_flag(place)}` starts it again "
            f"(`selfheal down{_workdir_flag(place)}` clears the record)"
        )
    return record


def _workdir_flag(place: Workdir) -> str:
    return "" if place.root == DEFAULT_WORKDIR else f" --workdir {place.root}"


def resolve_target(
    endpoint_url: str | None, region: str | None, prefix: str | None, outputs: Path | None, workdir: Path
) -> Resolved:
    """The target and names of a command's options (see the module); ValueError/CliError, one line."""
    from selfheal.clock import Clock

    place = Workdir(workdir)
    deployment = Deployment.resolve(prefix, outputs if outputs is not None else place.outputs_json)
    from_environment = os.environ.get("AWS_ENDPOINT_URL") or None
    given = endpoint_url or from_environment
    record: CloudRecord | None = None
    if given is not None:
        chosen_by = (
            "--endpoint-url" if endpoint_url and endpoint_url != from_environment else "AWS_ENDPOINT_URL"
        )
        with contextlib.suppress(ValueError):  # only its clock is wanted: a damaged record does not matter
            record = place.read_cloud()
    else:
        record = _recorded_cloud(place)
        if record is not None:
            given, region = record.endpoint, region or record.region
            chosen_by = f"recorded in {place.cloud_json}"
        else:
            chosen_by = f"no --endpoint-url, AWS_ENDPOINT_URL or local cloud in {place.cloud_json}"
    target = AwsTarget.resolve(given, region, deployment, workdir=workdir)
    if target.operator_key is not None:
        signed_with = f"key {place.credentials_file}"
    elif os.environ.get("AWS_PROFILE"):
        signed_with = f"AWS profile {os.environ['AWS_PROFILE']}"
    else:
        signed_with = "boto3's default credentials"
    clock: Callable[[], float] | None = None
    if record is not None and target.endpoint_url == record.endpoint and record.time_scale > 1:
        clock = Clock(record.time_scale, origin=record.started_at).now
    return Resolved(target, deployment, chosen_by, signed_with, clock)


def announce(resolved: Resolved) -> None:
    """Say on stderr which target the command talks to."""
    stderr_console().print(f"target: {resolved.summary}", markup=False)


@dataclass(frozen=True)
class TargetOptions:
    """The options that choose a command's target and names (see the module), as one value."""

    endpoint_url: str | None
    region: str | None
    prefix: str | None
    outputs: Path | None
    workdir: Path

    def resolve(self) -> Resolved:
        """The target, announced on stderr; a failure is one line and its exit code (``reporting_errors``)."""
        with reporting_errors():
            resolved = resolve_target(self.endpoint_url, self.region, self.prefix, self.outputs, self.workdir)
        announce(resolved)
        return resolved


def target_options(
    endpoint_url: EndpointOption = None,
    region: RegionOption = None,
    prefix: PrefixOption = None,
    outputs: OutputsOption = None,
    workdir: WorkdirOption = DEFAULT_WORKDIR,
) -> TargetOptions:
    """The options as typer shows them (:func:`target_command` lends it this signature)."""
    return TargetOptions(endpoint_url, region, prefix, outputs, workdir)


DEFAULT_TARGET = target_options()


def target_command(command: Callable[..., None]) -> Callable[..., None]:
    """``command`` with its ``TargetOptions`` parameter shown to typer as the five options, in its place."""
    signature = inspect.signature(command, eval_str=True)
    [where] = [p.name for p in signature.parameters.values() if p.annotation is TargetOptions]
    options = inspect.signature(target_options, eval_str=True).parameters
    parameters: list[inspect.Parameter] = []
    for parameter in signature.parameters.values():
        parameters += options.values() if parameter.name == where else [parameter]

    @functools.wraps(command)
    def with_options(**values: Any) -> None:
        chosen = target_options(**{name: values.pop(name) for name in options})
        command(**values, **{where: chosen})

    with_options.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    with_options.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": None}
    return with_options
