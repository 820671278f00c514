"""Run the user's own Terraform, unchanged, against the local cloud: the mechanics of ``selfheal tf``.

Terraform runs in a child process (the embedded Terraform reads the environment it starts with) with the
terminal's own stdin, stdout and stderr, so its output streams as it comes and ``apply`` can ask for its
confirmation. Its environment holds a CLI configuration whose ``dev_overrides`` point ``hashicorp/aws``,
``archive``, ``random``, ``null`` and ``time`` at selfheal's local providers (written into a temporary
directory for the run), the local cloud's endpoint (``SELFHEAL_ENDPOINT``/``AWS_ENDPOINT_URL``: the local
AWS provider talks to it whatever the ``provider "aws"`` block says) and the key the cloud accepts. The
user's ``AWS_*`` settings are left out, so nothing reaches real AWS; ``TF_*`` settings (``TF_VAR_…``,
``TF_LOG``) are kept.

A ``backend`` (or ``cloud``) block other than ``local`` in the root module is overridden with Terraform's
own override-file mechanism: :data:`OVERRIDE_FILE` (``terraform { backend "local" {} }``) is written beside
the user's files while Terraform runs and removed after, so state stays in ``terraform.tfstate`` there and
no ``.tf`` file is changed.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from selfheal.terraform.launch import install_providers

__all__ = [
    "NEEDS_NO_CLOUD",
    "OVERRIDE_FILE",
    "OVERRIDE_TEXT",
    "UserStackError",
    "backend_override",
    "remote_backend",
    "root_directory",
    "run_terraform",
    "subcommand",
    "terraform_environment",
]

#: Written beside the user's ``.tf`` files while Terraform runs when they declare a remote backend.
OVERRIDE_FILE = "_selfheal_backend_override.tf"
OVERRIDE_TEXT = (
    "# Written by `selfheal tf` while Terraform runs, removed after: local state for the local cloud.\n"
    'terraform {\n  backend "local" {}\n}\n'
)
#: Terraform commands that read no configuration and reach no cloud.
NEEDS_NO_CLOUD = frozenset({"version", "fmt", "-version", "--version", "-v", "-help", "-h", "--help"})
_TERRAFORM_BLOCK = re.compile(r"(?m)^\s*terraform\s*\{")
_BACKEND = re.compile(r'\bbackend\s+"([^"]+)"\s*\{|\bcloud\s*\{')


class UserStackError(RuntimeError):
    """The user's Terraform cannot be run as asked; the message is one line."""


@dataclass(frozen=True)
class _Split:
    chdir: str | None
    command: str | None


def _split(args: Sequence[str]) -> _Split:
    """Terraform's global ``-chdir=DIR`` and the subcommand (the first argument not an option)."""
    chdir: str | None = None
    for arg in args:
        if arg.startswith("-chdir="):
            chdir = arg.removeprefix("-chdir=")
        elif not arg.startswith("-") or arg in NEEDS_NO_CLOUD:
            return _Split(chdir, arg)
    return _Split(chdir, None)


def subcommand(args: Sequence[str]) -> str | None:
    """The Terraform subcommand of ``args`` (``-help``/``-version`` count as one); None when there is none."""
    return _split(args).command


def root_directory(args: Sequence[str], cwd: Path | None = None) -> Path:
    """The root module directory Terraform will use: ``-chdir=DIR`` (before the subcommand), else ``cwd``."""
    here = cwd or Path.cwd()
    chdir = _split(args).chdir
    return (here / chdir) if chdir else here


def _strip_comments(text: str) -> str:
    """HCL text without comments; strings are kept (a ``#`` inside one is not a comment)."""
    pattern = re.compile(r'"(?:\\.|[^"\\\n])*"|/\*.*?\*/|#[^\n]*|//[^\n]*', re.S)
    return pattern.sub(lambda m: m.group(0) if m.group(0).startswith('"') else " ", text)


def _terraform_blocks(text: str) -> Iterator[str]:
    """The bodies of the top-level ``terraform { … }`` blocks of comment-free HCL text."""
    for match in _TERRAFORM_BLOCK.finditer(text):
        depth, index, in_string = 1, match.end(), False
        while index < len(text) and depth:
            char = text[index]
            if in_string:
                if char == "\\":
                    index += 1
                elif char == '"':
                    in_string = False
            elif char == '"':
                in_string = True
            elif char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
            index += 1
        yield text[match.end() : index - 1]


def _json_backends(document: object) -> Iterator[str]:
    blocks = document.get("terraform", []) if isinstance(document, dict) else []
    for block in blocks if isinstance(blocks, list) else [blocks]:
        if not isinstance(block, dict):
            continue
        backend = block.get("backend")
        for item in backend if isinstance(backend, list) else [backend]:
            if isinstance(item, dict):
                yield from item
        if block.get("cloud") is not None:
            yield "cloud"


