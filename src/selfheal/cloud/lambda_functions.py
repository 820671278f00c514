"""Lambda functions as moto stores them: a configuration snapshot per invoke, and their code on disk.

:func:`lookup_function` reads a function (name, ARN or partial ARN, optional qualifier) from moto's Lambda
backend into a :class:`FunctionConfig`; :class:`CodeCache` extracts its zip once per ``CodeSha256`` into a
temporary directory (removed by :meth:`CodeCache.remove`) and gives the :class:`EnvironmentSpec` an execution
environment is started from and compared by.
"""

from __future__ import annotations

import io
import shutil
import tempfile
import threading
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import FunctionNotFound, InvalidRequestContent
from .lambda_runtime import EnvironmentSpec

__all__ = ["DEAD_LETTER_ATTRIBUTE", "CodeCache", "FunctionConfig", "function_name", "lookup_function"]

#: Where the moto hooks (:mod:`.moto_state`) keep a function's ``DeadLetterConfig``, which moto drops.
DEAD_LETTER_ATTRIBUTE = "_selfheal_dead_letter_config"


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


def function_name(reference: str) -> str:
    """The function name in a full ARN; any other reference unchanged."""
    if reference.startswith("arn:") and reference.count(":") >= 6:
        return reference.split(":")[6]
    return reference


def lookup_function(
    backend: Callable[[str], Any], function: str, qualifier: str | None = None
) -> FunctionConfig:
    """Read ``function`` from moto's Lambda backend (``backend("lambda")``); raise FunctionNotFound."""
    from moto.awslambda.exceptions import LambdaClientError

    if not function:
        raise FunctionNotFound("Function not found: (empty name)")
    try:
        fn = backend("lambda").get_function(function, qualifier)
    except LambdaClientError as exc:
        raise FunctionNotFound(exc.message) from exc
    if fn is None:
        raise FunctionNotFound(f"Function not found: {function}")
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
    )


class CodeCache:
    """Functions' code extracted once per ``CodeSha256`` under one temporary directory."""

    def __init__(self) -> None:
        self._root = Path(tempfile.mkdtemp(prefix="selfheal-lambda-code-"))
        self._lock = threading.Lock()

    def code_dir(self, fn: FunctionConfig) -> Path:
        """The directory holding ``fn``'s extracted code; raise InvalidRequestContent if it is no zip."""
        target = self._root / (fn.code_sha256 or "empty").replace("/", "_")
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
        return target

    def spec(self, fn: FunctionConfig) -> EnvironmentSpec:
        """What an execution environment for ``fn`` runs (extracting the code if needed)."""
        return EnvironmentSpec(
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
        )

    def remove(self) -> None:
        """Delete every extracted copy (idempotent)."""
        shutil.rmtree(self._root, ignore_errors=True)
