"""Lambda execution environments: an ``awslambdaric`` child process serving one function, and its Runtime API.

Each environment owns a small threaded HTTP server on an ephemeral 127.0.0.1 port that implements the Lambda
Runtime API (``/2018-06-01/runtime/invocation/next``, ``…/{id}/response``, ``…/{id}/error``,
``/runtime/init/error``); the child runs ``python -m awslambdaric <handler>`` with
``AWS_LAMBDA_RUNTIME_API`` pointing at it. An environment runs one invocation at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["EnvironmentSpec", "ExecutionEnvironment", "RawResult"]


@dataclass(frozen=True)
class EnvironmentSpec:
    """Everything that fixes an environment: a change to any of it needs a new environment."""

    function_name: str
    function_arn: str
    version: str
    handler: str
    code_dir: Path
    code_sha256: str
    timeout: float
    memory_size: int
    variables: Mapping[str, str] = field(default_factory=dict)
    layers: tuple[str, ...] = ()


@dataclass(frozen=True)
class RawResult:
    """What one invocation in an environment produced."""

    request_id: str
    payload: bytes
    error_type: str | None
    duration_ms: float
    log_tail: str


class ExecutionEnvironment:
    """One awslambdaric child process plus its Runtime API server."""

    def __init__(
        self,
        spec: EnvironmentSpec,
        base_env: Mapping[str, str],
        log_line: Callable[[str, str], None],
    ) -> None:
        self.spec = spec
        self._base_env = dict(base_env)
        self._log_line = log_line

    def start(self) -> None:
        """Start the Runtime API server and the child process."""
        raise NotImplementedError

    def invoke(self, request_id: str, payload: bytes) -> RawResult:
        """Run one invocation, enforcing the spec's timeout; the environment is dead afterwards on failure."""
        raise NotImplementedError

    @property
    def alive(self) -> bool:
        """Whether the child process is still running."""
        raise NotImplementedError

    def close(self) -> None:
        """Kill and reap the child and close the Runtime API server."""
        raise NotImplementedError
