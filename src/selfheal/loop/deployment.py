"""Where a selfheal deployment lives: its resource names and the AWS endpoint the CLI talks to.

Names come from Terraform's outputs in ``.selfheal/outputs.json`` (a flat JSON object of output name →
value, written after ``selfheal up``) when that file exists, else from the ``name_prefix`` convention of
docs/internals.md. The target is the local cloud when an endpoint URL is given (``--endpoint-url`` or
``AWS_ENDPOINT_URL``), else real AWS through boto3's usual credential chain.

A local cloud accepts only the keys it issued. Requests to one on a loopback address are signed with the
operator key of the work directory (``.selfheal/credentials``, written by ``selfheal up``/``selfheal
cloud``) when that file exists, else with boto3's usual credentials (e.g. ``AWS_PROFILE=selfheal`` and
``AWS_SHARED_CREDENTIALS_FILE`` as ``selfheal cloud`` prints them); with neither, resolving the target is a
one-line error. No well-known test key is ever guessed. An ``AWS_PROFILE`` that names no profile is a
one-line error too (:class:`AwsProfileError`), wherever boto3 first notices it.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import ProfileNotFound

from selfheal.loopback import is_loopback_url
from selfheal.workdir import DEFAULT_WORKDIR, Workdir

if TYPE_CHECKING:
    from selfheal.cloud.credentials import OperatorKey

__all__ = [
    "DEFAULT_OUTPUTS_PATH",
    "DEFAULT_PREFIX",
    "AwsProfileError",
    "AwsTarget",
    "Deployment",
    "LocalCredentialsError",
    "load_outputs",
    "no_local_credentials_message",
    "unknown_profile_message",
    "workdir_operator_key",
]

DEFAULT_PREFIX = "selfheal"
DEFAULT_OUTPUTS_PATH = DEFAULT_WORKDIR / "outputs.json"

_PREFIX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,39}$")
_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=3, read_timeout=15)


class LocalCredentialsError(ValueError):
    """No key to sign requests to a local cloud with; the message says how to get one."""


class AwsProfileError(ValueError):
    """``AWS_PROFILE`` names a profile the AWS config files do not have; the message says what to do."""


def unknown_profile_message(profile: str | None = None) -> str:
    """What to do when boto3 cannot find the profile ``AWS_PROFILE`` names (one line)."""
    name = profile or os.environ.get("AWS_PROFILE") or "?"
    return (
        f"AWS profile {name!r} (AWS_PROFILE) is not in your AWS config — list the profiles with "
        "`aws configure list-profiles`, or unset AWS_PROFILE: the local cloud of `selfheal up` needs none"
    )


def no_local_credentials_message(endpoint: str, workdir: Path | None = None) -> str:
    """What to do when there is no key for the local cloud at ``endpoint`` (one line)."""
    missing = f"no {Workdir(workdir).credentials_file}" if workdir is not None else "no operator key"
    return (
        f"no credentials for the local cloud at {endpoint} ({missing}, none in the environment) — "
        "start it with `selfheal up` or `selfheal cloud`, or set AWS_SHARED_CREDENTIALS_FILE and "
        "AWS_PROFILE as `selfheal cloud` prints them"
    )


def workdir_operator_key(workdir: Path = DEFAULT_WORKDIR) -> OperatorKey | None:
    """The operator key kept in ``<workdir>/credentials``; None when there is no such file.

    ValueError (one line) for a file that is damaged or readable by other users.
    """
    path = Workdir(workdir).credentials_file
    if not path.exists():
        return None
    from selfheal.cloud.credentials import read_key  # lazily: the cloud package imports moto

    return read_key(path)


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
    registry_path: str = f"/selfheal/{DEFAULT_PREFIX}"
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
            registry_path=f"/selfheal/{prefix}",
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
            registry_path=outputs.get("registry_path", fallback.registry_path),
            api_endpoint=outputs.get("api_endpoint"),
            region=outputs.get("region"),
            source=str(outputs_path),
        )


@dataclass(frozen=True)
class AwsTarget:
    """The endpoint and region boto3 clients are made for; ``endpoint_url`` None means real AWS.

    ``operator_key`` signs every request when set (a local cloud's key); else boto3's usual credentials.
    """

    endpoint_url: str | None
    region: str
    operator_key: OperatorKey | None = field(default=None, compare=False)

    @classmethod
    def resolve(
        cls,
        endpoint_url: str | None,
        region: str | None,
        deployment: Deployment | None = None,
        *,
        workdir: Path = DEFAULT_WORKDIR,
        operator_key: OperatorKey | None = None,
    ) -> AwsTarget:
        """Pick the endpoint (flag, then ``AWS_ENDPOINT_URL``), the region (flag, outputs, env) and, for a
        local cloud, the key: ``operator_key``, else ``<workdir>/credentials``, else boto3's credentials.

        ValueError (one line) for a bad endpoint, an unusable key file, a local cloud with no key at all, or
        an ``AWS_PROFILE`` naming no profile (:class:`AwsProfileError`).
        """
        try:
            return cls._resolve(endpoint_url, region, deployment, workdir, operator_key)
        except ProfileNotFound as error:
            raise AwsProfileError(unknown_profile_message(error.kwargs.get("profile"))) from None

    @classmethod
    def _resolve(
        cls,
        endpoint_url: str | None,
        region: str | None,
        deployment: Deployment | None,
        workdir: Path,
        operator_key: OperatorKey | None,
    ) -> AwsTarget:
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
        if endpoint is None:
            return cls(None, chosen)
        endpoint = endpoint.rstrip("/")
        key = operator_key
        if key is None and is_loopback_url(endpoint):
            key = workdir_operator_key(workdir)
        if key is None and boto3.session.Session().get_credentials() is None:
            raise LocalCredentialsError(no_local_credentials_message(endpoint, workdir))
        return cls(endpoint, chosen, key)

    @property
    def is_local(self) -> bool:
        """True when talking to a local cloud rather than AWS."""
        return self.endpoint_url is not None

    @property
    def description(self) -> str:
        """Where requests go, for messages."""
        return f"the local cloud at {self.endpoint_url}" if self.endpoint_url else f"AWS ({self.region})"

    def client(self, service: str, config: Config | None = None) -> Any:
        """A boto3 client for ``service``, signed with ``operator_key`` if set, else boto3's credentials;
        ``config`` overrides settings of the usual client configuration (e.g. a longer read timeout).

        Without either, its calls fail with botocore's ``NoCredentialsError`` (never a guessed key).
        """
        if self.operator_key is not None:
            session = boto3.session.Session(
                aws_access_key_id=self.operator_key.access_key_id,
                aws_secret_access_key=self.operator_key.secret_access_key,
                region_name=self.region,
            )
        else:
            session = boto3.session.Session(region_name=self.region)
        return session.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.endpoint_url,
            config=_CLIENT_CONFIG if config is None else _CLIENT_CONFIG.merge(config),
        )
