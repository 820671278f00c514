"""DynamoDB: ``aws_dynamodb_table`` (id and import ID: the table name).

Supported: keys and attribute definitions, billing mode and capacity, TTL, point-in-time recovery,
server-side encryption, streams, table class, deletion protection, tags, and secondary indexes given at
creation. Replicas, table import and restore are refused with a clear error; changing the set of global
secondary indexes of an existing table is refused too (the local cloud cannot do it in place).
"""

from __future__ import annotations

from typing import Any

from selfheal.terraform.aws_resources import register
from selfheal.terraform.aws_resources._common import add_tags, is_set, tagging
from selfheal.terraform.aws_resources._regional import RegionalResource
from selfheal.terraform.resource import ResourceError, State, Unknown, is_unknown

__all__ = ["DynamoDbTable"]

_UNSUPPORTED = ("replica", "import_table", "restore_source_name", "restore_source_table_arn",
                "restore_date_time", "restore_to_latest_time", "global_table_witness")  # fmt: skip


def _projection(index: State) -> dict[str, Any]:
    out: dict[str, Any] = {"ProjectionType": index["projection_type"]}
    if index.get("non_key_attributes"):
        out["NonKeyAttributes"] = list(index["non_key_attributes"])
    return out


def _keys(hash_key: str, range_key: Any) -> list[dict[str, str]]:
    keys = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    if range_key:
        keys.append({"AttributeName": range_key, "KeyType": "RANGE"})
    return keys


def _key_names(schema: list[dict[str, str]]) -> tuple[str | None, str | None]:
    hash_key = next((k["AttributeName"] for k in schema if k["KeyType"] == "HASH"), None)
    range_key = next((k["AttributeName"] for k in schema if k["KeyType"] == "RANGE"), None)
    return hash_key, range_key


