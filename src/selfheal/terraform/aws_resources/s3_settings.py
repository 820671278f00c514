"""A bucket's settings as their own resource types: ``aws_s3_bucket_versioning``,
``aws_s3_bucket_public_access_block``, ``aws_s3_bucket_server_side_encryption_configuration``,
``aws_s3_bucket_ownership_controls`` and ``aws_s3_bucket_policy``.

The local cloud stores them (read back, so drift shows) but they change nothing it does: objects are not
encrypted, and access is decided by IAM alone. The id and import ID of each is the bucket name (with
``,EXPECTED_BUCKET_OWNER`` where the type takes ``expected_bucket_owner``).
"""

from __future__ import annotations

from typing import Any

from selfheal.terraform.aws_resources import register
from selfheal.terraform.aws_resources._common import check_policy_json, known, policy_state
from selfheal.terraform.aws_resources._regional import RegionalResource, check_one_of
from selfheal.terraform.aws_resources.s3 import BUCKET_GONE, check_bucket_name
from selfheal.terraform.resource import ResourceError, State

__all__ = [
    "S3BucketOwnershipControls",
    "S3BucketPolicy",
    "S3BucketPublicAccessBlock",
    "S3BucketServerSideEncryption",
    "S3BucketVersioning",
]


class _BucketSetting(RegionalResource):
    """A setting of one bucket, replaced when the bucket changes; gone with the bucket or the setting."""

    force_new = frozenset({"bucket", "expected_bucket_owner"})
    optional_computed = RegionalResource.REGION
    importable = True
    not_found_codes = frozenset(BUCKET_GONE)

    def validate(self, config: State) -> None:
        super().validate(config)
        check_bucket_name(config.get("bucket"))

    def bucket_args(self, state: State) -> dict[str, Any]:
        args: dict[str, Any] = {"Bucket": state["bucket"]}
        if state.get("expected_bucket_owner"):
            args["ExpectedBucketOwner"] = state["expected_bucket_owner"]
        return args

    def create(self, planned: State) -> State:
        self.put(planned)
        owner = planned.get("expected_bucket_owner")
        planned["id"] = f"{planned['bucket']},{owner}" if owner else planned["bucket"]
        return self.read(planned) or planned

    def update(self, prior: State, planned: State) -> State:
        self.put(planned)
        return self.read(planned) or planned

    def put(self, planned: State) -> None:
        raise NotImplementedError

    def get(self, current: State) -> dict[str, Any] | None:
        """What S3 holds for the setting, or None when the bucket or the setting is gone."""
        raise NotImplementedError

    def read(self, current: State) -> State | None:
        bucket, _, owner = str(current["id"]).partition(",")
        current = {**current, "bucket": bucket, "region": self.region_of(current)}
        if "expected_bucket_owner" in self.schema().attrs:
            current["expected_bucket_owner"] = owner or None
        got = self.found(lambda: self.get(current))
        return None if got is None else {**current, **got}

    def import_state(self, import_id: str) -> State:
        bucket, _, owner = import_id.partition(",")
        check_bucket_name(bucket, "id")
        if owner and "expected_bucket_owner" not in self.schema().attrs:
            raise ResourceError(f"unexpected format of ID ({import_id}), expected BUCKET")
        return {"id": import_id}


