"""Data sources about the account and the policy language: ``aws_iam_policy_document``,
``aws_caller_identity``, ``aws_region``, ``aws_partition``."""

from __future__ import annotations

import hashlib

from selfheal.terraform.aws_provider import AwsDataSource
from selfheal.terraform.aws_resources import register
from selfheal.terraform.policy import go_json, render_policy_document
from selfheal.terraform.resource import ResourceError, State

__all__ = ["CallerIdentity", "IamPolicyDocument", "Partition", "Region"]

#: Display names, as CloudWatch alarm notifications and ``aws_region.description`` carry them.
REGION_NAMES = {
    "us-east-1": "US East (N. Virginia)",
    "us-east-2": "US East (Ohio)",
    "us-west-1": "US West (N. California)",
    "us-west-2": "US West (Oregon)",
    "eu-west-1": "Europe (Ireland)",
    "eu-west-2": "Europe (London)",
    "eu-west-3": "Europe (Paris)",
    "eu-central-1": "Europe (Frankfurt)",
    "eu-north-1": "Europe (Stockholm)",
    "ap-southeast-1": "Asia Pacific (Singapore)",
    "ap-southeast-2": "Asia Pacific (Sydney)",
    "ap-northeast-1": "Asia Pacific (Tokyo)",
    "ca-central-1": "Canada (Central)",
    "sa-east-1": "South America (Sao Paulo)",
}


@register
class IamPolicyDocument(AwsDataSource):
    """Renders an IAM policy document exactly as the real provider does (``json``, ``minified_json``)."""

    type_name = "aws_iam_policy_document"
    optional_computed = frozenset({"version", "statement.effect"})

    def validate(self, config: State) -> None:
        statements = config.get("statement")
        if not isinstance(statements, list):  # unknown until apply (a dynamic block): checked at read
            return
        for i, st in enumerate(statements):
            if not isinstance(st, dict):
                continue
            effect = st.get("effect")
            if isinstance(effect, str) and effect not in ("Allow", "Deny"):
                raise ResourceError(
                    f'expected statement[{i}].effect to be one of ["Allow" "Deny"], got {effect}',
                    attribute="statement",
                )

    def read(self, config: State) -> State:
        doc = render_policy_document(config)
        text = go_json(doc, indent=True)
        statements = config.get("statement") or []
        for st in statements:
            st["effect"] = st.get("effect") or "Allow"
        return {
            **config,
            "version": config.get("version") or "2012-10-17",
            "statement": statements,
            "json": text,
            "minified_json": go_json(doc, indent=False),
            "id": str(int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)),
        }


@register
class CallerIdentity(AwsDataSource):
    """The local cloud's account and caller."""

    type_name = "aws_caller_identity"

    def read(self, config: State) -> State:
        ident = self.client("sts").get_caller_identity()
        return {
            "id": ident["Account"],
            "account_id": ident["Account"],
            "arn": ident["Arn"],
            "user_id": ident["UserId"],
        }


@register
class Region(AwsDataSource):
    """The provider's region (or the one asked for)."""

    type_name = "aws_region"
    optional_computed = frozenset({"name", "region", "endpoint"})

    def read(self, config: State) -> State:
        region = config.get("region") or config.get("name") or self.aws.region
        if region not in REGION_NAMES:
            raise ResourceError(f"region not found: {region}", attribute="region")
        return {
            "id": region,
            "name": region,
            "region": region,
            "endpoint": f"{self.aws.endpoint.split('://', 1)[-1]}",
            "description": REGION_NAMES[region],
        }


@register
class Partition(AwsDataSource):
    """The ``aws`` partition."""

    type_name = "aws_partition"

    def read(self, config: State) -> State:
        return {
            "id": "aws",
            "partition": "aws",
            "dns_suffix": "amazonaws.com",
            "reverse_dns_prefix": "com.amazonaws",
        }
