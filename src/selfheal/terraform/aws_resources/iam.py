"""IAM: ``aws_iam_role``, ``aws_iam_role_policy``, ``aws_iam_policy``, ``aws_iam_role_policy_attachment``."""

from __future__ import annotations

from typing import Any

from selfheal.terraform.aws_provider import AwsResource
from selfheal.terraform.aws_resources import register
from selfheal.terraform.aws_resources._common import (
    check_policy_json,
    error_code,
    found,
    ignoring,
    known,
    name_prefix_from_name,
    policy_state,
    put_fields,
    tag_list,
    tagging,
    unique_name,
)
from selfheal.terraform.resource import ResourceError, State, Unknown

__all__ = ["IamPolicy", "IamRole", "IamRolePolicy", "IamRolePolicyAttachment"]


def _name(planned: State) -> str:
    """``name``, else a unique name from ``name_prefix``, else ``terraform-`` and 26 characters."""
    if known(planned.get("name")):
        return str(planned["name"])
    return unique_name(str(known(planned.get("name_prefix")) or "terraform-"))


class _NamedIamResource(AwsResource):
    """An IAM resource with ``name`` and ``name_prefix``: both left out, a name is generated at create."""

    def plan(self, prior: State | None, planned: State, config: State) -> State:
        if (
            prior is None
            and config.get("name") is None
            and config.get("name_prefix") is None
            and planned.get("name") is None
        ):
            planned["name"] = Unknown
        return super().plan(prior, planned, config)


@register
class IamRole(_NamedIamResource):
    """An IAM role (id: the role name)."""

    type_name = "aws_iam_role"
    optional_computed = frozenset(
        {
            "name",
            "name_prefix",
            "path",
            "force_detach_policies",
            "max_session_duration",
            "managed_policy_arns",
        }
        | AwsResource.TAGS_ALL
    )
    defaults = {"path": "/", "force_detach_policies": False, "max_session_duration": 3600}
    attribute_types = {"create_date": "string"}
    force_new = frozenset({"name", "name_prefix", "path"})
    importable = True

    def validate(self, config: State) -> None:
        check_policy_json(config.get("assume_role_policy"), "assume_role_policy")
        msd = config.get("max_session_duration")
        if isinstance(msd, int | float) and not 3600 <= msd <= 43200:
            raise ResourceError(
                "expected max_session_duration to be in the range (3600 - 43200)",
                attribute="max_session_duration",
            )

    def create(self, planned: State) -> State:
        iam = self.client("iam")
        name = _name(planned)
        args: dict[str, Any] = {
            "RoleName": name,
            "Path": planned["path"],
            "AssumeRolePolicyDocument": planned["assume_role_policy"],
            "MaxSessionDuration": int(planned["max_session_duration"]),
            "Tags": tag_list(self.all_tags(planned)),
        }
        put_fields(
            args, planned, {"description": "Description", "permissions_boundary": "PermissionsBoundary"}
        )
        iam.create_role(**args)
        planned["id"] = name
        return self.read(planned) or planned

    def read(self, current: State) -> State | None:
        iam = self.client("iam")
        role = found(lambda: iam.get_role(RoleName=current["id"])["Role"], "NoSuchEntity")
        if role is None:
            return None
        attached = iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"]
        tags = {t["Key"]: t["Value"] for t in role.get("Tags", [])}
        boundary = role.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn")
        return {
            **current,
            "id": role["RoleName"],
            "name": role["RoleName"],
            "name_prefix": name_prefix_from_name(role["RoleName"]),
            "arn": role["Arn"],
            "unique_id": role["RoleId"],
            "create_date": role["CreateDate"].strftime("%Y-%m-%dT%H:%M:%SZ"),
            "path": role["Path"],
            "description": role.get("Description") or current.get("description"),
            "max_session_duration": role.get("MaxSessionDuration", 3600),
            "permissions_boundary": boundary,
            "assume_role_policy": policy_state(
                role["AssumeRolePolicyDocument"], current.get("assume_role_policy")
            ),
            "managed_policy_arns": sorted(p["PolicyArn"] for p in attached),
            "force_detach_policies": bool(current.get("force_detach_policies")),
            **self.tags_state(tags, current),
        }

    def update(self, prior: State, planned: State) -> State:
        iam = self.client("iam")
        name = prior["id"]
        if planned["assume_role_policy"] != prior["assume_role_policy"]:
            iam.update_assume_role_policy(RoleName=name, PolicyDocument=planned["assume_role_policy"])
        if (planned.get("description"), planned["max_session_duration"]) != (
            prior.get("description"),
            prior["max_session_duration"],
        ):
            iam.update_role(
                RoleName=name,
                Description=planned.get("description") or "",
                MaxSessionDuration=int(planned["max_session_duration"]),
            )
        if planned.get("permissions_boundary") != prior.get("permissions_boundary"):
            if planned.get("permissions_boundary"):
                iam.put_role_permissions_boundary(
                    RoleName=name, PermissionsBoundary=planned["permissions_boundary"]
                )
            else:
                iam.delete_role_permissions_boundary(RoleName=name)
        self.retag(prior, planned, *tagging(iam.untag_role, iam.tag_role, RoleName=name))
        return self.read(planned) or planned

    def delete(self, prior: State) -> None:
        iam = self.client("iam")
        name = prior["id"]
        with ignoring("NoSuchEntity"):
            if prior.get("force_detach_policies"):
                for p in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
                    iam.detach_role_policy(RoleName=name, PolicyArn=p["PolicyArn"])
                for pname in iam.list_role_policies(RoleName=name)["PolicyNames"]:
                    iam.delete_role_policy(RoleName=name, PolicyName=pname)
            iam.delete_role(RoleName=name)


