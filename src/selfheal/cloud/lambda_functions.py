"""Lambda functions as moto stores them: configuration snapshots (reused while unchanged), code on disk.

:func:`lookup_function` reads a function (name, ARN or partial ARN, optional qualifier) from moto's Lambda
backend into a :class:`FunctionConfig`; :class:`CodeCache` extracts its zip once per ``CodeSha256`` into a
temporary directory (removed by :meth:`CodeCache.remove`) and gives the :class:`EnvironmentSpec` an execution
environment is started from and compared by.

:class:`ConfigCache` keeps one snapshot per function version and hands it out again while the moto model is
the same object and every field the snapshot was read from still compares equal to a deep copy taken with
it (:func:`revision`). The check reads the live model at every invoke, so any write (an API call, the
cloud's hooks, Terraform, a test setting an attribute, a dict changed in place) makes the next invoke
take a new snapshot: nothing has to remember to invalidate it.

The directory is named after the owning process, ``selfheal-lambda-code-<pid>-*``: a cloud that was killed
never removes its own, so each new :class:`CodeCache` first removes those of processes no longer running
(:func:`remove_orphaned_code_dirs`), never a live cloud's.

A new function's state, as Lambda reports it: ``Pending`` ("The function is being created.", ``Creating``)
for :data:`PENDING_SECONDS` of cloud time after ``CreateFunction``, then ``Active``. The moto hooks stamp
the moment it turns Active on the function (:func:`mark_pending`) and report the state from it
(:func:`pending_fields`); an invoke of a Pending function raises :class:`FunctionPending`
(:func:`check_invocable`), Lambda's ``ResourceConflictException``.
"""

from __future__ import annotations

import copy
import io
import os
import re
import shutil
import tempfile
import threading
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import CloudError, FunctionNotFound, InvalidRequestContent
from .lambda_runtime import EnvironmentSpec

__all__ = [
    "ACTIVE_AT_ATTRIBUTE",
    "CODE_DIR_PREFIX",
    "DEAD_LETTER_ATTRIBUTE",
    "PENDING_SECONDS",
    "CodeCache",
    "ConfigCache",
    "FunctionConfig",
    "FunctionPending",
    "backend_in_region",
    "check_invocable",
    "function_name",
    "lookup_function",
    "mark_pending",
    "pending_fields",
    "pid_alive",
    "refuse_pending",
    "region_of",
    "remove_orphaned_code_dirs",
    "revision",
    "snapshot",
]

#: Where the moto hooks (:mod:`.moto_state`) keep a function's ``DeadLetterConfig``, which moto drops.
DEAD_LETTER_ATTRIBUTE = "_selfheal_dead_letter_config"
CODE_DIR_PREFIX = "selfheal-lambda-code-"
#: Where the moto hooks keep the cloud time at which a new function turns Active.
ACTIVE_AT_ATTRIBUTE = "_selfheal_active_at"
#: How long (cloud seconds) a new function stays Pending; read at each CreateFunction.
PENDING_SECONDS = 0.25
_OWNED_CODE_DIR = re.compile(rf"^{re.escape(CODE_DIR_PREFIX)}(\d+)-")


@dataclass(frozen=True)
class FunctionConfig:
    """A snapshot of a function's configuration taken at invoke time."""

    name: str
    arn: str
    version: str
    handler: str
    code_sha256: str
    timeout: float
    memory_size: int
    variables: dict[str, str]
    layers: tuple[str, ...]
    reserved_concurrency: int | None
    event_config: dict[str, Any]
    dead_letter_arn: str | None
    model: Any = field(compare=False, repr=False)
    role: str = ""
    runtime: str = ""

    @property
    def region(self) -> str:
        """The region the function lives in (from its ARN)."""
        return self.arn.split(":")[3]


def backend_in_region(backend: Any, service: str, region: str | None) -> Any:
    """moto's backend for ``service`` in ``region`` of the account ``backend`` (one of that service's
    backends) belongs to; ``backend`` itself when ``region`` is None or its own."""
    if region is None or getattr(backend, "region_name", None) == region:
        return backend
    if service in ("lambda", "awslambda"):
        from moto.awslambda.utils import get_backend as lambda_backend

        return lambda_backend(backend.account_id, region)
    from moto.backends import get_backend

    return get_backend(service)[backend.account_id][region]  # type: ignore[call-overload]


def region_of(function: str) -> str | None:
    """The region named by a full function ARN (``arn:aws:lambda:REGION:…``), else None."""
    parts = function.split(":")
    return parts[3] if function.startswith("arn:") and len(parts) >= 7 and parts[3] else None


def function_name(reference: str) -> str:
    """The function name in a full ARN; any other reference unchanged."""
    if reference.startswith("arn:") and reference.count(":") >= 6:
        return reference.split(":")[6]
    return reference


