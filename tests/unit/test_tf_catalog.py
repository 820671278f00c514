"""The supported-types list in src/selfheal/terraform/README.md is the providers' own, so it cannot drift."""

from __future__ import annotations

from pathlib import Path

from selfheal.terraform.catalog import BEGIN, END, README, markdown, supported_types, write_readme


def test_the_readme_lists_exactly_the_served_types() -> None:
    """The generated block in the README equals what `python -m selfheal.terraform.catalog` prints now."""
    text = README.read_text(encoding="utf-8")
    assert text.count(BEGIN) == 1 and text.count(END) == 1, "README lost its supported-types markers"
    documented = text[text.index(BEGIN) : text.index(END) + len(END)]
    assert documented == markdown(), "regenerate with `python -m selfheal.terraform.catalog --write`"


def test_write_readme_replaces_only_the_list(tmp_path: Path) -> None:
    """--write puts the current list between the markers and keeps the text around them."""
    doc = tmp_path / "README.md"
    doc.write_text(f"# before\n\n{BEGIN}\n| stale |\n{END}\n\nafter\n", encoding="utf-8")
    assert write_readme(doc) is True
    assert doc.read_text(encoding="utf-8") == f"# before\n\n{markdown()}\n\nafter\n"
    assert write_readme(doc) is False


def test_every_local_provider_and_the_types_this_slice_added_are_listed() -> None:
    """All five local providers appear, with the null/time types and data aws_iam_policy among them."""
    by_source = {p.source: p for p in supported_types()}
    assert set(by_source) == {
        "hashicorp/aws", "hashicorp/archive", "hashicorp/null", "hashicorp/random", "hashicorp/time",
    }  # fmt: skip
    assert by_source["hashicorp/null"].resources == ("null_resource",)
    assert by_source["hashicorp/time"].resources == (
        "time_offset",
        "time_rotating",
        "time_sleep",
        "time_static",
    )
    assert "aws_iam_policy" in by_source["hashicorp/aws"].data_sources
    assert "aws_lambda_function" in by_source["hashicorp/aws"].resources
