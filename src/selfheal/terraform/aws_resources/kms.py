"""KMS: ``aws_kms_key`` (id and import ID: the key ID) and ``aws_kms_alias`` (id and import ID: the
alias name, ``alias/...``).

Destroying a key schedules its deletion (``deletion_window_in_days``, default 30), as on AWS: the key
stays listed in ``PendingDeletion`` state and a read treats it as gone.
"""

from __future__ import annotations

from typing import Any

from selfheal.terraform.aws_resources import register
from selfheal.terraform.aws_resources._common import (
    add_tags,
    check_policy_json,
    policy_state,
    tag_list,
    tagging,
)
from selfheal.terraform.aws_resources._regional import PrefixNamedResource, RegionalResource, check_range
from selfheal.terraform.resource import ResourceError, State, is_unknown

__all__ = ["KmsAlias", "KmsKey"]


def _key_tags(tags: dict[str, str]) -> list[dict[str, str]]:
    """Tags in the ``[{"TagKey": k, "TagValue": v}]`` shape KMS takes."""
    return [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in tag_list(tags)]


@register
class KmsKey(RegionalResource):
    """A customer-managed KMS key (id: the key ID)."""

    type_name = "aws_kms_key"
    optional_computed = frozenset(
        {"bypass_policy_lockout_safety_check", "customer_master_key_spec", "description",
         "enable_key_rotation",
         "is_enabled", "key_usage", "multi_region", "policy", "rotation_period_in_days"}
        | RegionalResource.TAGS_ALL | RegionalResource.REGION
    )  # fmt: skip
    defaults = {
        "bypass_policy_lockout_safety_check": False, "customer_master_key_spec": "SYMMETRIC_DEFAULT",
        "enable_key_rotation": False, "is_enabled": True, "key_usage": "ENCRYPT_DECRYPT",
    }  # fmt: skip
    force_new = frozenset(
        {"customer_master_key_spec", "key_usage", "multi_region", "custom_key_store_id", "xks_key_id"}
    )
    importable = True
    not_found_codes = frozenset({"NotFoundException"})

    def validate(self, config: State) -> None:
        super().validate(config)
        check_range(config, "deletion_window_in_days", 7, 30)
        check_range(config, "rotation_period_in_days", 90, 2560)
        check_policy_json(config.get("policy"))

    def create(self, planned: State) -> State:
        kms = self.client("kms")
        args: dict[str, Any] = {
            "KeyUsage": planned["key_usage"],
            "KeySpec": planned["customer_master_key_spec"],
            "BypassPolicyLockoutSafetyCheck": bool(planned["bypass_policy_lockout_safety_check"]),
        }
        if isinstance(planned.get("description"), str):
            args["Description"] = planned["description"]
        if isinstance(planned.get("policy"), str) and planned["policy"]:
            args["Policy"] = planned["policy"]
        if planned.get("multi_region") is True:
            args["MultiRegion"] = True
        add_tags(args, self.all_tags(planned), tags_as=_key_tags)
        key_id = kms.create_key(**args)["KeyMetadata"]["KeyId"]
        planned["id"] = key_id
        if planned.get("enable_key_rotation"):
            self._enable_rotation(key_id, planned.get("rotation_period_in_days"))
        if planned.get("is_enabled") is False:
            kms.disable_key(KeyId=key_id)
        return self.read(planned) or planned

    def _enable_rotation(self, key_id: str, period: Any) -> None:
        kms = self.client("kms")
        if isinstance(period, int | float) and not is_unknown(period):
            kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=int(period))
        else:
            kms.enable_key_rotation(KeyId=key_id)

    def read(self, current: State) -> State | None:
        kms = self.client("kms")
        key_id = current["id"]
        meta = self.found(lambda: kms.describe_key(KeyId=key_id)["KeyMetadata"])
        if meta is None:
            return None
        if meta.get("KeyState") in ("PendingDeletion", "PendingReplicaDeletion"):
            return None
        policy = kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]
        rotation = kms.get_key_rotation_status(KeyId=key_id)
        tags = {t["TagKey"]: t["TagValue"] for t in kms.list_resource_tags(KeyId=key_id).get("Tags", [])}
        period = rotation.get("RotationPeriodInDays")
        if period is None:  # the local cloud does not report it: keep what was asked for
            period = current.get("rotation_period_in_days")
            if is_unknown(period) or period is None:
                period = 365 if rotation.get("KeyRotationEnabled") else None
        return {
            **current,
            "id": meta["KeyId"],
            "key_id": meta["KeyId"],
            "arn": meta["Arn"],
            "description": meta.get("Description", ""),
            "key_usage": meta.get("KeyUsage", "ENCRYPT_DECRYPT"),
            "customer_master_key_spec": meta.get("KeySpec") or meta.get("CustomerMasterKeySpec"),
            "is_enabled": bool(meta.get("Enabled")),
            "multi_region": bool(meta.get("MultiRegion", False)),
            "enable_key_rotation": bool(rotation.get("KeyRotationEnabled")),
            "rotation_period_in_days": period,
            "policy": policy_state(policy, current.get("policy")),
            "bypass_policy_lockout_safety_check": bool(current.get("bypass_policy_lockout_safety_check")),
            "region": self.region_of(current),
            **self.tags_state(tags, current),
        }

    def update(self, prior: State, planned: State) -> State:
        kms = self.client("kms")
        key_id = prior["id"]
        if planned.get("description") != prior.get("description") and isinstance(
            planned.get("description"), str
        ):
            kms.update_key_description(KeyId=key_id, Description=planned["description"])
        if planned.get("policy") != prior.get("policy") and isinstance(planned.get("policy"), str):
            kms.put_key_policy(
                KeyId=key_id,
                PolicyName="default",
                Policy=planned["policy"],
                BypassPolicyLockoutSafetyCheck=bool(planned.get("bypass_policy_lockout_safety_check")),
            )
        if planned.get("is_enabled") != prior.get("is_enabled"):
            (kms.enable_key if planned.get("is_enabled") else kms.disable_key)(KeyId=key_id)
        rotation_changed = planned.get("enable_key_rotation") != prior.get("enable_key_rotation") or (
            planned.get("rotation_period_in_days") != prior.get("rotation_period_in_days")
        )
        if rotation_changed:
            if planned.get("enable_key_rotation"):
                self._enable_rotation(key_id, planned.get("rotation_period_in_days"))
            else:
                kms.disable_key_rotation(KeyId=key_id)
        self.retag(
            prior, planned, *tagging(kms.untag_resource, kms.tag_resource, tags_as=_key_tags, KeyId=key_id)
        )
        return self.read(planned) or planned

    def delete(self, prior: State) -> None:
        window = prior.get("deletion_window_in_days") or 30
        try:
            self.client("kms").schedule_key_deletion(KeyId=prior["id"], PendingWindowInDays=int(window))
        except Exception as exc:
            if not self.gone(exc) and "pending deletion" not in str(exc).lower():
                raise


