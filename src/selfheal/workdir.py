"""The ``.selfheal/`` work directory that ``selfheal up`` fills and ``selfheal down`` empties.

```
.selfheal/
  credentials      the local cloud's operator key (AWS shared-credentials file, profile `selfheal`,
                   mode 0600); kept by `selfheal down`, so exported AWS_PROFILE settings stay valid
  cloud.json       the background local cloud: pid, endpoint, port, time scale, region, start time
  cloud.log        its output
  stack/           the wrapper root module, Terraform's state and data directory
  terraform.log    Terraform's own output, every command appended
  outputs.json     flat Terraform outputs (name → value), read by `selfheal status`/`inject`/`traffic`
  dashboard.json   the background `selfheal dashboard` of `selfheal up`: pid, URL, port, start time
  dashboard.log    its output
```

The logs are appended to run after run and kept by ``selfheal down``; one over 4 MiB when a run starts is
moved to ``<name>.1`` first (:func:`rotate_log`), so each takes 8 MiB at most.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from selfheal.clock import check_scale

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = [
    "DEFAULT_WORKDIR",
    "MAX_LOG_BYTES",
    "CloudRecord",
    "DashboardRecord",
    "Workdir",
    "aws_regions",
    "check_region",
    "rotate_log",
]

DEFAULT_WORKDIR = Path(".selfheal")

#: A log over this size when a run starts appending to it is moved aside first (:func:`rotate_log`).
MAX_LOG_BYTES = 4 * 1024 * 1024

R = TypeVar("R", bound="DataclassInstance")

# The types a record's fields may have, as its (postponed) annotations name them.
_FIELD_TYPES: dict[str, Callable[[Any], Any]] = {"int": int, "float": float, "str": str}


@lru_cache(maxsize=1)
def aws_regions() -> frozenset[str]:
    """Every region name AWS's partitions list (botocore's endpoint data: aws, aws-cn, aws-us-gov, …)."""
    from botocore.loaders import create_loader

    endpoints = create_loader().load_data("endpoints")
    return frozenset(str(region) for partition in endpoints["partitions"] for region in partition["regions"])


def check_region(region: str) -> str:
    """``region`` when it is one of AWS's region names; ValueError (one line) otherwise."""
    if region not in aws_regions():
        raise ValueError(f"unknown AWS region {region!r}: give a region name such as us-east-1 or eu-north-1")
    return region


def _check_process(pid: int, port: int) -> None:
    """The checks every background process's record makes: a real pid, a TCP port."""
    if pid <= 1:
        raise ValueError(f"pid must be a process id above 1, got {pid}")
    if not 0 < port <= 65535:
        raise ValueError(f"port must be from 1 to 65535, got {port}")


@dataclass(frozen=True)
class CloudRecord:
    """What ``cloud.json`` says about the background local cloud."""

    pid: int
    endpoint: str
    port: int
    time_scale: float
    region: str
    started_at: float

    def __post_init__(self) -> None:
        _check_process(self.pid, self.port)
        if not self.endpoint.startswith("http://127.0.0.1:"):
            raise ValueError(f"endpoint must be http://127.0.0.1:<port>, got {self.endpoint!r}")
        check_scale(self.time_scale)
        check_region(self.region)


@dataclass(frozen=True)
class DashboardRecord:
    """What ``dashboard.json`` says about the background dashboard."""

    pid: int
    url: str
    port: int
    started_at: float

    def __post_init__(self) -> None:
        _check_process(self.pid, self.port)
        if self.url != f"http://127.0.0.1:{self.port}/":
            raise ValueError(f"url must be http://127.0.0.1:{self.port}/, got {self.url!r}")


def _from_json(kind: type[R], data: Mapping[str, Any]) -> R:
    """The record ``kind`` (a dataclass) of its JSON object, each field converted to the type it declares;
    KeyError for a missing field, ValueError or TypeError for a value of the wrong kind."""
    return kind(**{field.name: _FIELD_TYPES[str(field.type)](data[field.name]) for field in fields(kind)})


