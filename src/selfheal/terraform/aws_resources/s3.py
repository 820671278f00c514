"""S3: ``aws_s3_bucket`` (id and import ID: the bucket name) and ``aws_s3_object`` (id: the key; import
ID ``bucket/key``).

The bucket's inline settings the real provider deprecated in favour of their own resource types
(``versioning``, ``server_side_encryption_configuration``, ``cors_rule``, ``lifecycle_rule``, …) are refused
at plan, naming the resource type to use; ``policy`` and ``object_lock_enabled`` are served.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any, ClassVar

from selfheal.terraform.aws_resources import register
from selfheal.terraform.aws_resources._common import (
    check_policy_json,
    found,
    ignoring,
    known,
    name_prefix_from_name,
    policy_state,
    unique_name,
)
from selfheal.terraform.aws_resources._regional import RegionalResource, parse_two_part_id
from selfheal.terraform.resource import ResourceError, State, Unknown, is_unknown

__all__ = ["BUCKET_GONE", "S3Bucket", "S3Object", "check_bucket_name"]

#: Error codes meaning "no such bucket" (HeadBucket answers a bare 404).
BUCKET_GONE = ("NoSuchBucket", "404")
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
#: Hosted zone of S3 website endpoints per region (the real provider's table; the local cloud's region).
_HOSTED_ZONES = {"us-east-1": "Z3AQBSTGFYJSTF", "us-west-2": "Z3BJ6K6RIION7M", "eu-west-1": "Z1BKCTXD74EZPE"}
#: Deprecated inline settings -> the resource type that replaces them.
_INLINE = {
    "acceleration_status": "aws_s3_bucket_accelerate_configuration",
    "cors_rule": "aws_s3_bucket_cors_configuration",
    "grant": "aws_s3_bucket_acl",
    "lifecycle_rule": "aws_s3_bucket_lifecycle_configuration",
    "logging": "aws_s3_bucket_logging",
    "object_lock_configuration": "aws_s3_bucket_object_lock_configuration",
    "replication_configuration": "aws_s3_bucket_replication_configuration",
    "request_payer": "aws_s3_bucket_request_payment_configuration",
    "server_side_encryption_configuration": "aws_s3_bucket_server_side_encryption_configuration",
    "versioning": "aws_s3_bucket_versioning",
    "website": "aws_s3_bucket_website_configuration",
}


def check_bucket_name(value: Any, attribute: str = "bucket") -> None:
    """Refuse a known bucket name S3 would refuse (3-63 lower-case letters, digits, dots, hyphens)."""
    if isinstance(value, str) and not is_unknown(value) and not _BUCKET_NAME.match(value):
        raise ResourceError(
            f"validating S3 Bucket ({value}) name: must be 3-63 characters of lowercase letters, numbers, "
            "dots and hyphens, beginning and ending with a letter or number",
            attribute=attribute,
        )


@register
class S3Bucket(RegionalResource):
    """An S3 bucket (id: its name); ``force_destroy`` empties it (every version) before deleting it."""

    type_name = "aws_s3_bucket"
    optional_computed = frozenset(
        {"bucket", "bucket_prefix", "policy", "object_lock_enabled", "acl", "force_destroy"}
        | RegionalResource.TAGS_ALL
        | RegionalResource.REGION
    )
    defaults = {"force_destroy": False}
    force_new = frozenset({"bucket", "bucket_prefix", "object_lock_enabled"})
    importable = True
    not_found_codes = frozenset(BUCKET_GONE)

    def validate(self, config: State) -> None:
        super().validate(config)
        check_bucket_name(config.get("bucket"))
        prefix = config.get("bucket_prefix")
        if isinstance(prefix, str) and not is_unknown(prefix) and len(prefix) > 63 - 26:
            raise ResourceError("bucket_prefix: must be at most 37 characters", attribute="bucket_prefix")
        for name, replacement in _INLINE.items():
            if config.get(name) not in (None, []):
                raise ResourceError(
                    f'"{name}" of aws_s3_bucket is not supported by the selfheal local provider',
                    f"It is deprecated in the AWS provider; use {replacement} instead.",
                    name,
                )
        if config.get("acl") not in (None, "private") and not is_unknown(config.get("acl")):
            raise ResourceError(
                f'acl "{config["acl"]}" is not supported by the selfheal local provider',
                "Only the default, private, is (buckets are private in the local cloud).",
                "acl",
            )
        check_policy_json(config.get("policy"))

    def plan(self, prior: State | None, planned: State, config: State) -> State:
        if prior is None:
            for name in ("arn", "bucket_domain_name", "bucket_regional_domain_name"):
                planned[name] = Unknown
            if config.get("bucket") is None:
                planned["bucket"] = Unknown
        return super().plan(prior, planned, config)

    def create(self, planned: State) -> State:
        s3 = self.client("s3")
        name = known(planned.get("bucket")) or unique_name(
            str(known(planned.get("bucket_prefix")) or "terraform-")
        )
        args: dict[str, Any] = {"Bucket": name}
        if self.aws.region != "us-east-1":
            args["CreateBucketConfiguration"] = {"LocationConstraint": self.aws.region}
        if planned.get("object_lock_enabled"):
            args["ObjectLockEnabledForBucket"] = True
        s3.create_bucket(**args)
        planned["id"] = name
        tags = self.all_tags(planned)
        if tags:
            s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": _tag_set(tags)})
        if known(planned.get("policy")):
            s3.put_bucket_policy(Bucket=name, Policy=planned["policy"])
        return self.read(planned) or planned

    def read(self, current: State) -> State | None:
        s3 = self.client("s3")
        name = str(current["id"])
        if self.found(lambda: s3.head_bucket(Bucket=name)) is None:
            return None
        tags = found(lambda: s3.get_bucket_tagging(Bucket=name), "NoSuchTagSet")
        policy = found(lambda: s3.get_bucket_policy(Bucket=name), "NoSuchBucketPolicy")
        lock = found(
            lambda: s3.get_object_lock_configuration(Bucket=name), "ObjectLockConfigurationNotFoundError"
        )
        region = self.region_of(current)
        lock_enabled = (lock or {}).get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") == "Enabled"
        return {
            **current,
            "id": name,
            "bucket": name,
            "bucket_prefix": name_prefix_from_name(name),
            "arn": f"arn:{self.aws.partition}:s3:::{name}",
            "bucket_domain_name": f"{name}.s3.amazonaws.com",
            "bucket_regional_domain_name": f"{name}.s3.{region}.amazonaws.com",
            "bucket_region": region,
            "hosted_zone_id": _HOSTED_ZONES.get(region),
            "region": region,
            "force_destroy": False if current.get("force_destroy") is None else current["force_destroy"],
            "object_lock_enabled": lock_enabled,
            "policy": policy_state(policy["Policy"], current.get("policy")) if policy else None,
            "acl": current.get("acl"),
            **self.tags_state({t["Key"]: t["Value"] for t in (tags or {}).get("TagSet", [])}, current),
        }

    def update(self, prior: State, planned: State) -> State:
        s3 = self.client("s3")
        name = prior["id"]
        if planned.get("tags_all") != prior.get("tags_all"):
            tags = self.all_tags(planned)
            if tags:
                s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": _tag_set(tags)})
            else:
                s3.delete_bucket_tagging(Bucket=name)
        policy = known(planned.get("policy"))
        if policy != prior.get("policy"):
            if policy:
                s3.put_bucket_policy(Bucket=name, Policy=policy)
            else:
                with ignoring("NoSuchBucketPolicy"):
                    s3.delete_bucket_policy(Bucket=name)
        return self.read(planned) or planned

    def delete(self, prior: State) -> None:
        s3 = self.client("s3")
        name = prior["id"]
        if prior.get("force_destroy"):
            with self.ignoring_gone():
                _empty(s3, name)
        with self.ignoring_gone():
            s3.delete_bucket(Bucket=name)

    def import_state(self, import_id: str) -> State:
        return {"id": import_id, "force_destroy": False}


def _tag_set(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def _empty(s3: Any, bucket: str) -> None:
    """Delete every object version and delete marker in ``bucket``."""
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        doomed = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        for start in range(0, len(doomed), 1000):
            s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed[start : start + 1000], "Quiet": True})


#: Terraform argument -> PutObject parameter / HeadObject field, for the object's plain settings.
_OBJECT_FIELDS = {
    "cache_control": "CacheControl",
    "content_disposition": "ContentDisposition",
    "content_encoding": "ContentEncoding",
    "content_language": "ContentLanguage",
    "content_type": "ContentType",
    "storage_class": "StorageClass",
    "website_redirect": "WebsiteRedirectLocation",
}
#: Arguments the local cloud does not serve for an object (encryption keys, object lock, checksums).
_OBJECT_UNSUPPORTED = (
    "kms_key_id", "object_lock_legal_hold_status", "object_lock_mode", "object_lock_retain_until_date",
    "checksum_algorithm", "override_provider",
)  # fmt: skip
#: Arguments whose change uploads the object again.
_BODY = ("source", "content", "content_base64", "etag", "source_hash")


@register
class S3Object(RegionalResource):
    """An object in a bucket (id: its key), uploaded from ``source``, ``content`` or ``content_base64``."""

    type_name = "aws_s3_object"
    optional_computed = frozenset(
        {"acl", "content_type", "etag", "storage_class", "server_side_encryption", "bucket_key_enabled",
         "kms_key_id", "checksum_algorithm", "force_destroy"}
        | RegionalResource.TAGS_ALL | RegionalResource.REGION
    )  # fmt: skip
    defaults = {"force_destroy": False}
    force_new = frozenset({"bucket", "key"})
    unknown_on_update: ClassVar[frozenset[str]] = frozenset({"version_id"})
    importable = True
    not_found_codes = frozenset({"NoSuchKey", "404", "NoSuchBucket"})

    def validate(self, config: State) -> None:
        super().validate(config)
        given = [n for n in ("source", "content", "content_base64") if config.get(n) is not None]
        if len(given) > 1:
            raise ResourceError(f'"{given[0]}": conflicts with {given[1]}', attribute=given[0])
        for name in _OBJECT_UNSUPPORTED:
            if config.get(name) not in (None, []):
                raise ResourceError(
                    f'"{name}" of aws_s3_object is not supported by the selfheal local provider',
                    attribute=name,
                )
        if config.get("acl") not in (None, "private") and not is_unknown(config.get("acl")):
            raise ResourceError(f'acl "{config["acl"]}" is not supported by the selfheal local provider',
                                attribute="acl")  # fmt: skip
        key = config.get("key")
        if isinstance(key, str) and not is_unknown(key) and not key:
            raise ResourceError("key must not be empty", attribute="key")

    def plan(self, prior: State | None, planned: State, config: State) -> State:
        if prior is None:
            planned["arn"] = planned["version_id"] = Unknown
            if config.get("etag") is None:
                planned["etag"] = Unknown
        elif any(planned.get(n) != prior.get(n) for n in _BODY) or _fields_changed(prior, planned):
            planned["version_id"] = Unknown
            if config.get("etag") is None:
                planned["etag"] = Unknown
            if config.get("content_type") is None:
                planned["content_type"] = Unknown
        return super().plan(prior, planned, config)

    def create(self, planned: State) -> State:
        self._put(planned)
        planned["id"] = planned["key"]
        return self.read(planned) or planned

    def _put(self, planned: State) -> None:
        args: dict[str, Any] = {"Bucket": planned["bucket"], "Key": planned["key"], "Body": _body(planned)}
        for tf_name, aws_name in _OBJECT_FIELDS.items():
            value = known(planned.get(tf_name))
            if value:
                args[aws_name] = value
        if planned.get("metadata"):
            args["Metadata"] = planned["metadata"]
        tags = self.all_tags(planned)
        if tags:
            args["Tagging"] = "&".join(f"{_quote(k)}={_quote(v)}" for k, v in sorted(tags.items()))
        self.client("s3").put_object(**args)

    def read(self, current: State) -> State | None:
        s3 = self.client("s3")
        bucket, key = current["bucket"], current["key"]
        head = self.found(lambda: s3.head_object(Bucket=bucket, Key=key))
        if head is None:
            return None
        tags = s3.get_object_tagging(Bucket=bucket, Key=key).get("TagSet", [])
        version = head.get("VersionId")
        state: State = {
            **current,
            "id": key,
            "arn": f"arn:{self.aws.partition}:s3:::{bucket}/{key}",
            "etag": str(head.get("ETag", "")).strip('"'),
            "version_id": None if version in (None, "null") else version,
            "metadata": head.get("Metadata") or (None if current.get("metadata") is None else {}),
            "storage_class": head.get("StorageClass", "STANDARD"),
            "server_side_encryption": head.get("ServerSideEncryption", "AES256"),
            "bucket_key_enabled": bool(head.get("BucketKeyEnabled", False)),
            "force_destroy": bool(current.get("force_destroy")),
            "region": self.region_of(current),
            **self.tags_state({t["Key"]: t["Value"] for t in tags}, current),
        }
        for tf_name, aws_name in _OBJECT_FIELDS.items():
            if tf_name != "storage_class":
                state[tf_name] = head.get(aws_name) or None
        return state

    def update(self, prior: State, planned: State) -> State:
        if any(planned.get(n) != prior.get(n) for n in _BODY) or _fields_changed(prior, planned):
            self._put(planned)
        elif planned.get("tags_all") != prior.get("tags_all"):
            tags = self.all_tags(planned)
            self.client("s3").put_object_tagging(
                Bucket=planned["bucket"], Key=planned["key"], Tagging={"TagSet": _tag_set(tags)}
            )
        return self.read(planned) or planned

    def delete(self, prior: State) -> None:
        s3 = self.client("s3")
        with self.ignoring_gone():
            if prior.get("force_destroy") or prior.get("version_id"):
                versions = s3.list_object_versions(Bucket=prior["bucket"], Prefix=prior["key"])
                for item in versions.get("Versions", []) + versions.get("DeleteMarkers", []):
                    if item["Key"] == prior["key"]:
                        s3.delete_object(Bucket=prior["bucket"], Key=item["Key"], VersionId=item["VersionId"])
            else:
                s3.delete_object(Bucket=prior["bucket"], Key=prior["key"])

    def import_state(self, import_id: str) -> State:
        if import_id.startswith("s3://"):
            import_id = import_id[len("s3://") :]
        bucket, _, key = import_id.partition("/")
        if not bucket or not key:
            parse_two_part_id(import_id, "BUCKET/KEY or s3://BUCKET/KEY")
        return {"id": key, "bucket": bucket, "key": key, "force_destroy": False}


def _fields_changed(prior: State, planned: State) -> bool:
    """True if a setting only an upload (or a copy) changes differs; tags change without one."""
    names = [n for n in _OBJECT_FIELDS if not is_unknown(planned.get(n))] + ["metadata"]
    return any(planned.get(n) != prior.get(n) for n in names)


def _body(planned: State) -> bytes:
    """The bytes to upload: ``content`` (UTF-8), ``content_base64`` decoded, or the ``source`` file."""
    if planned.get("content") is not None:
        return str(planned["content"]).encode()
    if planned.get("content_base64") is not None:
        try:
            return base64.b64decode(str(planned["content_base64"]), validate=True)
        except ValueError as exc:
            raise ResourceError("content_base64 is not valid base64", str(exc), "content_base64") from None
    if planned.get("source") is not None:
        path = Path(str(planned["source"]))
        try:
            return path.read_bytes()
        except OSError as exc:
            raise ResourceError(f"opening S3 object source ({path})", str(exc), "source") from None
    return b""


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")
