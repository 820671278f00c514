"""The README documents every Terraform variable, environment variable and command the code has."""

from __future__ import annotations

import re
from pathlib import Path

import hcl2
from hcl2 import SerializationOptions

from selfheal.cli.app import app

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def _variables() -> list[str]:
    with (ROOT / "deploy" / "fragile" / "variables.tf").open() as f:
        data = hcl2.load(
            f, serialization_options=SerializationOptions(strip_string_quotes=True, explicit_blocks=False)
        )
    return [name for block in data["variable"] for name in block]


def test_every_terraform_variable_is_in_the_configuration_reference() -> None:
    """Each variable of deploy/fragile has a row in the README's variables table."""
    rows = set(re.findall(r"^\| `([a-z0-9_]+)` \| `", README, re.M))
    variables = _variables()
    assert variables and not set(variables) - rows


def test_every_healer_and_fragile_environment_variable_is_documented() -> None:
    """Each variable deploy/fragile (the fragile function) and its platform module (the healer) set on a
    function is explained in the README."""
    directories = (ROOT / "deploy" / "fragile", ROOT / "deploy" / "modules" / "platform")
    text = "".join(p.read_text() for directory in directories for p in directory.glob("*.tf"))
    set_by_terraform = set(re.findall(r"^\s+([A-Z][A-Z_]+)\s+=", text, re.M))
    assert {"FAILURE_RATE", "REGISTRY_PATH", "FLEET_MAX_IN_FLIGHT"} <= set_by_terraform
    assert not {name for name in set_by_terraform if f"`{name}`" not in README}


def test_every_cli_command_is_in_the_command_table() -> None:
    """Each `selfheal` command appears in the README's command table."""
    names = {command.name for command in app.registered_commands if command.name} | {
        command.callback.__name__
        for command in app.registered_commands
        if not command.name and command.callback
    }
    assert names and not {name for name in names if f"`selfheal {name}" not in README}
