"""The local ``hashicorp/aws`` provider: its configuration and the base class of its resources.

It talks to the local cloud at ``SELFHEAL_ENDPOINT`` (or ``AWS_ENDPOINT_URL``) with test credentials.
The ``provider "aws"`` block accepts the real provider's usual arguments; only ``region`` and
``default_tags`` matter here, the rest (credentials, ``skip_*``, ``endpoints``) are accepted and ignored.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Literal

from selfheal.terraform.aws_resources import DATA_SOURCES, RESOURCES, load_all
from selfheal.terraform.resource import DataSource, Provider, Resource, ResourceError, State, Unknown
from selfheal.terraform.schema import Attr, BlockSchema, BlockType, build_schema, reference

__all__ = ["AwsDataSource", "AwsProvider", "AwsResource", "main"]

_SERVICES = (
    "apigatewayv2", "cloudwatch", "dynamodb", "events", "iam", "kms", "lambda", "logs", "s3",
    "scheduler", "sns", "sqs", "ssm", "sts",
)  # fmt: skip


def _config_schema() -> BlockSchema:
    def opt(name: str, t: Any = "string", sensitive: bool = False) -> Attr:
        return Attr(name, t, optional=True, sensitive=sensitive)

    strings = ("region", "profile", "skip_metadata_api_check", "sts_region", "custom_ca_bundle")
    bools = (
        "skip_credentials_validation", "skip_requesting_account_id", "skip_region_validation",
        "s3_use_path_style", "insecure", "use_fips_endpoint", "use_dualstack_endpoint",
    )  # fmt: skip
    attrs = {n: opt(n) for n in strings}
    attrs.update({n: opt(n, "bool") for n in bools})
    attrs.update({n: opt(n, sensitive=True) for n in ("access_key", "secret_key", "token")})
    attrs["max_retries"] = opt("max_retries", "number")
    for n in ("shared_config_files", "shared_credentials_files"):
        attrs[n] = opt(n, ["list", "string"])
    for n in ("allowed_account_ids", "forbidden_account_ids"):
        attrs[n] = opt(n, ["set", "string"])
    blocks = {
        "default_tags": BlockType(
            "default_tags", "list", BlockSchema({"tags": opt("tags", ["map", "string"])}), max_items=1
        ),
        "ignore_tags": BlockType(
            "ignore_tags",
            "list",
            BlockSchema({n: opt(n, ["set", "string"]) for n in ("keys", "key_prefixes")}),
            max_items=1,
        ),
        "endpoints": BlockType("endpoints", "set", BlockSchema({s: opt(s) for s in _SERVICES})),
    }
    return BlockSchema(attrs, blocks)


class AwsProvider(Provider):
    """The local AWS provider: region, default tags and a thread-safe cache of boto3 clients."""

    address = "registry.terraform.io/hashicorp/aws"

    def __init__(self) -> None:
        self.region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        self.default_tags: dict[str, str] = {}
        self.endpoint = os.environ.get("SELFHEAL_ENDPOINT") or os.environ.get("AWS_ENDPOINT_URL") or ""
        self._clients: dict[str, Any] = {}
        self._account_id: str | None = None
        # Terraform applies in parallel and boto3 client creation is not thread-safe.
        self._lock = threading.Lock()

    def config_schema(self) -> BlockSchema:
        return _config_schema()

    def configure(self, config: State) -> None:
        if config.get("region"):
            self.region = str(config["region"])
        tags_blocks = config.get("default_tags") or []
        self.default_tags = dict((tags_blocks[0].get("tags") if tags_blocks else None) or {})
        if not self.endpoint:
            raise ResourceError(
                "no local cloud endpoint",
                "Set SELFHEAL_ENDPOINT (or AWS_ENDPOINT_URL) to the local cloud's URL; selfheal's "
                "Terraform driver does this for you.",
            )

    def resources(self) -> Mapping[str, type[Resource]]:
        load_all()
        return RESOURCES

    def data_sources(self) -> Mapping[str, type[DataSource]]:
        load_all()
        return DATA_SOURCES

    def unserved(self, kind: Literal["resources", "data_sources"]) -> Mapping[str, BlockSchema]:
        served = self.resources() if kind == "resources" else self.data_sources()
        return {t: build_schema(kind, t) for t in reference()[kind] if t not in served}

    def client(self, service: str) -> Any:
        """A boto3 client for ``service`` at the local cloud endpoint (created once, under a lock)."""
        with self._lock:
            if service not in self._clients:
                import boto3  # lazily: it costs a quarter second per provider launch
                from botocore.config import Config

                # Signed with the keys Terraform's environment holds (the driver sets the local cloud's
                # operator key there); no well-known key is guessed.
                self._clients[service] = boto3.session.Session().client(
                    service,  # type: ignore[call-overload]
                    region_name=self.region,
                    endpoint_url=self.endpoint,
                    config=Config(retries={"max_attempts": 3, "mode": "standard"}),
                )
            return self._clients[service]

    @property
    def account_id(self) -> str:
        """The local cloud's account id, asked once from STS."""
        if self._account_id is None:
            self._account_id = str(self.client("sts").get_caller_identity()["Account"])
        return self._account_id

    @property
    def partition(self) -> str:
        return "aws"


class _AwsTyped:
    provider: Provider

    @property
    def aws(self) -> AwsProvider:
        """The configured AWS provider."""
        assert isinstance(self.provider, AwsProvider)
        return self.provider

    def client(self, service: str) -> Any:
        """A boto3 client for ``service`` at the local cloud."""
        return self.aws.client(service)


class AwsResource(_AwsTyped, Resource):
    """Base of the local AWS provider's resources: tags and ``tags_all`` handled like the real provider."""

    #: ``optional_computed`` every tagged resource needs.
    TAGS_ALL: ClassVar[frozenset[str]] = frozenset({"tags_all"})

    def plan(self, prior: State | None, planned: State, config: State) -> State:
        if "tags_all" in planned:
            tags = planned.get("tags")
            planned["tags_all"] = Unknown if tags is Unknown else {**self.aws.default_tags, **(tags or {})}
        return planned

    def tags_state(self, actual: Mapping[str, str], current: State) -> State:
        """``tags``/``tags_all`` for a read: default tags are not the resource's own unless set on it too."""
        own = dict(current.get("tags") or {})
        tags = {
            k: v
            for k, v in actual.items()
            if k not in self.aws.default_tags or k in own or self.aws.default_tags[k] != v
        }
        return {"tags": tags or (None if current.get("tags") is None else {}), "tags_all": dict(actual)}

    def all_tags(self, planned: State) -> dict[str, str]:
        """The tags to put on the resource: default tags with the resource's own on top."""
        return {**self.aws.default_tags, **(planned.get("tags") or {})}

    def retag(
        self,
        prior: State,
        planned: State,
        untag: Callable[[list[str]], object],
        tag: Callable[[dict[str, str]], object],
    ) -> None:
        """Bring the resource's tags from ``prior``'s to ``planned``'s (:meth:`all_tags`).

        ``untag(keys)`` removes the keys no longer wanted; ``tag(tags)`` puts every wanted tag, called only
        when some tag is new or changed.
        """
        old, new = prior.get("tags_all") or {}, self.all_tags(planned)
        if gone := [k for k in old if k not in new]:
            untag(gone)
        if new and new != old:
            tag(new)


class AwsDataSource(_AwsTyped, DataSource):
    """Base of the local AWS provider's data sources."""


def main() -> None:
    """Entry point of the ``terraform-provider-aws`` executable."""
    from selfheal.terraform.serve import serve

    serve(AwsProvider())


if __name__ == "__main__":
    main()
