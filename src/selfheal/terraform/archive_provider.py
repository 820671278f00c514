"""The local ``hashicorp/archive`` provider: ``data "archive_file"`` with deterministic zips.

Entries are sorted, timestamps fixed and modes normalized, so the same sources give byte-identical
zips (and the same ``output_base64sha256``) on every run and every machine.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import io
import os
import re
import zipfile
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from selfheal.terraform.resource import DataSource, Provider, ResourceError, State
from selfheal.terraform.schema import Attr, BlockSchema, BlockType

__all__ = ["ArchiveFile", "ArchiveProvider", "build_zip", "glob_match", "main"]

_EPOCH = (2049, 1, 1, 0, 0, 0)  # what hashicorp/archive stamps on every entry


def _opt(name: str, t: object = "string") -> Attr:
    return Attr(name, t, optional=True)  # type: ignore[arg-type]


def _computed(name: str, t: object = "string") -> Attr:
    return Attr(name, t, computed=True)  # type: ignore[arg-type]


@cache
def _archive_schema() -> BlockSchema:
    attrs = {
        "type": Attr("type", "string", required=True),
        "output_path": Attr("output_path", "string", required=True),
        "source_content": _opt("source_content"),
        "source_content_filename": _opt("source_content_filename"),
        "source_file": _opt("source_file"),
        "source_dir": _opt("source_dir"),
        "excludes": _opt("excludes", ["set", "string"]),
        "exclude_symlink_directories": _opt("exclude_symlink_directories", "bool"),
        "output_file_mode": _opt("output_file_mode"),
        "output_size": _computed("output_size", "number"),
        "output_sha": _computed("output_sha"),
        "output_sha256": _computed("output_sha256"),
        "output_base64sha256": _computed("output_base64sha256"),
        "output_sha512": _computed("output_sha512"),
        "output_base64sha512": _computed("output_base64sha512"),
        "output_md5": _computed("output_md5"),
        "id": _computed("id"),
    }
    source = BlockType(
        "source",
        "set",
        BlockSchema({"content": Attr("content", "string", required=True),
                     "filename": Attr("filename", "string", required=True)}),
    )  # fmt: skip
    return BlockSchema(attrs, {"source": source})


def _glob_regex(pattern: str) -> re.Pattern[str]:
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        elif pattern[i] == "[":
            j = pattern.find("]", i)
            if j < 0:
                out += re.escape(pattern[i])
                i += 1
            else:
                out += fnmatch.translate(pattern[i : j + 1])[4:-3]
                i = j + 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out + r"\Z")


def glob_match(pattern: str, path: str) -> bool:
    """Doublestar glob matching of a slash-separated relative path (``**`` crosses directories)."""
    return _glob_regex(pattern.replace(os.sep, "/").lstrip("./") if pattern.startswith("./") else pattern
                       ).match(path) is not None  # fmt: skip


def build_zip(files: Mapping[str, bytes], mode: int | None) -> bytes:
    """A deterministic zip of ``files`` (archive name -> content): sorted, fixed time, fixed mode."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, _EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = ((mode if mode is not None else 0o644) | 0o100000) << 16
            zf.writestr(info, files[name])
    return buf.getvalue()


def _collect(config: State) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    if config.get("source_dir"):
        root = Path(config["source_dir"])
        if not root.is_dir():
            raise ResourceError(f"could not archive missing directory: {root}", attribute="source_dir")
        excludes = list(config.get("excludes") or [])
        follow = not config.get("exclude_symlink_directories")
        for dirpath, dirnames, filenames in os.walk(root, followlinks=follow):
            rel_dir = Path(dirpath).relative_to(root).as_posix()
            dirnames.sort()
            for fn in filenames:
                rel = fn if rel_dir == "." else f"{rel_dir}/{fn}"
                if any(glob_match(p, rel) for p in excludes):
                    continue
                files[rel] = (Path(dirpath) / fn).read_bytes()
    elif config.get("source_file"):
        path = Path(config["source_file"])
        if not path.is_file():
            raise ResourceError(f"could not archive missing file: {path}", attribute="source_file")
        files[path.name] = path.read_bytes()
    elif config.get("source_content_filename"):
        files[config["source_content_filename"]] = str(config.get("source_content") or "").encode()
    elif config.get("source"):
        for src in config["source"]:
            files[src["filename"]] = str(src["content"]).encode()
    else:
        raise ResourceError(
            "one of source_dir, source_file, source_content_filename or source must be set",
            attribute="source_dir",
        )
    return files


class ArchiveFile(DataSource):
    """``data "archive_file"``: zips sources into ``output_path`` and reports the zip's hashes."""

    type_name = "archive_file"

    @classmethod
    def schema(cls) -> BlockSchema:
        return _archive_schema()

    def validate(self, config: State) -> None:
        if config.get("type") not in (None, "zip") and isinstance(config.get("type"), str):
            raise ResourceError(f"archive type not supported: {config['type']}", attribute="type")
        mode = config.get("output_file_mode")
        if isinstance(mode, str) and not re.fullmatch(r"0?[0-7]{3}", mode):
            raise ResourceError(f"output_file_mode must be an octal mode like 0644, got {mode!r}",
                                attribute="output_file_mode")  # fmt: skip

    def read(self, config: State) -> State:
        self.validate(config)
        mode = int(config["output_file_mode"], 8) if config.get("output_file_mode") else None
        data = build_zip(_collect(config), mode)
        out = Path(config["output_path"])
        out.parent.mkdir(parents=True, exist_ok=True)
        if not out.exists() or out.read_bytes() != data:
            out.write_bytes(data)
        sha1 = hashlib.sha1(data).hexdigest()
        return {
            **config,
            "output_size": len(data),
            "output_sha": sha1,
            "output_sha256": hashlib.sha256(data).hexdigest(),
            "output_base64sha256": base64.b64encode(hashlib.sha256(data).digest()).decode(),
            "output_sha512": hashlib.sha512(data).hexdigest(),
            "output_base64sha512": base64.b64encode(hashlib.sha512(data).digest()).decode(),
            "output_md5": hashlib.md5(data).hexdigest(),
            "id": sha1,
        }


class ArchiveProvider(Provider):
    """The local archive provider (no configuration)."""

    address = "registry.terraform.io/hashicorp/archive"

    def data_sources(self) -> Mapping[str, type[DataSource]]:
        return {"archive_file": ArchiveFile}


def main() -> None:
    """Entry point of the ``terraform-provider-archive`` executable."""
    from selfheal.terraform.serve import serve

    serve(ArchiveProvider())


if __name__ == "__main__":
    main()
