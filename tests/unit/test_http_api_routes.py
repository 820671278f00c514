"""Tests of HTTP API stage and route selection."""

from __future__ import annotations

import pytest

from selfheal.cloud.http_api_routes import parse_route_key, select_route, select_stage

PETS = [
    "GET /pets/dog/1",
    "GET /pets/dog/{id}",
    "GET /pets/{proxy+}",
    "ANY /{proxy+}",
    "$default",
]


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/pets/dog/1", "GET /pets/dog/1"),
        ("GET", "/pets/dog/2", "GET /pets/dog/{id}"),
        ("GET", "/pets/cat/1", "GET /pets/{proxy+}"),
        ("POST", "/pets/dog/1", "ANY /{proxy+}"),
        ("GET", "/", "$default"),
    ],
)
def test_documented_precedence(method: str, path: str, expected: str) -> None:
    """The example routes of API Gateway's routing documentation select as documented."""
    match = select_route(PETS, method, path)
    assert match is not None
    assert match.route_key == expected


def test_explicit_method_beats_any_for_the_same_path() -> None:
    """For one path, a route with the request's method beats ANY."""
    match = select_route(["ANY /items", "POST /items"], "POST", "/items")
    assert match is not None and match.route_key == "POST /items"
    match = select_route(["ANY /items", "POST /items"], "GET", "/items")
    assert match is not None and match.route_key == "ANY /items"


def test_full_match_with_any_beats_a_variable_match() -> None:
    """A full literal match (even with ANY) is more specific than a path-variable match."""
    match = select_route(["GET /items/{id}", "ANY /items/new"], "GET", "/items/new")
    assert match is not None and match.route_key == "ANY /items/new"


def test_path_parameters_are_captured() -> None:
    """Variables capture one segment; a greedy variable captures the rest of the path."""
    match = select_route(["GET /items/{id}/parts/{part}"], "GET", "/items/7/parts/a-b")
    assert match is not None and match.path_parameters == {"id": "7", "part": "a-b"}
    greedy = select_route(["ANY /files/{proxy+}"], "DELETE", "/files/a/b/c.txt")
    assert greedy is not None and greedy.path_parameters == {"proxy": "a/b/c.txt"}


def test_greedy_variable_needs_at_least_one_segment() -> None:
    """``/files/{proxy+}`` does not match ``/files`` itself."""
    assert select_route(["ANY /files/{proxy+}"], "GET", "/files") is None
    assert select_route(["ANY /files/{proxy+}"], "GET", "/files/") is None


def test_no_match_without_default_route() -> None:
    """Without ``$default`` an unmatched request selects nothing."""
    assert select_route(["GET /a"], "GET", "/b") is None
    assert select_route(["GET /a"], "POST", "/a") is None
    assert select_route([], "GET", "/") is None


def test_literal_leftmost_segment_wins_among_variable_routes() -> None:
    """Between two variable routes the one with the earlier literal segment is more specific."""
    match = select_route(["GET /{a}/x", "GET /items/{id}"], "GET", "/items/x")
    assert match is not None and match.route_key == "GET /items/{id}"


def test_empty_segment_does_not_fill_a_variable() -> None:
    """A trailing slash leaves an empty segment that a variable does not match."""
    assert select_route(["GET /items/{id}"], "GET", "/items/") is None


@pytest.mark.parametrize(
    "key", ["GET", "get /a", "GET a", "FETCH /a", "GET /a/{p+}/b", "GET /a//b", "GET /a{b}", ""]
)
def test_invalid_route_keys_are_rejected(key: str) -> None:
    """Route keys API Gateway would refuse raise ValueError and are ignored by selection."""
    with pytest.raises(ValueError):
        parse_route_key(key)
    assert select_route([key], "GET", "/a") is None


def test_named_stage_prefix_is_stripped_for_routing() -> None:
    """A path starting with a named stage selects that stage and routes the rest."""
    stage = select_stage(["$default", "prod"], "/prod/items/1")
    assert stage is not None
    assert (stage.stage, stage.route_path) == ("prod", "/items/1")
    bare = select_stage(["prod"], "/prod")
    assert bare is not None and bare.route_path == "/"


def test_default_stage_serves_other_paths() -> None:
    """Paths that do not name a stage go to ``$default`` with no prefix removed."""
    stage = select_stage(["$default", "prod"], "/items/1")
    assert stage is not None
    assert (stage.stage, stage.route_path) == ("$default", "/items/1")


def test_no_stage_serves_without_default() -> None:
    """Without ``$default`` only named-stage paths are served; ``/$default/...`` is not a stage path."""
    assert select_stage(["prod"], "/items") is None
    assert select_stage(["prod"], "/$default/items") is None
    assert select_stage([], "/") is None
