"""Terraform's output pump: a failing line sink (a full disk under terraform.log) never hangs Terraform."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from selfheal.terraform.driver import Terraform, TerraformOutputError
from selfheal.terraform.testing import MOTO_CREDENTIALS

pytestmark = pytest.mark.timeout(120)


def test_a_failing_sink_neither_hangs_terraform_nor_passes_silently(tmp_path: Path) -> None:
    """With over 64 KiB of output and a sink that fails on the first line, the run ends and says why."""
    root = tmp_path / "module"
    root.mkdir()
    # Badly formatted on purpose: `fmt -check -diff` prints a diff far larger than a pipe's buffer.
    (root / "main.tf").write_text("".join(f'locals {{\n a{i}   =   "{i:06d}"\n}}\n' for i in range(4000)))
    seen: list[str] = []

    def full_disk(line: str, stream: str) -> None:
        seen.append(line)
        raise OSError(errno.ENOSPC, "No space left on device")

    terraform = Terraform(root, "http://127.0.0.1:9", credentials=MOTO_CREDENTIALS, on_line=full_disk)
    with pytest.raises(TerraformOutputError, match="No space left on device") as raised:
        terraform.run("fmt", "-check", "-diff", "-no-color")
    assert len(seen) == 1  # the sink is not called again once it failed
    assert raised.value.result.rc == 3  # Terraform itself ran to its end: files need formatting
    assert len(raised.value.result.stdout) > 64 * 1024
