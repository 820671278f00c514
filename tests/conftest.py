"""Root of the test suite: loading it puts ``tests/`` on ``sys.path`` (pytest's default ``prepend`` import
mode), so every suite imports the helpers kept here (``fuzzing``) by name; it also orders the files so that
the long ones start first under xdist."""

from __future__ import annotations

from pathlib import Path

import pytest

_TESTS = Path(__file__).resolve().parent


def _start_rank(item: pytest.Item) -> int:
    """How early ``item``'s file should start under ``pytest -n``: the long files first (the 3-minute soak,
    then the end-to-end runs through Terraform, then the functional and browser suites), the many short unit
    tests last, so that they fill the end of the run instead of one worker finishing a soak alone."""
    if item.get_closest_marker("slow"):
        return 0
    if item.get_closest_marker("e2e"):
        return 1
    suite = item.path.relative_to(_TESTS).parts[0] if item.path.is_relative_to(_TESTS) else ""
    return {"functional": 2, "browser": 2, "reliability": 3, "security": 4}.get(suite, 5)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Order the files by ``_start_rank`` (of their earliest-starting test), keeping their own order within.

    ``make test`` passes ``--no-loadscope-reorder``: xdist's default puts files with many tests first, which
    scheduled the soak's file (one test in the parallel run, three minutes long) near the end."""
    rank: dict[Path, int] = {}
    for item in items:
        rank[item.path] = min(rank.get(item.path, 5), _start_rank(item))
    first_seen = {path: index for index, path in enumerate(dict.fromkeys(item.path for item in items))}
    items.sort(key=lambda item: (rank[item.path], first_seen[item.path]))
