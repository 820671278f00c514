"""IAM data sources: ``data "aws_iam_policy"`` -- a customer-managed or AWS-managed policy by ARN, or by
name (and path prefix), as the real provider finds it. The local cloud holds AWS's managed policies."""

from __future__ import annotations

from typing import Any

from selfheal.terraform.aws_provider import AwsDataSource
from selfheal.terraform.aws_resources import register
from selfheal.terraform.aws_resources._common import error_code, policy_state
from selfheal.terraform.resource import ResourceError, State, is_unknown

__all__ = ["IamPolicyData"]


@register
class IamPolicyData(AwsDataSource):
    """One IAM policy by ``arn``, or by ``name`` and/or ``path_prefix`` (exactly one must match)."""

    type_name = "aws_iam_policy"
    optional_computed = frozenset({"arn", "name", "tags"})
    attribute_types = {"attachment_count": "number"}

    def validate(self, config: State) -> None:
        arn = config.get("arn")
        others = [n for n in ("name", "path_prefix") if config.get(n) is not None]
        if arn is not None and others:
            raise ResourceError(
                f'"arn": conflicts with {others[0]}', "Give either arn, or name and/or path_prefix.", "arn"
            )
        if isinstance(arn, str) and not is_unknown(arn) and not arn.startswith("arn:"):
            raise ResourceError(f'"arn" ({arn}) is an invalid ARN', attribute="arn")

    def _find(self, config: State) -> dict[str, Any]:
        iam = self.client("iam")
        if config.get("arn"):
            try:
                return dict(iam.get_policy(PolicyArn=config["arn"])["Policy"])
            except Exception as exc:
                if error_code(exc) == "NoSuchEntity":
                    raise ResourceError("no matching IAM Policy found", str(exc), "arn") from None
                raise
        name, prefix = config.get("name"), config.get("path_prefix") or "/"
        matches = [
            policy
            for page in iam.get_paginator("list_policies").paginate(Scope="All", PathPrefix=prefix)
            for policy in page["Policies"]
            if name is None or policy["PolicyName"] == name
        ]
        if not matches:
            raise ResourceError("no matching IAM Policy found", attribute="name")
        if len(matches) > 1:
            raise ResourceError(
                "multiple IAM Policies matched; use additional constraints to reduce matches to a single "
                "IAM Policy",
                attribute="name",
            )
        return dict(iam.get_policy(PolicyArn=matches[0]["Arn"])["Policy"])

    def read(self, config: State) -> State:
        policy = self._find(config)
        version = self.client("iam").get_policy_version(
            PolicyArn=policy["Arn"], VersionId=policy["DefaultVersionId"]
        )["PolicyVersion"]
        return {
            **config,
            "id": policy["Arn"],
            "arn": policy["Arn"],
            "name": policy["PolicyName"],
            "path": policy["Path"],
            "description": policy.get("Description", ""),
            "policy_id": policy["PolicyId"],
            "attachment_count": policy.get("AttachmentCount", 0),
            "policy": policy_state(version["Document"], None),
            # Configured tags are kept as given (Terraform refuses a data source that changes them).
            "tags": config.get("tags") or {t["Key"]: t["Value"] for t in policy.get("Tags", [])},
        }
