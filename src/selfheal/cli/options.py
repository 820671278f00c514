"""Options several commands share (endpoint, region, names, outputs, work directory)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["EndpointOption", "OutputsOption", "PrefixOption", "RegionOption", "WorkdirOption"]

EndpointOption = Annotated[
    str | None,
    typer.Option(
        "--endpoint-url",
        envvar="AWS_ENDPOINT_URL",
        help="The local cloud's endpoint (default: AWS_ENDPOINT_URL; unset means real AWS).",
        show_default=False,
    ),
]
RegionOption = Annotated[
    str | None, typer.Option("--region", help="AWS region (default: outputs, AWS_REGION).")
]
PrefixOption = Annotated[
    str | None,
    typer.Option(
        "--prefix", help="Terraform name_prefix (default: names from the outputs file, else selfheal)."
    ),
]
OutputsOption = Annotated[
    Path, typer.Option("--outputs", help="Terraform outputs written by `selfheal up`.", dir_okay=False)
]
WorkdirOption = Annotated[
    Path,
    typer.Option(
        "--workdir", help="Where the cloud record, the operator key, Terraform state and logs live."
    ),
]
