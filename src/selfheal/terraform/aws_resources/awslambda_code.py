"""The code package of an ``aws_lambda_function``: a local zip (``filename``) or an S3 object
(``s3_bucket``/``s3_key``/``s3_object_version``), and when it changes.

``source_code_hash`` is the real provider's synthetic trigger: whatever the user sets (usually the zip's
base64 SHA-256) and, when unset, the package's ``CodeSha256`` as Lambda reports it. moto copies an S3
package from the object's *current* version whatever ``S3ObjectVersion`` says, so a version other than the
current one is refused at apply, before anything changes, rather than silently deploying other code.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

from selfheal.terraform.aws_resources._common import error_code
from selfheal.terraform.resource import ResourceError, State, Unknown, is_unknown

__all__ = ["CODE_FIELDS", "SOURCES", "check_code_source", "code_changed", "code_package", "package_hash"]

#: Arguments whose change is an UpdateFunctionCode (the real provider's needsFunctionCodeUpdate).
CODE_FIELDS = (
    "filename", "source_code_hash", "s3_bucket", "s3_key", "s3_object_version", "image_uri", "architectures",
)  # fmt: skip
#: Where a package may come from, as the real provider names them.
SOURCES = ("filename", "image_uri", "s3_bucket")
#: The real provider's ConflictsWith and RequiredWith for the package arguments.
_CONFLICTS = {
    "filename": ("image_uri", "s3_bucket", "s3_key", "s3_object_version"),
    "s3_bucket": ("image_uri",),
    "s3_key": ("image_uri",),
    "s3_object_version": ("image_uri",),
}
_REQUIRED_WITH = {"s3_bucket": ("s3_bucket", "s3_key"), "s3_key": ("s3_bucket", "s3_key")}


def _given(config: State, name: str) -> bool:
    return config.get(name) is not None


def check_code_source(config: State) -> None:
    """Refuse a package the real provider refuses (none, conflicting, incomplete) or the local cloud cannot
    run (a container image)."""
    sources = [config.get(k) for k in SOURCES]
    if all(s is None for s in sources):
        raise ResourceError(
            'one of "filename", "image_uri" or "s3_bucket" must be specified', attribute="filename"
        )
    for name, others in _CONFLICTS.items():
        if _given(config, name):
            for other in others:
                if _given(config, other):
                    raise ResourceError(f'"{name}": conflicts with {other}', attribute=name)
    for name, together in _REQUIRED_WITH.items():
        if _given(config, name) and not all(_given(config, n) for n in together):
            raise ResourceError(f'"{name}": all of `{",".join(together)}` must be specified', attribute=name)
    if _given(config, "image_uri") or config.get("package_type") == "Image":
        raise ResourceError(
            'container images (image_uri, package_type = "Image") are not supported by the selfheal local '
            "provider: deploy a zip from filename or s3_bucket/s3_key",
            attribute="image_uri" if _given(config, "image_uri") else "package_type",
        )


def code_changed(prior: State, planned: State) -> bool:
    """Whether the package arguments (or the architecture) differ, so the code must be updated."""
    return any(prior.get(n) != planned.get(n) for n in CODE_FIELDS)


def _zip(planned: State) -> bytes:
    path = Path(planned["filename"])
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ResourceError(f"unable to load {path}: {exc.strerror}", attribute="filename") from None


def _check_current_version(s3: Any, bucket: str, key: str, version: str) -> None:
    """Refuse ``version`` unless it is the object's current version: moto deploys only that one."""
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except Exception as exc:
        if error_code(exc) in ("404", "NoSuchKey", "NoSuchBucket"):
            return  # Lambda's own GetObject error names what is missing
        raise
    current = head.get("VersionId") or "null"
    if version != current:
        raise ResourceError(
            f"s3_object_version {version!r} is not the current version ({current!r}) of s3://{bucket}/{key}: "
            "the local cloud deploys only an object's current version",
            attribute="s3_object_version",
        )


def code_package(planned: State, s3: Any) -> dict[str, Any]:
    """The ``Code`` of CreateFunction (also the package arguments of UpdateFunctionCode) for ``planned``:
    ``{"ZipFile": …}`` for ``filename``, else ``{"S3Bucket", "S3Key"[, "S3ObjectVersion"]}``; ``s3`` is
    the S3 client that checks a pinned version."""
    if planned.get("filename"):
        return {"ZipFile": _zip(planned)}
    bucket, key = planned.get("s3_bucket"), planned.get("s3_key")
    if not bucket or not key or is_unknown(bucket) or is_unknown(key):
        raise ResourceError(
            "s3_bucket and s3_key must be known to deploy the function", attribute="s3_bucket"
        )
    package: dict[str, Any] = {"S3Bucket": bucket, "S3Key": key}
    version = planned.get("s3_object_version")
    if version is not None and version is not Unknown:
        _check_current_version(s3, bucket, key, str(version))
        package["S3ObjectVersion"] = str(version)
    return package


def package_hash(package: dict[str, Any]) -> str | None:
    """The base64 SHA-256 of a zip upload (Lambda's CodeSha256 of it); None for an S3 package, whose hash
    Lambda reports."""
    data = package.get("ZipFile")
    return base64.b64encode(hashlib.sha256(data).digest()).decode() if data is not None else None
