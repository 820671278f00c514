"""SSM Parameter Store: ``aws_ssm_parameter`` (id: the parameter's name) and its data source.

The resource follows the real provider's ``internal/service/ssm/parameter.go``: ``overwrite`` left out means
``false`` on create and ``true`` afterwards; tags go with ``PutParameter`` only when it does not overwrite
(SSM refuses both at once), else through ``AddTagsToResource``; ``value`` is read back decrypted, so
``lifecycle { ignore_changes = [value] }`` keeps an operator's later ``put-parameter --overwrite``.
Write-only arguments (``value_wo``) need protocol support the local provider lacks: they are refused.
"""

from __future__ import annotations

from typing import Any

from selfheal.terraform.aws_provider import AwsDataSource
from selfheal.terraform.aws_resources import register
from selfheal.terraform.aws_resources._common import error_code, tag_list, tagging
from selfheal.terraform.aws_resources._regional import RegionalResource, check_one_of, empty_as
from selfheal.terraform.resource import ResourceError, State, Unknown, is_unknown

__all__ = ["SsmParameter", "SsmParameterData"]

_TYPES = ("String", "StringList", "SecureString")
_TIERS = ("Standard", "Advanced", "Intelligent-Tiering")
_DATA_TYPES = ("aws:ec2:image", "aws:ssm:integration", "text")
_VALUES = ("insecure_value", "value", "value_wo")
#: Arguments whose change needs a new PutParameter (hence a new version); tags and overwrite do not.
_PUT_FIELDS = (
    "type", "value", "insecure_value", "description", "allowed_pattern", "key_id", "tier", "data_type",
)  # fmt: skip


def _set(value: Any) -> bool:
    """True for a known, non-empty value (the SDK's ``GetOk``)."""
    return value is not None and value != "" and not is_unknown(value)


def _tagged(name: str) -> dict[str, Any]:
    """The arguments naming a parameter to SSM's tagging calls."""
    return {"ResourceType": "Parameter", "ResourceId": name}