def remote_backend(directory: Path) -> tuple[str, str] | None:
    """The first backend other than ``local`` declared by the root module in ``directory`` (``cloud`` for
    a ``cloud`` block), with the file that declares it; None when state is local already."""
    files = sorted(directory.glob("*.tf")) + sorted(directory.glob("*.tf.json"))
    for path in files:
        if path.name == OVERRIDE_FILE:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue  # Terraform itself reports a file it cannot read
        if path.name.endswith(".json"):
            try:
                names = list(_json_backends(json.loads(text)))
            except ValueError:
                continue
        else:
            names = [
                m.group(1) or "cloud"
                for body in _terraform_blocks(_strip_comments(text))
                for m in _BACKEND.finditer(body)
            ]
        for name in names:
            if name != "local":
                return name, path.name
    return None


@contextlib.contextmanager
def backend_override(directory: Path) -> Iterator[Path]:
    """:data:`OVERRIDE_FILE` in ``directory`` while the block runs, removed after (even on an interrupt).

    A file of that name that selfheal did not write is refused (UserStackError); one a killed run left
    behind is reused.
    """
    path = directory / OVERRIDE_FILE
    if path.exists():
        try:
            ours = path.read_text(encoding="utf-8").startswith(OVERRIDE_TEXT.splitlines()[0])
        except (OSError, UnicodeDecodeError):
            ours = False
        if not ours:
            raise UserStackError(f"{path} exists and was not written by selfheal: rename it first")
    try:
        path.write_text(OVERRIDE_TEXT, encoding="utf-8")
    except OSError as error:
        raise UserStackError(f"cannot write {path}: {error.strerror or error}") from None
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def terraform_environment(
    base: Mapping[str, str],
    *,
    cli_config: Path,
    endpoint: str | None,
    credentials: Mapping[str, str],
    region: str,
) -> dict[str, str]:
    """The environment of the user's Terraform: ``base`` without its ``AWS_*`` settings and CLI config,
    plus the local providers' CLI config, the local cloud's endpoint, key and default region."""
    dropped = ("TF_CLI_CONFIG_FILE", "TERRAFORM_CONFIG", "SELFHEAL_ENDPOINT")
    env = {k: v for k, v in base.items() if not k.startswith("AWS_") and k not in dropped}
    env.update(TF_CLI_CONFIG_FILE=str(cli_config), CHECKPOINT_DISABLE="1")
    if endpoint is not None:
        env.update(
            SELFHEAL_ENDPOINT=endpoint,
            AWS_ENDPOINT_URL=endpoint,
            AWS_REGION=region,
            AWS_DEFAULT_REGION=region,
            AWS_EC2_METADATA_DISABLED="true",
        )
        env.update(credentials)
    return env


def run_terraform(
    args: Sequence[str],
    *,
    endpoint: str | None,
    credentials: Mapping[str, str],
    region: str,
    note: Callable[[str], None] | None = None,
) -> int:
    """Run ``terraform ARGS`` against the local cloud at ``endpoint`` (None: a command that needs none);
    return Terraform's exit code. UserStackError (one line) when it cannot be run as asked."""
    directory = root_directory(args)
    command = subcommand(args)
    needs_config = endpoint is not None and command not in NEEDS_NO_CLOUD and command is not None
    if needs_config and not directory.is_dir():
        raise UserStackError(f"no such directory: {directory}")
    remote = remote_backend(directory) if needs_config else None
    with tempfile.TemporaryDirectory(prefix="selfheal-tf-") as home:
        cli_config = install_providers(Path(home))
        env = terraform_environment(
            os.environ, cli_config=cli_config, endpoint=endpoint, credentials=credentials, region=region
        )
        with contextlib.ExitStack() as stack:
            if remote is not None:
                stack.enter_context(backend_override(directory))
                if note is not None:
                    name, file = remote
                    what = "cloud block" if name == "cloud" else f'backend "{name}"'
                    note(
                        f"note: the {what} of {file} is overridden to local state for the local cloud "
                        f"(terraform.tfstate in {directory}; your .tf files are not changed)"
                    )
            return _run_child(list(args), env)


def _run_child(argv: list[str], env: Mapping[str, str]) -> int:
    """The embedded Terraform in a child process with this terminal's stdin/stdout/stderr; its exit code.

    Ctrl-C reaches Terraform itself (same process group), which stops gracefully; meanwhile this process
    keeps waiting for it, so the override file is removed only once Terraform is done with it.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    proc = subprocess.Popen([sys.executable, "-m", "selfheal.terraform._child", json.dumps(argv)], env=env)
    while True:
        try:
            return proc.wait()
        except KeyboardInterrupt:
            continue
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            proc.wait()
            raise