@register
class S3BucketVersioning(_BucketSetting):
    """Versioning of a bucket; destroying it suspends versioning (S3 cannot turn it off again)."""

    type_name = "aws_s3_bucket_versioning"
    optional_computed = frozenset({"versioning_configuration.mfa_delete"}) | RegionalResource.REGION
    not_found_codes = frozenset(BUCKET_GONE)

    def validate(self, config: State) -> None:
        super().validate(config)
        if config.get("mfa") is not None:
            raise ResourceError('"mfa" is not supported by the selfheal local provider', attribute="mfa")
        for rule in config.get("versioning_configuration") or []:
            check_one_of(rule, "status", ("Enabled", "Suspended", "Disabled"))
            check_one_of(rule, "mfa_delete", ("Enabled", "Disabled"))

    def put(self, planned: State) -> None:
        status = planned["versioning_configuration"][0]["status"]
        if status == "Disabled":
            if self.found(lambda: self.get(planned)) not in (None, _versioning("Disabled", None)):
                raise ResourceError(
                    "versioning_configuration.status cannot be updated from 'Enabled' to 'Disabled'"
                )
            return
        self.client("s3").put_bucket_versioning(
            **self.bucket_args(planned), VersioningConfiguration={"Status": status}
        )

    def get(self, current: State) -> dict[str, Any] | None:
        got = self.client("s3").get_bucket_versioning(**self.bucket_args(current))
        prior = (current.get("versioning_configuration") or [{}])[0]
        status = got.get("Status") or ("Disabled" if prior.get("status") in (None, "Disabled") else None)
        if status is None:
            return None
        return _versioning(status, got.get("MFADelete") or prior.get("mfa_delete") or "Disabled")

    def delete(self, prior: State) -> None:
        if prior["versioning_configuration"][0]["status"] == "Disabled":
            return
        with self.ignoring_gone():
            self.client("s3").put_bucket_versioning(
                **self.bucket_args(prior), VersioningConfiguration={"Status": "Suspended"}
            )


def _versioning(status: str, mfa_delete: str | None) -> dict[str, Any]:
    return {"versioning_configuration": [{"status": status, "mfa_delete": mfa_delete}]}


_ACCESS_BLOCK = {
    "block_public_acls": "BlockPublicAcls",
    "block_public_policy": "BlockPublicPolicy",
    "ignore_public_acls": "IgnorePublicAcls",
    "restrict_public_buckets": "RestrictPublicBuckets",
}


@register
class S3BucketPublicAccessBlock(_BucketSetting):
    """A bucket's public access block (``skip_destroy`` leaves it in place on destroy)."""

    type_name = "aws_s3_bucket_public_access_block"
    defaults = dict.fromkeys(_ACCESS_BLOCK, False)
    optional_computed = frozenset(_ACCESS_BLOCK) | RegionalResource.REGION
    not_found_codes = frozenset({*BUCKET_GONE, "NoSuchPublicAccessBlockConfiguration"})

    def put(self, planned: State) -> None:
        config = {aws: bool(planned.get(tf)) for tf, aws in _ACCESS_BLOCK.items()}
        self.client("s3").put_public_access_block(
            **self.bucket_args(planned), PublicAccessBlockConfiguration=config
        )

    def get(self, current: State) -> dict[str, Any] | None:
        got = self.client("s3").get_public_access_block(**self.bucket_args(current))
        config = got["PublicAccessBlockConfiguration"]
        return {tf: bool(config.get(aws)) for tf, aws in _ACCESS_BLOCK.items()}

    def delete(self, prior: State) -> None:
        if prior.get("skip_destroy"):
            return
        with self.ignoring_gone():
            self.client("s3").delete_public_access_block(**self.bucket_args(prior))


