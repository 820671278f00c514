"""Code directories of killed clouds are removed when a cloud starts; a live cloud's never are."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from selfheal.cloud import LocalCloud
from selfheal.cloud.lambda_functions import CODE_DIR_PREFIX, CodeCache, pid_alive, remove_orphaned_code_dirs


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not pid_alive(child.pid)
    return child.pid


@pytest.fixture
def live_pid() -> Iterator[int]:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        yield child.pid
    finally:
        child.kill()
        child.wait()


def _code_dir(root: Path, pid: int | str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=f"{CODE_DIR_PREFIX}{pid}-", dir=root))
    (path / "deadbeef").mkdir()
    (path / "deadbeef" / "app.py").write_text("def handler(e, c): return 1\n")
    return path


def test_orphans_are_removed_and_live_or_unknown_owners_kept(tmp_path: Path, live_pid: int) -> None:
    dead = _code_dir(tmp_path, _dead_pid())
    live = _code_dir(tmp_path, live_pid)
    mine = _code_dir(tmp_path, os.getpid())
    legacy = Path(tempfile.mkdtemp(prefix=CODE_DIR_PREFIX, dir=tmp_path))  # the old name: owner unknown
    other = tmp_path / "unrelated-123-dir"
    other.mkdir()
    assert remove_orphaned_code_dirs(tmp_path) == [dead]
    assert not dead.exists()
    assert live.exists() and mine.exists() and legacy.exists() and other.exists()


def test_a_code_cache_is_named_after_its_process_and_cleans_up_first(tmp_path: Path) -> None:
    dead = _code_dir(tmp_path, _dead_pid())
    cache = CodeCache(tmp_path)
    assert cache.orphans_removed == [dead]
    assert cache.root.name.startswith(f"{CODE_DIR_PREFIX}{os.getpid()}-")
    cache.remove()
    assert not cache.root.exists()


def test_starting_a_cloud_removes_the_code_dirs_of_killed_clouds(live_pid: int) -> None:
    root = Path(tempfile.gettempdir())
    dead = _code_dir(root, _dead_pid())
    live = _code_dir(root, live_pid)
    try:
        with LocalCloud(port=0):
            assert not dead.exists()
            assert live.exists()
    finally:
        for path in (dead, live):
            shutil.rmtree(path, ignore_errors=True)
