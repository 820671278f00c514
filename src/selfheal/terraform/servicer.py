"""The tfplugin6 gRPC service of a local provider: schemas, planning, apply, read, import.

The ``tf`` package supplies the protocol (generated tfplugin6 stubs, the msgpack value codec, the
diagnostics, the go-plugin handshake). Its own servicer plans too naively for the real provider's
behaviour (no list-nested blocks, no defaults for computed arguments, no replacement from blocks,
no view of the configuration), so planning and apply are done here, generically, for every resource.
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Callable, Mapping
from copy import deepcopy
from typing import Any

import msgpack  # type: ignore[import-untyped]
from tf.gen import tfplugin_pb2 as pb
from tf.gen import tfplugin_pb2_grpc as rpc
from tf.utils import Diagnostics, to_dynamic_value

from selfheal.terraform.resource import (
    DataSource,
    Provider,
    Resource,
    ResourceError,
    State,
    Unknown,
    is_unknown,
)
from selfheal.terraform.schema import BlockSchema

__all__ = ["ProviderServicer", "block_to_pb", "read_dynamic_value", "values_equal"]

_NESTING = {
    "list": pb.Schema.NestedBlock.NestingMode.LIST,
    "set": pb.Schema.NestedBlock.NestingMode.SET,
    "single": pb.Schema.NestedBlock.NestingMode.SINGLE,
}


def _ext_hook(code: int, data: bytes) -> Any:
    # Terraform sends unknowns as extension 0, and "refined" unknowns (known prefix, not null, ...)
    # as extension 12 with the refinements as payload; both are simply unknown here.
    return Unknown


def read_dynamic_value(value: Any) -> Any:
    """Decode a tfplugin6 DynamicValue (msgpack or JSON) with every kind of unknown as ``Unknown``."""
    if value.msgpack:
        return msgpack.unpackb(value.msgpack, ext_hook=_ext_hook)
    if value.json:
        return json.loads(value.json)
    return None


def block_to_pb(block: BlockSchema) -> pb.Schema.Block:
    """Encode a block schema for GetProviderSchema."""
    return pb.Schema.Block(
        attributes=[
            pb.Schema.Attribute(
                name=a.name,
                type=json.dumps(a.type).encode(),
                required=a.required,
                optional=a.optional,
                computed=a.computed,
                sensitive=a.sensitive,
            )
            for a in block.attrs.values()
        ],
        block_types=[
            pb.Schema.NestedBlock(
                type_name=bt.name,
                block=block_to_pb(bt.block),
                nesting=_NESTING[bt.nesting],
                min_items=bt.min_items,
                max_items=bt.max_items,
            )
            for bt in block.blocks.values()
        ],
    )


def _canonical(value: Any) -> Any:
    if value is Unknown:
        return "\x00unknown"
    if isinstance(value, Mapping):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


def values_equal(a: Any, b: Any, *, unordered: bool = False) -> bool:
    """Compare two Terraform values; ``unordered`` for sets. Unknown equals only unknown."""
    ca, cb = _canonical(a), _canonical(b)
    if unordered and isinstance(ca, list) and isinstance(cb, list):
        key: Callable[[Any], str] = lambda v: json.dumps(v, sort_keys=True)  # noqa: E731
        return sorted(ca, key=key) == sorted(cb, key=key)
    return bool(ca == cb)


def _is_set(block: BlockSchema, name: str) -> bool:
    if name in block.attrs:
        t = block.attrs[name].type
        return isinstance(t, list) and t[0] == "set"
    return block.blocks[name].nesting == "set"


def _fill_computed(
    block: BlockSchema,
    config: Mapping[str, Any] | None,
    planned: dict[str, Any],
    creating: bool,
    defaults: Mapping[str, Any],
    prefix: str,
) -> None:
    """Plan the computed attributes the configuration leaves null: a default, the prior value, or unknown."""
    config = config or {}
    for name, attr in block.attrs.items():
        if not attr.computed or config.get(name) is not None:
            continue
        path = prefix + name
        if attr.optional and path in defaults:
            planned[name] = deepcopy(defaults[path])
        elif creating:
            planned[name] = Unknown
    for name, bt in block.blocks.items():
        items = planned.get(name)
        conf_items = config.get(name)
        if bt.nesting == "single":
            if isinstance(items, dict):
                _fill_computed(bt.block, conf_items, items, creating, defaults, prefix + name + ".")
        elif bt.nesting == "list" and isinstance(items, list):
            conf_list = conf_items if isinstance(conf_items, list) else []
            for i, item in enumerate(items):
                conf = conf_list[i] if i < len(conf_list) else None
                if isinstance(item, dict):
                    _fill_computed(bt.block, conf, item, creating, defaults, prefix + name + ".")


class ProviderServicer(rpc.ProviderServicer):  # type: ignore[misc]
    """Serves one :class:`Provider` over tfplugin6."""

    def __init__(self, provider: Provider) -> None:
        self.provider = provider
        self._resources = dict(provider.resources())
        self._data_sources = dict(provider.data_sources())
        self._unserved = {kind: dict(provider.unserved(kind)) for kind in ("resources", "data_sources")}

    # ---------------------------------------------------------------- helpers

    def _resource(self, type_name: str) -> Resource:
        try:
            cls = self._resources[type_name]
        except KeyError:
            raise _unsupported(type_name, "resource", self._resources) from None
        return cls(self.provider)

    def _data_source(self, type_name: str) -> DataSource:
        try:
            cls = self._data_sources[type_name]
        except KeyError:
            raise _unsupported(type_name, "data source", self._data_sources) from None
        return cls(self.provider)

    @staticmethod
    def _report(diags: Diagnostics, type_name: str, exc: BaseException) -> None:
        if isinstance(exc, ResourceError):
            path = exc.attribute.split(".") if exc.attribute else None
            where = f"{type_name}: " if type_name else ""
            diags.add_error(f"{where}{exc.summary}", exc.detail, path=path)
            return
        response = getattr(exc, "response", None)
        if isinstance(response, dict) and "Error" in response:
            err = response["Error"]
            diags.add_error(
                f"{type_name}: {err.get('Code', 'Error')}: {err.get('Message', '')}",
                f"The local cloud refused the request: {exc}",
            )
            return
        traceback.print_exc(file=sys.stderr)
        diags.add_error(
            f"{type_name}: {type(exc).__name__}: {exc}", "An unexpected error in the local provider."
        )

    # ---------------------------------------------------------------- metadata and schema

    def GetMetadata(self, request: Any, context: Any) -> Any:
        return pb.GetMetadata.Response(
            server_capabilities=pb.ServerCapabilities(plan_destroy=True),
            resources=[
                pb.GetMetadata.ResourceMetadata(type_name=t)
                for t in (*self._resources, *self._unserved["resources"])
            ],
            data_sources=[
                pb.GetMetadata.DataSourceMetadata(type_name=t)
                for t in (*self._data_sources, *self._unserved["data_sources"])
            ],
        )

    def GetProviderSchema(self, request: Any, context: Any) -> Any:
        return pb.GetProviderSchema.Response(
            provider=pb.Schema(version=0, block=block_to_pb(self.provider.config_schema())),
            provider_meta=pb.Schema(version=0, block=pb.Schema.Block()),
            resource_schemas=self._schemas(self._resources, self._unserved["resources"]),
            data_source_schemas=self._schemas(self._data_sources, self._unserved["data_sources"]),
            server_capabilities=pb.ServerCapabilities(plan_destroy=True),
        )

    @staticmethod
    def _schemas(
        served: Mapping[str, type[Resource] | type[DataSource]], unserved: Mapping[str, BlockSchema]
    ) -> dict[str, Any]:
        schemas = {t: pb.Schema(version=0, block=block_to_pb(b)) for t, b in unserved.items()}
        schemas.update({t: pb.Schema(version=0, block=block_to_pb(c.schema())) for t, c in served.items()})
        return schemas

    def ValidateProviderConfig(self, request: Any, context: Any) -> Any:
        return pb.ValidateProviderConfig.Response(diagnostics=[])

    def ConfigureProvider(self, request: Any, context: Any) -> Any:
        diags = Diagnostics()
        try:
            config = self.provider.config_schema().normalize(read_dynamic_value(request.config))
            self.provider.configure(config)
        except Exception as exc:
            self._report(diags, "provider", exc)
        return pb.ConfigureProvider.Response(diagnostics=diags.to_pb())

    def ValidateResourceConfig(self, request: Any, context: Any) -> Any:
        return pb.ValidateResourceConfig.Response(diagnostics=self._validate(self._resource, request))

    def ValidateDataResourceConfig(self, request: Any, context: Any) -> Any:
        return pb.ValidateDataResourceConfig.Response(diagnostics=self._validate(self._data_source, request))

    def _validate(self, lookup: Callable[[str], Resource | DataSource], request: Any) -> Any:
        """The diagnostics of checking ``request.config`` against its type's schema and ``validate``."""
        diags = Diagnostics()
        try:
            typed = lookup(request.type_name)
            typed.validate(typed.schema().normalize(read_dynamic_value(request.config)))
        except Exception as exc:
            self._report(diags, request.type_name, exc)
        return diags.to_pb()

    def UpgradeResourceState(self, request: Any, context: Any) -> Any:
        diags = Diagnostics()
        try:
            res = self._resource(request.type_name)
            raw = json.loads(request.raw_state.json) if request.raw_state.json else {}
            state = res.schema().normalize(raw)
            return pb.UpgradeResourceState.Response(upgraded_state=to_dynamic_value(state))
        except Exception as exc:
            self._report(diags, request.type_name, exc)
        return pb.UpgradeResourceState.Response(diagnostics=diags.to_pb())

    # ---------------------------------------------------------------- resources

    def ReadResource(self, request: Any, context: Any) -> Any:
        diags = Diagnostics()
        current = read_dynamic_value(request.current_state)
        try:
            res = self._resource(request.type_name)
            schema = res.schema()
            new = res.read(schema.normalize(current))
            new_state = None if new is None else schema.normalize(new)
            return pb.ReadResource.Response(new_state=to_dynamic_value(new_state), private=request.private)
        except Exception as exc:
            self._report(diags, request.type_name, exc)
        return pb.ReadResource.Response(
            new_state=request.current_state, private=request.private, diagnostics=diags.to_pb()
        )

    def PlanResourceChange(self, request: Any, context: Any) -> Any:
        diags = Diagnostics()
        try:
            res = self._resource(request.type_name)
            schema = res.schema()
            prior = read_dynamic_value(request.prior_state)
            proposed = read_dynamic_value(request.proposed_new_state)
            if proposed is None:  # destroy
                return pb.PlanResourceChange.Response(planned_state=to_dynamic_value(None))
            config = schema.normalize(read_dynamic_value(request.config))
            planned = schema.normalize(proposed)
            prior = None if prior is None else schema.normalize(prior)
            _fill_computed(schema, config, planned, prior is None, res.defaults, "")
            planned = res.plan(deepcopy(prior), planned, config)
            replace: list[Any] = []
            if prior is not None:
                changed = [
                    name
                    for name in (*schema.attrs, *schema.blocks)
                    if (name in schema.blocks or schema.attrs[name].optional or schema.attrs[name].required)
                    and not values_equal(prior[name], planned[name], unordered=_is_set(schema, name))
                ]
                if changed:
                    for name in res.unknown_on_update:
                        planned[name] = Unknown
                else:
                    planned = prior
                replace = [
                    pb.AttributePath(steps=[pb.AttributePath.Step(attribute_name=n)])
                    for n in changed
                    if n in res.force_new
                ]
            return pb.PlanResourceChange.Response(
                planned_state=to_dynamic_value(planned),
                requires_replace=replace,
                planned_private=request.prior_private,
            )
        except Exception as exc:
            self._report(diags, request.type_name, exc)
        return pb.PlanResourceChange.Response(diagnostics=diags.to_pb())

    def ApplyResourceChange(self, request: Any, context: Any) -> Any:
        diags = Diagnostics()
        prior = read_dynamic_value(request.prior_state)
        planned = read_dynamic_value(request.planned_state)
        try:
            res = self._resource(request.type_name)
            schema = res.schema()
            if planned is None:
                res.delete(schema.normalize(prior))
                return pb.ApplyResourceChange.Response(new_state=to_dynamic_value(None))
            planned = schema.normalize(planned)
            if prior is None:
                result = res.create(deepcopy(planned))
            else:
                result = res.update(schema.normalize(prior), deepcopy(planned))
            new_state = _settle(schema, planned, schema.normalize(result))
            return pb.ApplyResourceChange.Response(new_state=to_dynamic_value(new_state))
        except Exception as exc:
            self._report(diags, request.type_name, exc)
        # On a failed create nothing is recorded; on a failed update or delete the prior state stands.
        return pb.ApplyResourceChange.Response(new_state=request.prior_state, diagnostics=diags.to_pb())

    def ImportResourceState(self, request: Any, context: Any) -> Any:
        diags = Diagnostics()
        try:
            res = self._resource(request.type_name)
            if not res.importable:
                raise ResourceError(f"{request.type_name} does not support import")
            state = res.schema().normalize(res.import_state(request.id))
            return pb.ImportResourceState.Response(
                imported_resources=[
                    pb.ImportResourceState.ImportedResource(
                        type_name=request.type_name, state=to_dynamic_value(state)
                    )
                ]
            )
        except Exception as exc:
            self._report(diags, request.type_name, exc)
        return pb.ImportResourceState.Response(diagnostics=diags.to_pb())

    def MoveResourceState(self, request: Any, context: Any) -> Any:
        diags = Diagnostics().add_error("moving resource state is not supported by the selfheal provider")
        return pb.MoveResourceState.Response(diagnostics=diags.to_pb())

    # ---------------------------------------------------------------- data sources

    def ReadDataSource(self, request: Any, context: Any) -> Any:
        diags = Diagnostics()
        try:
            ds = self._data_source(request.type_name)
            schema = ds.schema()
            config = schema.normalize(read_dynamic_value(request.config))
            state = schema.normalize(ds.read(deepcopy(config)))
            return pb.ReadDataSource.Response(state=to_dynamic_value(state))
        except Exception as exc:
            self._report(diags, request.type_name, exc)
        return pb.ReadDataSource.Response(diagnostics=diags.to_pb())

    # ---------------------------------------------------------------- functions and shutdown

    def GetFunctions(self, request: Any, context: Any) -> Any:
        return pb.GetFunctions.Response()

    def StopProvider(self, request: Any, context: Any) -> Any:
        self.provider.stop()
        return pb.StopProvider.Response()


def _unsupported(type_name: str, kind: str, served: Mapping[str, object]) -> ResourceError:
    """The error for a type the local provider does not serve, listing the ones it does."""
    return ResourceError(
        "not supported by the selfheal local provider (its supported types are listed below)",
        f"The local cloud's {kind} types: {', '.join(sorted(served))}. The list is also in "
        "src/selfheal/terraform/README.md.",
    )


def _settle(schema: BlockSchema, planned: State, result: State) -> State:
    """The state after apply: every value the plan knew, and the resource's values for the unknown ones.

    Terraform rejects an apply whose result differs from a known planned value, so the plan's known
    values win; drift is the business of ``read``, not of apply.
    """
    out: State = {}
    for name in (*schema.attrs, *schema.blocks):
        value = planned.get(name)
        if is_unknown(value):
            value = result.get(name)
            if is_unknown(value):
                value = None
        out[name] = value
    return out