@register
class S3BucketServerSideEncryption(_BucketSetting):
    """A bucket's default encryption; destroying it deletes the configuration (S3 then uses SSE-S3)."""

    type_name = "aws_s3_bucket_server_side_encryption_configuration"
    not_found_codes = frozenset({*BUCKET_GONE, "ServerSideEncryptionConfigurationNotFoundError"})

    def validate(self, config: State) -> None:
        super().validate(config)
        for rule in config.get("rule") or []:
            if rule.get("blocked_encryption_types") is not None:
                raise ResourceError('"rule.blocked_encryption_types" is not supported by the selfheal local '
                                    "provider", attribute="rule")  # fmt: skip
            for default in rule.get("apply_server_side_encryption_by_default") or []:
                check_one_of(default, "sse_algorithm", ("AES256", "aws:kms", "aws:kms:dsse"))

    def put(self, planned: State) -> None:
        rules = []
        for rule in planned["rule"]:
            aws: dict[str, Any] = {}
            for default in rule.get("apply_server_side_encryption_by_default") or []:
                aws["ApplyServerSideEncryptionByDefault"] = {"SSEAlgorithm": default["sse_algorithm"]}
                if known(default.get("kms_master_key_id")):
                    aws["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] = default["kms_master_key_id"]
            if rule.get("bucket_key_enabled") is not None:
                aws["BucketKeyEnabled"] = rule["bucket_key_enabled"]
            rules.append(aws)
        self.client("s3").put_bucket_encryption(
            **self.bucket_args(planned), ServerSideEncryptionConfiguration={"Rules": rules}
        )

    def get(self, current: State) -> dict[str, Any] | None:
        got = self.client("s3").get_bucket_encryption(**self.bucket_args(current))
        prior = current.get("rule") or []
        rules = []
        for index, aws in enumerate(got["ServerSideEncryptionConfiguration"].get("Rules", [])):
            before = prior[index] if index < len(prior) else {}
            default = aws.get("ApplyServerSideEncryptionByDefault")
            enabled = aws.get("BucketKeyEnabled")
            if enabled is False and before.get("bucket_key_enabled") is None:
                enabled = None  # S3 reports false for a rule that left it out
            by_default = (
                [
                    {
                        "sse_algorithm": default["SSEAlgorithm"],
                        "kms_master_key_id": default.get("KMSMasterKeyID"),
                    }
                ]
                if default
                else []
            )
            rules.append(
                {
                    "apply_server_side_encryption_by_default": by_default,
                    "bucket_key_enabled": enabled,
                    "blocked_encryption_types": None,
                }
            )
        return {"rule": rules}

    def delete(self, prior: State) -> None:
        with self.ignoring_gone():
            self.client("s3").delete_bucket_encryption(**self.bucket_args(prior))


@register
class S3BucketOwnershipControls(_BucketSetting):
    """A bucket's object ownership rule."""

    type_name = "aws_s3_bucket_ownership_controls"
    not_found_codes = frozenset({*BUCKET_GONE, "OwnershipControlsNotFoundError"})

    def validate(self, config: State) -> None:
        super().validate(config)
        for rule in config.get("rule") or []:
            check_one_of(
                rule, "object_ownership", ("BucketOwnerPreferred", "ObjectWriter", "BucketOwnerEnforced")
            )

    def put(self, planned: State) -> None:
        rules = [{"ObjectOwnership": r["object_ownership"]} for r in planned["rule"]]
        self.client("s3").put_bucket_ownership_controls(
            **self.bucket_args(planned), OwnershipControls={"Rules": rules}
        )

    def get(self, current: State) -> dict[str, Any] | None:
        got = self.client("s3").get_bucket_ownership_controls(**self.bucket_args(current))
        return {
            "rule": [{"object_ownership": r["ObjectOwnership"]} for r in got["OwnershipControls"]["Rules"]]
        }

    def delete(self, prior: State) -> None:
        with self.ignoring_gone():
            self.client("s3").delete_bucket_ownership_controls(**self.bucket_args(prior))


@register
class S3BucketPolicy(_BucketSetting):
    """A bucket's policy (stored and read back; the local cloud authorises by IAM policies alone)."""

    type_name = "aws_s3_bucket_policy"
    not_found_codes = frozenset({*BUCKET_GONE, "NoSuchBucketPolicy"})

    def validate(self, config: State) -> None:
        super().validate(config)
        check_policy_json(config.get("policy"))

    def put(self, planned: State) -> None:
        self.client("s3").put_bucket_policy(**self.bucket_args(planned), Policy=planned["policy"])

    def get(self, current: State) -> dict[str, Any] | None:
        got = self.client("s3").get_bucket_policy(**self.bucket_args(current))
        return {"policy": policy_state(got["Policy"], current.get("policy"))}

    def delete(self, prior: State) -> None:
        with self.ignoring_gone():
            self.client("s3").delete_bucket_policy(**self.bucket_args(prior))
