"""Schemas built from the real provider's reference, and the wrapper root module."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from selfheal.terraform.aws_resources import DATA_SOURCES, RESOURCES, load_all
from selfheal.terraform.schema import build_schema, cty_type
from selfheal.terraform.servicer import values_equal
from selfheal.terraform.stack import parse_var, write_stack


def test_lambda_schema_follows_the_reference() -> None:
    """Lambda's schema has the reference's arguments, list blocks with max_items, and computed defaults."""
    load_all()
    schema = RESOURCES["aws_lambda_function"].schema()
    assert schema.attrs["function_name"].required
    assert schema.attrs["memory_size"].optional and schema.attrs["memory_size"].computed
    assert schema.attrs["description"].optional and not schema.attrs["description"].computed
    assert schema.attrs["arn"].computed and not schema.attrs["arn"].optional
    assert schema.attrs["source_code_size"].type == "number"
    env = schema.blocks["environment"]
    assert (env.nesting, env.max_items) == ("list", 1)
    assert env.block.attrs["variables"].type == ["map", "string"]
    assert schema.blocks["timeouts"].max_items == 0  # single-nested blocks carry no limits


def test_registered_types_are_in_the_reference() -> None:
    """Every registered type exists in the provider reference (an unknown one fails at build time)."""
    load_all()
    assert {"aws_iam_role", "aws_lambda_function", "aws_lambda_permission"} <= set(RESOURCES)
    assert {"aws_iam_policy_document", "aws_region"} <= set(DATA_SOURCES)
    with pytest.raises(KeyError, match="aws_nonexistent"):
        build_schema("resources", "aws_nonexistent")


def test_cty_types_and_normalize() -> None:
    """Reference types map to cty JSON types; normalize fills every key of a block."""
    assert cty_type("set(string)") == ["set", "string"]
    assert cty_type("map(number)") == ["map", "number"]
    with pytest.raises(ValueError, match="unsupported type"):
        cty_type("tuple([string])")
    schema = build_schema("resources", "aws_iam_role_policy_attachment")
    assert schema.normalize({"role": "r"}) == {"id": None, "policy_arn": None, "role": "r"}


def test_values_equal_respects_sets() -> None:
    """Sets compare without order, lists with order."""
    assert values_equal(["a", "b"], ["b", "a"], unordered=True)
    assert not values_equal(["a", "b"], ["b", "a"])


def test_parse_var_types_values_and_rejects_bad_ones() -> None:
    """Variables are typed by the module's declarations; a bad value is a clear error."""
    assert parse_var("n", "3", "number") == 3
    assert parse_var("n", "0.5", "number") == 0.5
    assert parse_var("b", "TRUE", "bool") is True
    assert parse_var("m", '{"a": "b"}', "map(string)") == {"a": "b"}
    with pytest.raises(ValueError, match="is a number"):
        parse_var("n", "many", "number")
    with pytest.raises(ValueError, match="as JSON"):
        parse_var("m", "a=b", "map(string)")


def test_write_stack_wraps_the_module(tmp_path: Path) -> None:
    """The wrapper calls the module by a relative path, passes typed variables and re-exports outputs."""
    module = tmp_path / "deploy" / "mod"
    module.mkdir(parents=True)
    (module / "variables.tf").write_text(
        'variable "rate" {\n  type = number\n}\nvariable "tags" {\n  type = map(string)\n}\n'
    )
    (module / "outputs.tf").write_text('output "name" {\n  value = "x"\n}\n')
    main = write_stack(tmp_path / ".selfheal" / "stack", module, {"rate": "0.25", "tags": '{"a":"b"}'})
    doc = json.loads(main.read_text())
    assert doc["module"]["fragile"] == {"source": "../../deploy/mod", "rate": 0.25, "tags": {"a": "b"}}
    assert doc["output"] == {"name": {"value": "${module.fragile.name}"}}


def test_write_stack_rejects_unknown_variables_and_writes_nothing(tmp_path: Path) -> None:
    """An unknown variable name is refused before any file is written."""
    module = tmp_path / "mod"
    module.mkdir()
    (module / "variables.tf").write_text('variable "rate" {\n  type = number\n}\n')
    with pytest.raises(ValueError, match="no variable 'colour'"):
        write_stack(tmp_path / "stack", module, {"colour": "blue"})
    assert not (tmp_path / "stack").exists()