@register
class SsmParameter(RegionalResource):
    """A parameter (id: its name)."""

    type_name = "aws_ssm_parameter"
    optional_computed = frozenset(
        {"arn", "data_type", "insecure_value", "key_id", "tier", "value"}
        | RegionalResource.TAGS_ALL
        | RegionalResource.REGION
    )
    attribute_types = {"version": "number", "has_value_wo": "bool"}
    sensitive = frozenset({"value", "value_wo"})
    force_new = frozenset({"name", "data_type", "region"})
    importable = True
    not_found_codes = frozenset({"ParameterNotFound"})

    def validate(self, config: State) -> None:
        super().validate(config)
        check_one_of(config, "type", _TYPES)
        check_one_of(config, "tier", _TIERS)
        check_one_of(config, "data_type", _DATA_TYPES)
        if config.get("value_wo") is not None or config.get("value_wo_version") is not None:
            raise ResourceError(
                "write-only arguments are not supported by the selfheal local provider",
                "Use value (sensitive) or insecure_value instead of value_wo.",
                "value_wo",
            )
        given = [name for name in _VALUES if config.get(name) is not None]
        if not given:
            raise ResourceError(f'"value": one of `{",".join(_VALUES)}` must be specified', attribute="value")
        if len(given) > 1:
            raise ResourceError(
                f'"{given[0]}": only one of `{",".join(_VALUES)}` can be specified, '
                f"but `{','.join(given)}` were specified.",
                attribute=given[0],
            )
        if config.get("type") == "SecureString" and _set(config.get("insecure_value")):
            raise ResourceError(
                "invalid configuration, cannot set type = SecureString and insecure_value",
                attribute="insecure_value",
            )
        name = config.get("name")
        if isinstance(name, str) and not is_unknown(name) and not 1 <= len(name) <= 2048:
            raise ResourceError(
                f"expected length of name to be in the range (1 - 2048), got {name}", attribute="name"
            )

    def plan(self, prior: State | None, planned: State, config: State) -> State:
        planned = super().plan(prior, planned, config)
        # Exactly one of value/insecure_value is configured; the other one stays null (not "known after
        # apply"), so a SecureString's plaintext never lands in the non-sensitive insecure_value.
        for name in ("value", "insecure_value"):
            if config.get(name) is None:
                planned[name] = None
        if prior is None:
            return planned
        if config.get("key_id") is None and planned.get("type") != prior.get("type"):
            planned["key_id"] = Unknown  # SecureString gets the default key, other types none
        # The real provider's DiffSuppressFunc: Intelligent-Tiering picks a tier, so any existing one holds.
        if config.get("tier") == "Intelligent-Tiering" and prior.get("tier"):
            planned["tier"] = prior["tier"]
        if prior.get("tier") == "Advanced" and planned.get("tier") == "Standard":
            # SSM cannot downgrade a parameter; the real provider replaces it, which this one does not do.
            raise ResourceError(
                "tier cannot go from Advanced to Standard in place",
                "SSM cannot downgrade an advanced parameter: delete it (or rename it) and create it again.",
                "tier",
            )
        if any(prior.get(k) != planned.get(k) for k in _PUT_FIELDS):
            planned["version"] = Unknown
        return planned

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _value(planned: State) -> str:
        insecure = planned.get("insecure_value")
        return str(insecure) if _set(insecure) else str(planned.get("value") or "")

    def _put(self, planned: State, overwrite: bool, prior: State | None = None) -> dict[str, Any]:
        def changed(name: str) -> bool:
            return prior is None or prior.get(name) != planned.get(name)

        args: dict[str, Any] = {
            "Name": planned["name"],
            "Type": planned["type"],
            "Value": self._value(planned),
            "Overwrite": overwrite,
        }
        if _set(planned.get("allowed_pattern")):
            args["AllowedPattern"] = planned["allowed_pattern"]
        if _set(planned.get("data_type")) and changed("data_type"):
            args["DataType"] = planned["data_type"]
        if changed("description") and (prior is not None or _set(planned.get("description"))):
            args["Description"] = planned.get("description") or ""
        if planned["type"] == "SecureString" and _set(planned.get("key_id")) and changed("key_id"):
            args["KeyId"] = planned["key_id"]
        if _set(planned.get("tier")):
            args["Tier"] = planned["tier"]
        return args

    # ------------------------------------------------------------------ CRUD

    def create(self, planned: State) -> State:
        ssm = self.client("ssm")
        overwrite = bool(planned.get("overwrite"))
        args = self._put(planned, overwrite)
        tags = self.all_tags(planned)
        if tags and not overwrite:
            args["Tags"] = tag_list(tags)
        ssm.put_parameter(**args)
        if tags and overwrite:  # SSM takes no tags with Overwrite
            ssm.add_tags_to_resource(**_tagged(planned["name"]), Tags=tag_list(tags))
        planned["id"] = planned["name"]
        return self.read(planned) or planned

    def read(self, current: State) -> State | None:
        ssm = self.client("ssm")
        try:
            param = ssm.get_parameter(Name=current["id"], WithDecryption=True)["Parameter"]
        except Exception as exc:
            if self.gone(exc):
                return None
            raise
        name = param["Name"]
        found = ssm.describe_parameters(
            ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": [name]}]
        )["Parameters"]
        if not found:
            return None
        meta = found[0]
        tags = ssm.list_tags_for_resource(**_tagged(name))["TagList"]
        state: State = {
            **current,
            "id": name,
            "name": name,
            "arn": param["ARN"],
            "type": param["Type"],
            "version": int(param["Version"]),
            "description": empty_as(meta.get("Description"), current.get("description")),
            "allowed_pattern": empty_as(meta.get("AllowedPattern"), current.get("allowed_pattern")),
            "data_type": meta.get("DataType") or param.get("DataType") or "text",
            "key_id": meta.get("KeyId"),
            "tier": meta.get("Tier") or "Standard",
            "has_value_wo": False,
            "region": self.region_of(current),
            **self.tags_state({t["Key"]: t["Value"] for t in tags}, current),
        }
        if _set(current.get("insecure_value")) and param["Type"] != "SecureString":
            state["insecure_value"], state["value"] = param["Value"], None
        else:
            state["value"] = param["Value"]
        return state

    def update(self, prior: State, planned: State) -> State:
        ssm = self.client("ssm")
        if any(prior.get(k) != planned.get(k) for k in _PUT_FIELDS):
            overwrite = planned.get("overwrite")
            ssm.put_parameter(**self._put(planned, True if overwrite is None else bool(overwrite), prior))
        name = prior["name"]
        self.retag(
            prior, planned, *tagging(ssm.remove_tags_from_resource, ssm.add_tags_to_resource, **_tagged(name))
        )
        return self.read(planned) or planned

    def delete(self, prior: State) -> None:
        with self.ignoring_gone():
            self.client("ssm").delete_parameter(Name=prior.get("name") or prior["id"])


@register
class SsmParameterData(AwsDataSource):
    """A parameter's current value and version (decrypted unless ``with_decryption = false``)."""

    type_name = "aws_ssm_parameter"
    optional_computed = frozenset({"region"})
    attribute_types = {"version": "number"}
    sensitive = frozenset({"value"})

    def read(self, config: State) -> State:
        decrypt = config.get("with_decryption")
        try:
            param = self.client("ssm").get_parameter(
                Name=config["name"], WithDecryption=True if decrypt is None else bool(decrypt)
            )["Parameter"]
        except Exception as exc:
            if error_code(exc) == "ParameterNotFound":
                raise ResourceError(
                    f"reading SSM Parameter ({config['name']}): couldn't find resource", attribute="name"
                ) from None
            raise
        return {
            **config,
            "id": param["Name"],
            "name": param["Name"],
            "arn": param["ARN"],
            "type": param["Type"],
            "version": int(param["Version"]),
            "value": param["Value"],
            "insecure_value": None if param["Type"] == "SecureString" else param["Value"],
            "region": config.get("region") or self.aws.region,
        }
