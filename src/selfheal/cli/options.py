"""Options several commands share (endpoint, region, names, outputs, work directory, output format)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

__all__ = [
    "EndpointOption",
    "OutputFormat",
    "OutputOption",
    "OutputsOption",
    "PrefixOption",
    "RegionOption",
    "WorkdirOption",
]


class OutputFormat(StrEnum):
    """How a command prints what it found: for people, or one JSON document for scripts."""

    TEXT = "text"
    JSON = "json"


EndpointOption = Annotated[
    str | None,
    typer.Option(
        "--endpoint-url",
        envvar="AWS_ENDPOINT_URL",
        metavar="URL",
        help="The local cloud's endpoint (default: AWS_ENDPOINT_URL, else the cloud `selfheal up` recorded "
        "in the work directory, else real AWS).",
        show_default=False,
    ),
]
RegionOption = Annotated[
    str | None,
    typer.Option("--region", metavar="REGION", help="AWS region (default: outputs, AWS_REGION)."),
]
PrefixOption = Annotated[
    str | None,
    typer.Option(
        "--prefix",
        metavar="PREFIX",
        help="Terraform name_prefix (default: names from the outputs file, else selfheal).",
    ),
]
OutputsOption = Annotated[
    Path | None,
    typer.Option(
        "--outputs",
        metavar="FILE",
        help="Terraform outputs written by `selfheal up` (default: <workdir>/outputs.json).",
        dir_okay=False,
        show_default=False,
    ),
]
WorkdirOption = Annotated[
    Path,
    typer.Option(
        "--workdir",
        metavar="DIR",
        help="Where the cloud record, the operator key, Terraform state and logs live.",
    ),
]
OutputOption = Annotated[
    OutputFormat,
    typer.Option(
        "--output",
        "-o",
        help="text for people, json for scripts (keys documented in the README).",
        case_sensitive=False,
    ),
]
