"""Where a selfheal deployment lives: its resource names and the AWS endpoint the CLI talks to.

Names come from Terraform's outputs in ``.selfheal/outputs.json`` (a flat JSON object of output name →
value, written after ``selfheal up``) when that file exists, else from the ``name_prefix`` convention of
docs/internals.md. The target is the local cloud when an endpoint URL is given (``--endpoint-url`` or
``AWS_ENDPOINT_URL``), else real AWS through boto3's usual credential chain.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

__all__ = [
    "DEFAULT_OUTPUTS_PATH",
    "DEFAULT_PREFIX",
    "AwsTarget",
    "Deployment",
    "load_outputs",
]

DEFAULT_PREFIX = "selfheal"
DEFAULT_OUTPUTS_PATH = Path(".selfheal") / "outputs.json"

_PREFIX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,39}$")
_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=3, read_timeout=15)


def load_outputs(path: Path) -> dict[str, str]:
    """Read a flat outputs file; raise ValueError when it is not a JSON object of strings."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"cannot read Terraform outputs from {path}: {error}") from error
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a JSON object of output name → value")
    return {str(name): str(value) for name, value in data.items() if isinstance(value, str | int | float)}


@dataclass(frozen=True)
class Deployment:
    """The names of one deployment's resources."""

    fragile_function_name: str
    healer_function_name: str
    alarm_name: str
    ledger_table_name: str
    api_endpoint: str | None = None
    region: str | None = None
    source: str = "prefix"

    @classmethod
    def from_prefix(cls, prefix: str = DEFAULT_PREFIX) -> Deployment:
        """Names by the ``name_prefix`` convention; ValueError for a prefix Terraform would reject."""
        if not _PREFIX.match(prefix):
            raise ValueError(
                f"prefix must be 1-40 letters, digits or '-', starting with a letter or digit, got {prefix!r}"
            )
        return cls(
            fragile_function_name=f"{prefix}-fragile",
            healer_function_name=f"{prefix}-healer",
            alarm_name=f"{prefix}-fragile-errors",
            ledger_table_name=f"{prefix}-ledger",
            source=f"prefix {prefix!r}",
        )

    @classmethod
    def resolve(cls, prefix: str | None, outputs_path: Path = DEFAULT_OUTPUTS_PATH) -> Deployment:
        """An explicit prefix wins; else Terraform outputs if the file exists; else the default prefix."""
        if prefix is not None or not outputs_path.exists():
            return cls.from_prefix(prefix if prefix is not None else DEFAULT_PREFIX)
        outputs = load_outputs(outputs_path)
        fallback = cls.from_prefix(DEFAULT_PREFIX)
        return cls(
            fragile_function_name=outputs.get("fragile_function_name", fallback.fragile_function_name),
            healer_function_name=outputs.get("healer_function_name", fallback.healer_function_name),
            alarm_name=outputs.get("alarm_name", fallback.alarm_name),
            ledger_table_name=outputs.get("ledger_table_name", fallback.ledger_table_name),
            api_endpoint=outputs.get("api_endpoint"),
            region=outputs.get("region"),
            source=str(outputs_path),
        )


@dataclass(frozen=True)
class AwsTarget:
    """The endpoint and region boto3 clients are made for; ``endpoint_url`` None means real AWS."""

    endpoint_url: str | None
    region: str

    @classmethod
    def resolve(
        cls, endpoint_url: str | None, region: str | None, deployment: Deployment | None = None
    ) -> AwsTarget:
        """Pick the endpoint (flag, then ``AWS_ENDPOINT_URL``) and the region (flag, outputs, env)."""
        endpoint = endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None
        if endpoint is not None and not re.match(r"^https?://[^\s/]+", endpoint):
            raise ValueError(f"endpoint URL must look like http://127.0.0.1:4566, got {endpoint!r}")
        chosen = (
            region
            or (deployment.region if deployment else None)
            or os.environ.get("AWS_REGION")
            or os.environ.get("AWS_DEFAULT_REGION")
            or boto3.session.Session().region_name
            or "us-east-1"
        )
        return cls(endpoint.rstrip("/") if endpoint else None, chosen)

    @property
    def is_local(self) -> bool:
        """True when talking to a local cloud rather than AWS."""
        return self.endpoint_url is not None

    @property
    def description(self) -> str:
        """Where requests go, for messages."""
        return f"the local cloud at {self.endpoint_url}" if self.endpoint_url else f"AWS ({self.region})"

    def client(self, service: str) -> Any:
        """A boto3 client for ``service``; the local cloud gets dummy credentials when none are set."""
        session = boto3.session.Session(region_name=self.region)
        if self.endpoint_url is not None and session.get_credentials() is None:
            session = boto3.session.Session(
                region_name=self.region, aws_access_key_id="testing", aws_secret_access_key="testing"
            )
        return session.client(  # type: ignore[call-overload]
            service, endpoint_url=self.endpoint_url, config=_CLIENT_CONFIG
        )
