"""What the healer's fuzz tests share: JSON-like values, mutated documents, AWS clients that fail every call.

Imported by name (``from fuzzing import …``): ``tests/conftest.py`` puts ``tests/`` on ``sys.path``.
"""

from __future__ import annotations

import copy
import json
from dataclasses import fields
from typing import Any

from botocore.exceptions import EndpointConnectionError
from hypothesis import strategies as st

from healer.clients import Clients

__all__ = ["RecordingFailingClient", "failing_clients", "json_values", "mutated"]


def json_values(*, text: int, items: int, keys: int, leaves: int) -> st.SearchStrategy[Any]:
    """Any JSON-like value: strings up to ``text`` characters, lists and objects of up to ``items``."""
    return st.recursive(
        st.none()
        | st.booleans()
        | st.integers(-(2**70), 2**70)
        | st.floats(allow_nan=True, allow_infinity=True)
        | st.text(max_size=text),
        lambda children: (
            st.lists(children, max_size=items)
            | st.dictionaries(st.text(max_size=keys), children, max_size=items)
        ),
        max_leaves=leaves,
    )


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


@st.composite
def mutated(draw: st.DrawFn, document: Any, values: st.SearchStrategy[Any]) -> Any:
    """``document`` with one to four random mutations (drop, replace by one of ``values``, stringify, swap
    case, empty)."""
    doc = copy.deepcopy(document)
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        key, how = path[-1], draw(st.sampled_from(["delete", "replace", "stringify", "case", "empty"]))
        if how == "delete":
            del parent[key]
        elif how == "replace":
            parent[key] = draw(values)
        elif how == "stringify":
            parent[key] = json.dumps(parent[key]) if draw(st.booleans()) else str(parent[key])
        elif how == "case" and isinstance(parent[key], str):
            parent[key] = parent[key].swapcase()
        else:
            parent[key] = type(parent[key])() if isinstance(parent[key], list | dict | str) else None
    return doc


class RecordingFailingClient:
    """Stands in for a boto3 client: records every call and fails it as an unreachable endpoint would."""

    def __init__(self, service: str, calls: list[str]) -> None:
        self._service, self._calls = service, calls

    def __getattr__(self, operation: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            self._calls.append(f"{self._service}.{operation}")
            raise EndpointConnectionError(endpoint_url=f"https://{self._service}.test.invalid")

        return call


def failing_clients(calls: list[str]) -> Clients:
    """The healer's clients, each a :class:`RecordingFailingClient` appending to ``calls``."""
    clients: dict[str, Any] = {
        field.name: RecordingFailingClient(field.name.rstrip("_"), calls) for field in fields(Clients)
    }
    return Clients(**clients)