def _model(
    backend: Callable[[str], Any], function: str, qualifier: str | None, region: str | None = None
) -> Any:
    from moto.awslambda.exceptions import LambdaClientError

    if not function:
        raise FunctionNotFound("Function not found: (empty name)")
    try:
        lambdas = backend_in_region(backend("lambda"), "lambda", region_of(function) or region)
        fn = lambdas.get_function(function, qualifier)
    except LambdaClientError as exc:
        raise FunctionNotFound(exc.message) from exc
    if fn is None:
        raise FunctionNotFound(f"Function not found: {function}")
    return fn


def lookup_function(
    backend: Callable[[str], Any], function: str, qualifier: str | None = None
) -> FunctionConfig:
    """Read ``function`` from moto's Lambda backend (``backend("lambda")``); raise FunctionNotFound."""
    return snapshot(_model(backend, function, qualifier))


def revision(fn: Any) -> tuple[Any, ...]:
    """Every field of moto's function ``fn`` that :func:`snapshot` reads, as live references.

    Two revisions compare equal exactly when those fields are equal (nested dicts and lists by value);
    :class:`ConfigCache` compares a deep copy taken with a snapshot against the live model's.
    """
    invoke_configs = fn.event_invoke_config
    return (
        fn.function_name,
        fn.function_arn,
        fn.version,
        fn.handler,
        fn.code_sha_256,
        fn.timeout,
        fn.memory_size,
        fn.environment_vars,
        fn.layers,
        fn.reserved_concurrency,
        invoke_configs[0].config if invoke_configs else None,
        getattr(fn, DEAD_LETTER_ATTRIBUTE, None),
        fn.role,
        fn.run_time,
    )


def snapshot(fn: Any) -> FunctionConfig:
    """A :class:`FunctionConfig` of moto's function model ``fn``, as it is now."""
    reserved = fn.reserved_concurrency
    event_config = dict(fn.event_invoke_config[0].config) if fn.event_invoke_config else {}
    dead_letter = getattr(fn, DEAD_LETTER_ATTRIBUTE, None) or {}
    return FunctionConfig(
        name=fn.function_name,
        arn=fn.function_arn,
        version=str(fn.version),
        handler=fn.handler or "",
        code_sha256=fn.code_sha_256,
        timeout=float(fn.timeout),
        memory_size=int(fn.memory_size),
        variables={str(k): str(v) for k, v in (fn.environment_vars or {}).items()},
        layers=tuple(str(layer.get("Arn", "")) for layer in fn.layers or []),
        reserved_concurrency=None if reserved is None else int(reserved),
        event_config=event_config,
        dead_letter_arn=dead_letter.get("TargetArn") or None,
        model=fn,
        role=str(fn.role or ""),
        runtime=str(fn.run_time or ""),
    )