@dataclass(frozen=True)
class Workdir:
    """Paths of one work directory (default ``.selfheal`` in the current directory)."""

    root: Path = DEFAULT_WORKDIR

    @property
    def credentials_file(self) -> Path:
        """The operator key of the clouds run from this directory (``selfheal.cloud.load_or_create``)."""
        return self.root / "credentials"

    @property
    def cloud_json(self) -> Path:
        """The background cloud's record."""
        return self.root / "cloud.json"

    @property
    def cloud_log(self) -> Path:
        """The background cloud's stdout and stderr."""
        return self.root / "cloud.log"

    @property
    def stack_dir(self) -> Path:
        """The wrapper root module and its state."""
        return self.root / "stack"

    @property
    def state_file(self) -> Path:
        """Terraform's local state."""
        return self.stack_dir / "terraform.tfstate"

    @property
    def terraform_log(self) -> Path:
        """Terraform's output lines."""
        return self.root / "terraform.log"

    @property
    def outputs_json(self) -> Path:
        """Flat Terraform outputs."""
        return self.root / "outputs.json"

    @property
    def dashboard_json(self) -> Path:
        """The background dashboard's record."""
        return self.root / "dashboard.json"

    @property
    def dashboard_log(self) -> Path:
        """The background dashboard's stdout and stderr."""
        return self.root / "dashboard.log"

    def ensure(self) -> None:
        """Create the directory (and the stack directory inside it)."""
        self.stack_dir.mkdir(parents=True, exist_ok=True)

    def read_cloud(self) -> CloudRecord | None:
        """The recorded cloud, None when there is no record; ValueError for a damaged one."""
        return self._read_record(self.cloud_json, CloudRecord)

    def write_cloud(self, record: CloudRecord) -> None:
        """Record the cloud (atomically, so a reader never sees half a file)."""
        self._write_json(self.cloud_json, asdict(record))

    def read_dashboard(self) -> DashboardRecord | None:
        """The recorded dashboard, None when there is no record; ValueError for a damaged one."""
        return self._read_record(self.dashboard_json, DashboardRecord)

    def write_dashboard(self, record: DashboardRecord) -> None:
        """Record the dashboard (atomically)."""
        self._write_json(self.dashboard_json, asdict(record))

    def write_outputs(self, outputs: dict[str, object]) -> None:
        """Write ``outputs.json``: output name → value (strings and numbers as they are, others as JSON)."""
        flat = {
            name: value if isinstance(value, str | int | float | bool) or value is None else json.dumps(value)
            for name, value in sorted(outputs.items())
        }
        self._write_json(self.outputs_json, flat)

    def remove_state(self) -> list[Path]:
        """Delete the cloud and dashboard records, the outputs and Terraform's state; return what was removed.

        The stack module, Terraform's data directory (providers), the logs and the operator key
        (``credentials``, stable per work directory so exported settings stay valid) stay for the next `up`.
        """
        removed = []
        candidates = [
            self.cloud_json,
            self.dashboard_json,
            self.outputs_json,
            self.state_file,
            self.stack_dir / "terraform.tfstate.backup",
            self.stack_dir / ".terraform.tfstate.lock.info",
        ]
        for path in candidates:
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            removed.append(path)
        return removed

    def remove_all(self) -> None:
        """Delete the whole work directory, the operator key (``credentials``) included."""
        shutil.rmtree(self.root, ignore_errors=True)

    @staticmethod
    def _read_record(path: Path, kind: type[R]) -> R | None:
        """The record ``kind`` of the JSON object in ``path``; None when there is no file, ValueError when
        damaged."""
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as error:
            raise ValueError(f"cannot read {path}: {error.strerror}") from None
        try:
            return _from_json(kind, json.loads(text))
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"{path} is damaged ({error}); delete it and retry") from None

    @staticmethod
    def _write_json(path: Path, data: object) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        os.replace(partial, path)


def rotate_log(path: Path, max_bytes: int | None = None) -> None:
    """Move the log at ``path`` to ``<name>.1`` (replacing an older one) when it is over ``max_bytes``
    (default :data:`MAX_LOG_BYTES`); nothing when it is smaller or absent. Called before a run appends."""
    limit = MAX_LOG_BYTES if max_bytes is None else max_bytes
    try:
        if path.stat().st_size <= limit:
            return
    except FileNotFoundError:
        return
    os.replace(path, path.with_name(path.name + ".1"))