@register
class KmsAlias(PrefixNamedResource):
    """An alias of a KMS key (id: the alias name)."""

    type_name = "aws_kms_alias"
    optional_computed = frozenset({"name", "name_prefix"} | RegionalResource.REGION)
    force_new = frozenset({"name", "name_prefix"})
    importable = True
    not_found_codes = frozenset({"NotFoundException"})
    default_name_prefix = "alias/terraform-"

    def validate(self, config: State) -> None:
        super().validate(config)
        for attr in ("name", "name_prefix"):
            value = config.get(attr)
            bad = (
                not value.startswith("alias/") or value.startswith("alias/aws/")
                if isinstance(value, str)
                else False
            )
            if bad and not is_unknown(value):
                raise ResourceError(
                    f"\"{attr}\" must begin with 'alias/' and not with 'alias/aws/', got {value}",
                    attribute=attr,
                )

    def create(self, planned: State) -> State:
        name = self.name_to_create(planned)
        self.client("kms").create_alias(AliasName=name, TargetKeyId=planned["target_key_id"])
        planned["id"] = name
        return self.read(planned) or planned

    def read(self, current: State) -> State | None:
        kms = self.client("kms")
        name = current["id"]
        found = None
        for page in kms.get_paginator("list_aliases").paginate():
            for alias in page.get("Aliases", []):
                if alias["AliasName"] == name:
                    found = alias
        if found is None or not found.get("TargetKeyId"):
            return None
        key_arn = kms.describe_key(KeyId=found["TargetKeyId"])["KeyMetadata"]["Arn"]
        target = current.get("target_key_id")
        # Keep the configured form (key ID or key ARN) when it names the same key.
        if target not in (found["TargetKeyId"], key_arn):
            target = found["TargetKeyId"]
        return {
            **current,
            "id": name,
            "name": name,
            "arn": found["AliasArn"],
            "target_key_id": target,
            "target_key_arn": key_arn,
            "region": self.region_of(current),
        }

    def update(self, prior: State, planned: State) -> State:
        self.client("kms").update_alias(AliasName=prior["id"], TargetKeyId=planned["target_key_id"])
        return self.read(planned) or planned

    def delete(self, prior: State) -> None:
        with self.ignoring_gone():
            self.client("kms").delete_alias(AliasName=prior["id"])

    def import_state(self, import_id: str) -> State:
        if not import_id.startswith("alias/"):
            raise ResourceError(f"unexpected format of ID ({import_id}), expected alias/NAME")
        return {"id": import_id}
