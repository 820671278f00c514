"""Weighted alias routing and qualifier parsing of the Lambda service."""

from __future__ import annotations

import random

import pytest

from selfheal.cloud.lambda_service import named_qualifier, routed_version


@pytest.mark.parametrize(
    ("draw", "version"),
    [(0.0, "2"), (0.0999, "2"), (0.1, "1"), (0.5, "1"), (0.999999, "1")],
)
def test_a_draw_below_the_weight_runs_the_additional_version(draw: float, version: str) -> None:
    """Weight 0.1 on version 2: draws in [0, 0.1) run 2, the rest the alias's own version."""
    assert routed_version("1", {"2": 0.1}, draw) == version


def test_without_weights_the_primary_version_runs() -> None:
    """No additional version (or weight 0): always the alias's version."""
    assert routed_version("3", {}, 0.0) == "3"
    assert routed_version("3", {"4": 0.0}, 0.0) == "3"


def test_the_share_follows_the_weight() -> None:
    """Over many seeded draws, the additional version gets about its weight's share."""
    draw = random.Random(20261204).random
    runs = [routed_version("1", {"2": 0.1}, draw()) for _ in range(20_000)]
    share = runs.count("2") / len(runs)
    assert 0.09 < share < 0.11, share


@pytest.mark.parametrize(
    ("reference", "qualifier", "expected"),
    [
        ("f", None, ("f", None)),
        ("f", "live", ("f", "live")),
        ("f:2", None, ("f", "2")),
        ("f:2", "live", ("f", "2")),
        ("arn:aws:lambda:us-east-1:123456789012:function:f", "$LATEST", ("f", "$LATEST")),
        ("arn:aws:lambda:us-east-1:123456789012:function:f:live", "1", ("f", "live")),
        ("123456789012:function:f:live", None, ("f", "live")),
        ("123456789012:function:f", "3", ("f", "3")),
    ],
)
def test_the_qualifier_inside_the_reference_wins(
    reference: str, qualifier: str | None, expected: tuple[str, str | None]
) -> None:
    """Name, ``name:q``, ARN or partial ARN: a qualifier inside it wins over the Qualifier parameter."""
    assert named_qualifier(reference, qualifier) == expected
