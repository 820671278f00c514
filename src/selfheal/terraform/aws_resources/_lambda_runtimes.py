"""Which Lambda runtimes the local cloud runs, checked at plan so that a function it cannot run is refused
before anything is created (never at its first invocation).

The local cloud runs Python handlers only (AWS's runtime interface client on a Python interpreter); Node.js,
Java, .NET, Ruby, Go and OS-only (``provided*``) runtimes are refused by name. Python runtimes AWS no longer
lets one create functions with are refused with AWS's own words.
"""

from __future__ import annotations

from typing import Any

from selfheal.terraform.resource import ResourceError, is_unknown

__all__ = ["DEPRECATED_PYTHON", "LOCAL_RUNTIMES", "check_runtime"]

#: The runtimes the local cloud runs (AWS's supported Python runtimes).
LOCAL_RUNTIMES = ("python3.9", "python3.10", "python3.11", "python3.12", "python3.13", "python3.14")
#: Python runtimes AWS refuses for new or updated functions.
DEPRECATED_PYTHON = ("python2.7", "python3.6", "python3.7", "python3.8")


def check_runtime(runtime: Any) -> None:
    """Raise :class:`ResourceError` (on ``runtime``) unless the known ``runtime`` runs in the local cloud;
    null (an image function) and unknown values pass."""
    if not isinstance(runtime, str) or is_unknown(runtime) or runtime in LOCAL_RUNTIMES:
        return
    if runtime in DEPRECATED_PYTHON:
        raise ResourceError(
            f"runtime {runtime}: InvalidParameterValueException: The runtime parameter of {runtime} is no "
            "longer supported for creating or updating AWS Lambda functions. We recommend you use a "
            "supported runtime while creating or updating functions.",
            f"Runtimes the local cloud runs: {', '.join(LOCAL_RUNTIMES)}.",
            attribute="runtime",
        )
    raise ResourceError(
        f"runtime {runtime} is not supported by the selfheal local cloud, which runs Python functions "
        f"only ({', '.join(LOCAL_RUNTIMES)})",
        "Node.js, Java, .NET, Ruby, Go and OS-only (provided*) runtimes cannot run locally; use a Python "
        "runtime, or deploy this function to AWS.",
        attribute="runtime",
    )