@register
class IamRolePolicy(_NamedIamResource):
    """An inline policy of a role (id: ``role:name``)."""

    type_name = "aws_iam_role_policy"
    optional_computed = frozenset({"name", "name_prefix"})
    force_new = frozenset({"name", "name_prefix", "role"})
    importable = True

    def validate(self, config: State) -> None:
        check_policy_json(config.get("policy"), "policy")

    def create(self, planned: State) -> State:
        name = _name(planned)
        self.client("iam").put_role_policy(
            RoleName=planned["role"], PolicyName=name, PolicyDocument=planned["policy"]
        )
        planned.update(id=f"{planned['role']}:{name}", name=name, name_prefix=name_prefix_from_name(name))
        return planned

    def read(self, current: State) -> State | None:
        role, _, name = str(current["id"]).partition(":")
        got = found(
            lambda: self.client("iam").get_role_policy(RoleName=role, PolicyName=name), "NoSuchEntity"
        )
        if got is None:
            return None
        return {
            **current,
            "role": role,
            "name": name,
            "name_prefix": name_prefix_from_name(name),
            "policy": policy_state(got["PolicyDocument"], current.get("policy")),
        }

    def update(self, prior: State, planned: State) -> State:
        self.client("iam").put_role_policy(
            RoleName=prior["role"], PolicyName=prior["name"], PolicyDocument=planned["policy"]
        )
        return planned

    def delete(self, prior: State) -> None:
        role, _, name = str(prior["id"]).partition(":")
        with ignoring("NoSuchEntity"):
            self.client("iam").delete_role_policy(RoleName=role, PolicyName=name)

    def import_state(self, import_id: str) -> State:
        if ":" not in import_id:
            raise ResourceError(f"unexpected format of ID ({import_id}), expected ROLE-NAME:POLICY-NAME")
        return {"id": import_id}