class ConfigCache:
    """Snapshots of functions' configurations, one per function version, reused while unchanged.

    :meth:`lookup` still asks moto for the function at every call (a deleted function is not found, a
    re-created one is a new model) and reuses the snapshot only if the model is the same object and its
    :func:`revision` equals the one copied when the snapshot was taken.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str, str], tuple[Any, tuple[Any, ...], FunctionConfig]] = {}
        self.snapshots = 0

    def lookup(
        self,
        backend: Callable[[str], Any],
        function: str,
        qualifier: str | None = None,
        region: str | None = None,
    ) -> FunctionConfig:
        """:func:`lookup_function` (in ``region``, else the region a function ARN names, else the
        backend's), from the cache when the function is unchanged."""
        return self.config(_model(backend, function, qualifier, region))

    def config(self, fn: Any) -> FunctionConfig:
        """The snapshot of moto's function model ``fn``, taken again if any field changed."""
        # The region too: functions of one name in two regions are two functions.
        key = (str(fn.function_name), str(fn.version), str(fn.region))
        entry = self._entries.get(key)
        if entry is not None and entry[0] is fn and entry[1] == revision(fn):
            return entry[2]
        with self._lock:
            # Copied before the snapshot: a write in between makes the next lookup take another one.
            copied = copy.deepcopy(revision(fn))
            config = snapshot(fn)
            self._entries[key] = (fn, copied, config)
            self.snapshots += 1
        return config

    def discard(self, function: str) -> None:
        """Forget every version of ``function`` (by name): it was deleted, or its environments retired."""
        with self._lock:
            for key in [key for key in self._entries if key[0] == function]:
                del self._entries[key]


class FunctionPending(CloudError):
    """The function is still being created (``State: Pending``): Lambda does not invoke it yet."""

    code = "ResourceConflictException"
    status = 409


def mark_pending(model: Any, now: float, seconds: float | None = None) -> None:
    """Make moto's function ``model`` Pending until ``seconds`` (default :data:`PENDING_SECONDS`) of cloud
    time after ``now``."""
    setattr(model, ACTIVE_AT_ATTRIBUTE, now + (PENDING_SECONDS if seconds is None else seconds))


def _pending(model: Any, now: float) -> bool:
    active_at = getattr(model, ACTIVE_AT_ATTRIBUTE, None)
    return active_at is not None and now < active_at


def pending_fields(model: Any, now: float) -> dict[str, str]:
    """What GetFunctionConfiguration reports of ``model``'s state while it is Pending, else nothing."""
    if not _pending(model, now):
        return {}
    return {
        "State": "Pending",
        "StateReason": "The function is being created.",
        "StateReasonCode": "Creating",
    }


def check_invocable(model: Any, now: float) -> None:
    """Raise FunctionPending, with Lambda's message, while ``model`` is Pending."""
    if _pending(model, now):
        raise FunctionPending(
            "The operation cannot be performed at this time. "
            "The function is currently in the following state: Pending"
        )


def refuse_pending(backend: Any, function: str, qualifier: str | None, now: float) -> None:
    """Raise FunctionPending when the invoked function of ``backend`` (moto's Lambda backend of its region)
    is still being created; a function not found is left to the Lambda service to answer."""
    try:
        model = backend.get_function(function, qualifier)
    except Exception:
        return
    check_invocable(model, now)


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists (one of another user counts as alive)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_orphaned_code_dirs(root: Path | None = None) -> list[Path]:
    """Remove code directories under ``root`` (the temp dir) whose owning process is gone; return them.

    Only ``selfheal-lambda-code-<pid>-*`` directories of this user are considered; a live process's (and
    the older, pid-less names, whose owner cannot be told) are left alone.
    """
    base = Path(tempfile.gettempdir()) if root is None else root
    removed: list[Path] = []
    try:
        candidates = list(base.iterdir())
    except OSError:
        return removed
    for path in candidates:
        match = _OWNED_CODE_DIR.match(path.name)
        if match is None or int(match[1]) == os.getpid() or pid_alive(int(match[1])):
            continue
        try:
            if not path.is_dir() or path.is_symlink() or path.stat().st_uid != os.getuid():
                continue
        except OSError:
            continue
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            removed.append(path)
    return removed


class CodeCache:
    """Functions' code extracted once per ``CodeSha256`` under one temporary directory of this process.

    Creating one first removes the code directories that killed clouds left behind (``root``: where to
    look and create, default the system's temp dir). What was extracted is remembered, so a warm invoke
    touches no file: :meth:`ensure` checks the directory on disk, for a cold start.
    """

    def __init__(self, root: Path | None = None) -> None:
        self.orphans_removed = remove_orphaned_code_dirs(root)
        self._root = Path(tempfile.mkdtemp(prefix=f"{CODE_DIR_PREFIX}{os.getpid()}-", dir=root))
        self._lock = threading.Lock()
        self._extracted: set[str] = set()
        # The spec of each function version's current snapshot (compared by identity: a new snapshot, a
        # new spec).
        self._specs: dict[tuple[str, str], tuple[FunctionConfig, EnvironmentSpec]] = {}

    @property
    def root(self) -> Path:
        """The directory holding every extracted copy."""
        return self._root

    def _target(self, fn: FunctionConfig) -> Path:
        return self._root / (fn.code_sha256 or "empty").replace("/", "_")

    def code_dir(self, fn: FunctionConfig) -> Path:
        """The directory holding ``fn``'s extracted code; raise InvalidRequestContent if it is no zip."""
        target = self._target(fn)
        if target.name in self._extracted:
            return target
        return self.ensure(fn)

    def ensure(self, fn: FunctionConfig) -> Path:
        """Extract ``fn``'s code unless its directory is on disk (re-extracting one removed meanwhile)."""
        target = self._target(fn)
        with self._lock:
            if not target.exists():
                staging = Path(tempfile.mkdtemp(dir=self._root))
                code = fn.model.code_bytes or b""
                if code:
                    try:
                        with zipfile.ZipFile(io.BytesIO(code)) as archive:
                            archive.extractall(staging)
                    except zipfile.BadZipFile as exc:
                        shutil.rmtree(staging, ignore_errors=True)
                        raise InvalidRequestContent(f"the code of {fn.name} is not a zip file") from exc
                staging.rename(target)
            self._extracted.add(target.name)
        return target

    def spec(self, fn: FunctionConfig) -> EnvironmentSpec:
        """What an execution environment for ``fn`` runs (extracting the code if needed)."""
        key = (fn.name, fn.version)
        cached = self._specs.get(key)
        if cached is not None and cached[0] is fn:
            return cached[1]
        spec = EnvironmentSpec(
            function_name=fn.name,
            function_arn=fn.arn,
            version=fn.version,
            handler=fn.handler,
            code_dir=self.code_dir(fn),
            code_sha256=fn.code_sha256,
            timeout=fn.timeout,
            memory_size=fn.memory_size,
            variables=fn.variables,
            layers=fn.layers,
            role_arn=fn.role,
            runtime=fn.runtime,
        )
        with self._lock:
            self._specs[key] = (fn, spec)
        return spec

    def remove(self) -> None:
        """Delete every extracted copy (idempotent)."""
        with self._lock:
            self._extracted.clear()
        shutil.rmtree(self._root, ignore_errors=True)
