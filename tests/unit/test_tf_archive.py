"""The local archive provider's zips: deterministic, with doublestar excludes."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from selfheal.terraform.archive_provider import ArchiveFile, ArchiveProvider, glob_match
from selfheal.terraform.resource import ResourceError


def _config(**kw: object) -> dict[str, object]:
    return ArchiveFile.schema().normalize({"type": "zip", **kw})


def _tree(root: Path) -> None:
    (root / "pkg" / "__pycache__").mkdir(parents=True)
    (root / "pkg" / "app.py").write_text("x = 1\n")
    (root / "pkg" / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"\x00")
    (root / "other").mkdir()
    (root / "other" / "lib.py").write_text("y = 2\n")


def test_zip_is_deterministic_and_excludes_globs(tmp_path: Path) -> None:
    """Two builds of the same tree are byte-identical; excluded paths are left out; entries are sorted."""
    _tree(tmp_path / "src")
    ds = ArchiveFile(ArchiveProvider())
    conf = {"source_dir": str(tmp_path / "src"), "excludes": ["**/__pycache__/**", "other/**"]}
    first = ds.read(_config(output_path=str(tmp_path / "a.zip"), **conf))
    (tmp_path / "src" / "pkg" / "app.py").touch()  # a new mtime must not change the zip
    second = ds.read(_config(output_path=str(tmp_path / "b.zip"), **conf))
    assert first["output_base64sha256"] == second["output_base64sha256"]
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
    with zipfile.ZipFile(io.BytesIO((tmp_path / "a.zip").read_bytes())) as zf:
        assert zf.namelist() == ["pkg/app.py"]
    assert first["output_size"] == (tmp_path / "a.zip").stat().st_size


def test_content_change_changes_the_hash(tmp_path: Path) -> None:
    """Changing a source file changes every hash of the zip."""
    _tree(tmp_path / "src")
    ds = ArchiveFile(ArchiveProvider())
    conf = {"source_dir": str(tmp_path / "src"), "output_path": str(tmp_path / "o.zip")}
    before = ds.read(_config(**conf))
    (tmp_path / "src" / "pkg" / "app.py").write_text("x = 2\n")
    after = ds.read(_config(**conf))
    for key in ("output_sha", "output_md5", "output_sha256", "output_base64sha256"):
        assert before[key] != after[key]


def test_missing_source_is_a_clear_error(tmp_path: Path) -> None:
    """A missing source directory names the argument and writes nothing."""
    ds = ArchiveFile(ArchiveProvider())
    with pytest.raises(ResourceError) as err:
        ds.read(_config(source_dir=str(tmp_path / "nope"), output_path=str(tmp_path / "o.zip")))
    assert err.value.attribute == "source_dir"
    assert not (tmp_path / "o.zip").exists()


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("**/__pycache__/**", "pkg/__pycache__/a.pyc", True),
        ("**/__pycache__/**", "__pycache__/a.pyc", True),
        ("*.py", "pkg/a.py", False),
        ("**/*.py", "pkg/a.py", True),
        ("pkg/*", "pkg/a.py", True),
        ("pkg/*", "pkg/sub/a.py", False),
        ("healer/**", "healer/app.py", True),
        ("healer/**", "fragile_service/app.py", False),
    ],
)
def test_glob_match(pattern: str, path: str, matches: bool) -> None:
    """Doublestar patterns match across directories, single stars do not."""
    assert glob_match(pattern, path) is matches