@register
class IamPolicy(_NamedIamResource):
    """A customer-managed IAM policy (id: its ARN)."""

    type_name = "aws_iam_policy"
    optional_computed = frozenset({"name", "name_prefix", "path"} | AwsResource.TAGS_ALL)
    defaults = {"path": "/"}
    attribute_types = {"attachment_count": "number"}
    force_new = frozenset({"name", "name_prefix", "path", "description"})
    unknown_on_update = frozenset()
    importable = True

    def validate(self, config: State) -> None:
        check_policy_json(config.get("policy"), "policy")

    def create(self, planned: State) -> State:
        args: dict[str, Any] = {
            "PolicyName": _name(planned),
            "Path": planned["path"],
            "PolicyDocument": planned["policy"],
            "Tags": tag_list(self.all_tags(planned)),
        }
        if planned.get("description"):
            args["Description"] = planned["description"]
        policy = self.client("iam").create_policy(**args)["Policy"]
        planned["id"] = policy["Arn"]
        return self.read(planned) or planned

    def read(self, current: State) -> State | None:
        iam = self.client("iam")
        try:
            policy = iam.get_policy(PolicyArn=current["id"])["Policy"]
            version = iam.get_policy_version(PolicyArn=current["id"], VersionId=policy["DefaultVersionId"])
        except Exception as exc:
            if error_code(exc) == "NoSuchEntity":
                return None
            raise
        tags = {t["Key"]: t["Value"] for t in policy.get("Tags", [])}
        return {
            **current,
            "arn": policy["Arn"],
            "name": policy["PolicyName"],
            "name_prefix": name_prefix_from_name(policy["PolicyName"]),
            "path": policy["Path"],
            "policy_id": policy["PolicyId"],
            "attachment_count": policy.get("AttachmentCount", 0),
            "description": policy.get("Description") or current.get("description"),
            "policy": policy_state(version["PolicyVersion"]["Document"], current.get("policy")),
            **self.tags_state(tags, current),
        }

    def update(self, prior: State, planned: State) -> State:
        iam = self.client("iam")
        arn = prior["id"]
        if planned["policy"] != prior["policy"]:
            versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
            if len(versions) >= 5:  # IAM keeps at most five versions
                oldest = min(
                    (v for v in versions if not v["IsDefaultVersion"]), key=lambda v: v["CreateDate"]
                )
                iam.delete_policy_version(PolicyArn=arn, VersionId=oldest["VersionId"])
            iam.create_policy_version(PolicyArn=arn, PolicyDocument=planned["policy"], SetAsDefault=True)
        self.retag(prior, planned, *tagging(iam.untag_policy, iam.tag_policy, PolicyArn=arn))
        return self.read(planned) or planned

    def delete(self, prior: State) -> None:
        iam = self.client("iam")
        arn = prior["id"]
        with ignoring("NoSuchEntity"):
            for v in iam.list_policy_versions(PolicyArn=arn)["Versions"]:
                if not v["IsDefaultVersion"]:
                    iam.delete_policy_version(PolicyArn=arn, VersionId=v["VersionId"])
            iam.delete_policy(PolicyArn=arn)


@register
class IamRolePolicyAttachment(AwsResource):
    """A managed policy attached to a role (id: ``role/policy_arn``)."""

    type_name = "aws_iam_role_policy_attachment"
    force_new = frozenset({"role", "policy_arn"})
    importable = True

    def create(self, planned: State) -> State:
        self.client("iam").attach_role_policy(RoleName=planned["role"], PolicyArn=planned["policy_arn"])
        planned["id"] = f"{planned['role']}/{planned['policy_arn']}"
        return planned

    def read(self, current: State) -> State | None:
        role, _, arn = str(current["id"]).partition("/")
        iam = self.client("iam")
        attached = found(
            lambda: iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"], "NoSuchEntity"
        )
        if attached is None or not any(p["PolicyArn"] == arn for p in attached):
            return None
        return {**current, "role": role, "policy_arn": arn}

    def update(self, prior: State, planned: State) -> State:
        return planned  # every argument forces a new attachment

    def delete(self, prior: State) -> None:
        with ignoring("NoSuchEntity"):
            self.client("iam").detach_role_policy(RoleName=prior["role"], PolicyArn=prior["policy_arn"])

    def import_state(self, import_id: str) -> State:
        _, sep, arn = import_id.partition("/")
        if not sep or not arn.startswith("arn:"):
            raise ResourceError(f"unexpected format of ID ({import_id}), expected ROLE-NAME/POLICY-ARN")
        return {"id": import_id}