@register
class DynamoDbTable(RegionalResource):
    """A DynamoDB table (id: its name)."""

    type_name = "aws_dynamodb_table"
    optional_computed = frozenset(
        {"billing_mode", "hash_key", "range_key", "read_capacity", "write_capacity", "stream_view_type",
         "table_class", "deletion_protection_enabled", "stream_enabled",
         "point_in_time_recovery.recovery_period_in_days", "server_side_encryption.kms_key_arn"}
        | RegionalResource.TAGS_ALL | RegionalResource.REGION
    )  # fmt: skip
    defaults = {"billing_mode": "PROVISIONED", "deletion_protection_enabled": False, "stream_enabled": False,
                "table_class": "STANDARD"}  # fmt: skip
    force_new = frozenset({"name", "hash_key", "range_key", "local_secondary_index"})
    importable = True

    def validate(self, config: State) -> None:
        super().validate(config)
        for name in _UNSUPPORTED:
            value = config.get(name)
            if value not in (None, [], False):
                raise ResourceError(f"{name} is not supported by the local cloud", attribute=name)
        mode = config.get("billing_mode")
        if is_set(mode) and mode not in ("PROVISIONED", "PAY_PER_REQUEST"):
            raise ResourceError(f'expected billing_mode to be PROVISIONED or PAY_PER_REQUEST, got {mode}',
                                attribute="billing_mode")  # fmt: skip
        if mode == "PAY_PER_REQUEST":
            for name in ("read_capacity", "write_capacity"):
                if is_set(config.get(name)) and config[name] != 0:
                    raise ResourceError(f"{name} can not be set when billing_mode is \"PAY_PER_REQUEST\"",
                                        attribute=name)  # fmt: skip
        elif is_set(mode) or mode is None:
            for name in ("read_capacity", "write_capacity"):
                if config.get(name) is None and not config.get("global_secondary_index"):
                    raise ResourceError(
                        f'"{name}" must be set when billing_mode is "PROVISIONED"', attribute=name
                    )
        attrs = config.get("attribute") or []
        if is_set(config.get("hash_key")) and attrs and not is_unknown(attrs):
            names = {a.get("name") for a in attrs}
            for key in ("hash_key", "range_key"):
                if is_set(config.get(key)) and config[key] not in names:
                    raise ResourceError(f"all attributes must be indexed. Unused attributes: {key} "
                                        f"{config[key]!r} has no attribute block", attribute=key)  # fmt: skip
        if config.get("hash_key") is None and not is_unknown(config.get("hash_key")):
            raise ResourceError('"hash_key" is required', attribute="hash_key")

    def plan(self, prior: State | None, planned: State, config: State) -> State:
        if planned.get("billing_mode") == "PAY_PER_REQUEST":
            for name in ("read_capacity", "write_capacity"):
                if config.get(name) is None:
                    planned[name] = 0
        if config.get("range_key") is None and not is_unknown(config.get("range_key")):
            planned["range_key"] = None  # a table with a hash key only: nothing to compute
        if prior is None:
            planned["stream_arn"] = Unknown if planned.get("stream_enabled") else None
            planned["stream_label"] = Unknown if planned.get("stream_enabled") else None
        elif planned.get("stream_enabled") != prior.get("stream_enabled") or (
            planned.get("stream_view_type") != prior.get("stream_view_type")
        ):
            planned["stream_arn"] = Unknown
            planned["stream_label"] = Unknown
        return super().plan(prior, planned, config)

    def create(self, planned: State) -> State:
        ddb = self.client("dynamodb")
        args: dict[str, Any] = {
            "TableName": planned["name"],
            "KeySchema": _keys(planned["hash_key"], planned.get("range_key")),
            "AttributeDefinitions": [
                {"AttributeName": a["name"], "AttributeType": a["type"]}
                for a in planned.get("attribute") or []
            ],
            "BillingMode": planned["billing_mode"],
            "DeletionProtectionEnabled": bool(planned.get("deletion_protection_enabled")),
        }
        if planned["billing_mode"] == "PROVISIONED":
            args["ProvisionedThroughput"] = {
                "ReadCapacityUnits": int(planned.get("read_capacity") or 0),
                "WriteCapacityUnits": int(planned.get("write_capacity") or 0),
            }
        if is_set(planned.get("table_class")):
            args["TableClass"] = planned["table_class"]
        if planned.get("stream_enabled"):
            args["StreamSpecification"] = {
                "StreamEnabled": True,
                "StreamViewType": planned["stream_view_type"],
            }
        sse = (planned.get("server_side_encryption") or [None])[0]
        if sse and sse.get("enabled"):
            args["SSESpecification"] = {"Enabled": True, "SSEType": "KMS"}
            if is_set(sse.get("kms_key_arn")):
                args["SSESpecification"]["KMSMasterKeyId"] = sse["kms_key_arn"]
        if planned.get("local_secondary_index"):
            args["LocalSecondaryIndexes"] = [
                {"IndexName": i["name"], "KeySchema": _keys(planned["hash_key"], i["range_key"]),
                 "Projection": _projection(i)}
                for i in planned["local_secondary_index"]
            ]  # fmt: skip
        if planned.get("global_secondary_index"):
            args["GlobalSecondaryIndexes"] = [
                self._gsi(i, planned) for i in planned["global_secondary_index"]
            ]
        add_tags(args, self.all_tags(planned))
        ddb.create_table(**args)
        name = planned["name"]
        planned["id"] = name
        ttl = (planned.get("ttl") or [None])[0]
        if ttl and ttl.get("enabled"):
            ddb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["attribute_name"]},
            )
        self._set_pitr(name, planned)
        return self.read(planned) or planned

    @staticmethod
    def _gsi(index: State, planned: State) -> dict[str, Any]:
        out: dict[str, Any] = {
            "IndexName": index["name"],
            "KeySchema": _keys(index["hash_key"], index.get("range_key")),
            "Projection": _projection(index),
        }
        if planned["billing_mode"] == "PROVISIONED":
            out["ProvisionedThroughput"] = {
                "ReadCapacityUnits": int(index.get("read_capacity") or 0),
                "WriteCapacityUnits": int(index.get("write_capacity") or 0),
            }
        return out

    def _set_pitr(self, name: str, planned: State) -> None:
        pitr = (planned.get("point_in_time_recovery") or [None])[0]
        if pitr is None:
            return
        spec: dict[str, Any] = {"PointInTimeRecoveryEnabled": bool(pitr.get("enabled"))}
        if pitr.get("enabled") and is_set(pitr.get("recovery_period_in_days")):
            spec["RecoveryPeriodInDays"] = int(pitr["recovery_period_in_days"])
        self.client("dynamodb").update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification=spec
        )

    def read(self, current: State) -> State | None:
        ddb = self.client("dynamodb")
        table = self.found(lambda: ddb.describe_table(TableName=current["id"])["Table"])
        if table is None:
            return None
        name = table["TableName"]
        ttl = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        backups = ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
        tags = {
            t["Key"]: t["Value"]
            for t in ddb.list_tags_of_resource(ResourceArn=table["TableArn"]).get("Tags", [])
        }
        hash_key, range_key = _key_names(table["KeySchema"])
        mode = (table.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED")
        throughput = table.get("ProvisionedThroughput") or {}
        stream = table.get("StreamSpecification") or {}
        sse = table.get("SSEDescription") or {}
        pitr = backups.get("PointInTimeRecoveryDescription") or {}
        pitr_on = pitr.get("PointInTimeRecoveryStatus") == "ENABLED"
        ttl_on = ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING")
        cur_ttl = current.get("ttl") or []
        cur_pitr = current.get("point_in_time_recovery") or []
        cur_sse = current.get("server_side_encryption") or []
        state: State = {
            **current,
            "id": name,
            "name": name,
            "arn": table["TableArn"],
            "hash_key": hash_key,
            "range_key": range_key,
            "billing_mode": mode,
            "read_capacity": throughput.get("ReadCapacityUnits", 0),
            "write_capacity": throughput.get("WriteCapacityUnits", 0),
            "attribute": [
                {"name": a["AttributeName"], "type": a["AttributeType"]}
                for a in table["AttributeDefinitions"]
            ],
            "stream_enabled": bool(stream.get("StreamEnabled", False)),
            "stream_view_type": stream.get("StreamViewType") if stream.get("StreamEnabled") else None,
            "stream_arn": table.get("LatestStreamArn"),
            "stream_label": table.get("LatestStreamLabel"),
            "table_class": (table.get("TableClassSummary") or {}).get("TableClass", "STANDARD"),
            "deletion_protection_enabled": bool(table.get("DeletionProtectionEnabled", False)),
            # Blocks left out while AWS holds the service default stay left out, as in the real provider.
            "ttl": (
                [{"attribute_name": ttl.get("AttributeName"), "enabled": ttl_on}]
                if ttl_on or cur_ttl else []
            ),
            "point_in_time_recovery": (
                [{"enabled": pitr_on, "recovery_period_in_days": pitr.get("RecoveryPeriodInDays")
                  or (cur_pitr[0].get("recovery_period_in_days") if cur_pitr else None)}]
                if pitr_on or cur_pitr else []
            ),
            "server_side_encryption": (
                [{"enabled": sse.get("Status") == "ENABLED", "kms_key_arn": sse.get("KMSMasterKeyArn")}]
                if sse.get("Status") == "ENABLED" or cur_sse else []
            ),
            "local_secondary_index": [
                {"name": i["IndexName"], "range_key": _key_names(i["KeySchema"])[1],
                 "projection_type": i["Projection"]["ProjectionType"],
                 "non_key_attributes": i["Projection"].get("NonKeyAttributes")}
                for i in table.get("LocalSecondaryIndexes") or []
            ],
            "global_secondary_index": [
                self._flatten_gsi(i, current) for i in table.get("GlobalSecondaryIndexes") or []
            ],
            "region": self.region_of(current),
            **self.tags_state(tags, current),
        }  # fmt: skip
        if cur_ttl and not ttl_on and not cur_ttl[0].get("attribute_name"):
            state["ttl"] = [{"attribute_name": cur_ttl[0].get("attribute_name"), "enabled": False}]
        return state

    @staticmethod
    def _flatten_gsi(index: dict[str, Any], current: State) -> State:
        hash_key, range_key = _key_names(index["KeySchema"])
        throughput = index.get("ProvisionedThroughput") or {}
        cur: State = next(
            (g for g in current.get("global_secondary_index") or [] if g.get("name") == index["IndexName"]),
            {},
        )
        return {
            "name": index["IndexName"],
            "hash_key": hash_key,
            "range_key": range_key,
            "projection_type": index["Projection"]["ProjectionType"],
            "non_key_attributes": sorted(index["Projection"].get("NonKeyAttributes") or []) or None,
            "read_capacity": throughput.get("ReadCapacityUnits") or cur.get("read_capacity"),
            "write_capacity": throughput.get("WriteCapacityUnits") or cur.get("write_capacity"),
            "on_demand_throughput": cur.get("on_demand_throughput") or [],
            "warm_throughput": cur.get("warm_throughput") or [],
        }

    def update(self, prior: State, planned: State) -> State:
        ddb = self.client("dynamodb")
        name = prior["id"]
        old_gsi = sorted(g["name"] for g in prior.get("global_secondary_index") or [])
        new_gsi = sorted(g["name"] for g in planned.get("global_secondary_index") or [])
        if old_gsi != new_gsi:
            raise ResourceError("the local cloud cannot change global secondary indexes in place",
                                attribute="global_secondary_index")  # fmt: skip
        args: dict[str, Any] = {}
        if planned["billing_mode"] != prior["billing_mode"] or (
            planned["billing_mode"] == "PROVISIONED"
            and (planned.get("read_capacity"), planned.get("write_capacity"))
            != (prior.get("read_capacity"), prior.get("write_capacity"))
        ):
            args["BillingMode"] = planned["billing_mode"]
            if planned["billing_mode"] == "PROVISIONED":
                args["ProvisionedThroughput"] = {
                    "ReadCapacityUnits": int(planned.get("read_capacity") or 0),
                    "WriteCapacityUnits": int(planned.get("write_capacity") or 0),
                }
        if planned.get("attribute") != prior.get("attribute"):
            args["AttributeDefinitions"] = [
                {"AttributeName": a["name"], "AttributeType": a["type"]}
                for a in planned.get("attribute") or []
            ]
        if planned.get("deletion_protection_enabled") != prior.get("deletion_protection_enabled"):
            args["DeletionProtectionEnabled"] = bool(planned.get("deletion_protection_enabled"))
        if planned.get("table_class") != prior.get("table_class") and is_set(planned.get("table_class")):
            args["TableClass"] = planned["table_class"]
        if (planned.get("stream_enabled"), planned.get("stream_view_type")) != (
            prior.get("stream_enabled"),
            prior.get("stream_view_type"),
        ):
            spec: dict[str, Any] = {"StreamEnabled": bool(planned.get("stream_enabled"))}
            if planned.get("stream_enabled"):
                spec["StreamViewType"] = planned["stream_view_type"]
            args["StreamSpecification"] = spec
        old_sse = (prior.get("server_side_encryption") or [{}])[0]
        new_sse = (planned.get("server_side_encryption") or [{}])[0]
        if bool(old_sse.get("enabled")) != bool(new_sse.get("enabled")) or (
            new_sse.get("enabled") and is_set(new_sse.get("kms_key_arn"))
            and new_sse.get("kms_key_arn") != old_sse.get("kms_key_arn")
        ):  # fmt: skip
            sse_spec: dict[str, Any] = {"Enabled": bool(new_sse.get("enabled"))}
            if new_sse.get("enabled"):
                sse_spec["SSEType"] = "KMS"
                if is_set(new_sse.get("kms_key_arn")):
                    sse_spec["KMSMasterKeyId"] = new_sse["kms_key_arn"]
            args["SSESpecification"] = sse_spec
        if args:
            ddb.update_table(TableName=name, **args)
        old_ttl = (prior.get("ttl") or [{}])[0]
        new_ttl = (planned.get("ttl") or [{}])[0]
        if (bool(old_ttl.get("enabled")), old_ttl.get("attribute_name")) != (
            bool(new_ttl.get("enabled")),
            new_ttl.get("attribute_name"),
        ):
            if new_ttl.get("enabled"):
                ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={
                    "Enabled": True, "AttributeName": new_ttl["attribute_name"]})  # fmt: skip
            elif old_ttl.get("enabled"):
                ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={
                    "Enabled": False, "AttributeName": old_ttl["attribute_name"]})  # fmt: skip
        if planned.get("point_in_time_recovery") != prior.get("point_in_time_recovery"):
            if planned.get("point_in_time_recovery"):
                self._set_pitr(name, planned)
            else:
                ddb.update_continuous_backups(
                    TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False}
                )
        arn = prior["arn"]
        self.retag(prior, planned, *tagging(ddb.untag_resource, ddb.tag_resource, ResourceArn=arn))
        return self.read(planned) or planned

    def delete(self, prior: State) -> None:
        with self.ignoring_gone():
            self.client("dynamodb").delete_table(TableName=prior["id"])
