"""Lambda: ``aws_lambda_function`` (its permissions and async settings are :mod:`.awslambda_invoke`'s).

Layers owned by another account (AWS-managed ones such as Powertools) cannot exist in the local cloud,
whose runtime provides their content itself: they are kept in Terraform state but not sent to it.
Creating a function waits until it is ``Active``, as the real provider does (:mod:`._lambda_states`).
Its code package (a zip file or an S3 object) is :mod:`.awslambda_code`'s.
"""

from __future__ import annotations

from typing import Any

from selfheal.terraform.aws_provider import AwsResource
from selfheal.terraform.aws_resources import register
from selfheal.terraform.aws_resources._common import error_code, ignoring, is_set, tagging
from selfheal.terraform.aws_resources._lambda_runtimes import check_runtime
from selfheal.terraform.aws_resources._lambda_states import wait_active
from selfheal.terraform.aws_resources._regional import check_range
from selfheal.terraform.aws_resources.awslambda_code import (
    CODE_FIELDS,
    check_code_source,
    code_changed,
    code_package,
    package_hash,
)
from selfheal.terraform.resource import State, Unknown

__all__ = ["LambdaFunction"]


def _one(block: Any) -> dict[str, Any] | None:
    """The item of a ``max_items = 1`` block, or None."""
    return block[0] if isinstance(block, list) and block else None


def _set_or(value: Any, default: Any) -> Any:
    """``value`` when it is set (not null, not still unknown at apply time), else ``default``."""
    return value if is_set(value) else default


#: Arguments whose change is an UpdateFunctionConfiguration (the real provider's needsFunctionConfigUpdate).
_CONFIG_FIELDS = (
    "description", "handler", "file_system_config", "image_config", "memory_size", "role", "timeout",
    "kms_key_arn", "layers", "dead_letter_config", "tracing_config", "vpc_config", "runtime",
    "environment", "ephemeral_storage", "logging_config", "snap_start",
)  # fmt: skip


def _changed(prior: State, planned: State, names: tuple[str, ...]) -> bool:
    return any(prior.get(n) != planned.get(n) for n in names)


def _layer_account(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 else ""


@register
class LambdaFunction(AwsResource):
    """A Lambda function deployed from a zip file or an S3 object (id: the function name)."""

    type_name = "aws_lambda_function"
    optional_computed = frozenset(
        {"architectures", "memory_size", "timeout", "package_type", "publish", "region"}
        | {"reserved_concurrent_executions", "source_code_hash", "skip_destroy"}
        | AwsResource.TAGS_ALL
    )
    defaults = {
        "memory_size": 128,
        "timeout": 3,
        "package_type": "Zip",
        "publish": False,
        "reserved_concurrent_executions": -1,
        "skip_destroy": False,
    }
    attribute_types = {"source_code_size": "number"}
    force_new = frozenset({"function_name", "package_type", "region"})
    unknown_on_update = frozenset({"last_modified"})
    importable = True

    def validate(self, config: State) -> None:
        check_runtime(config.get("runtime"))
        check_range(config, "memory_size", 128, 10240)
        check_range(config, "timeout", 1, 900)
        check_code_source(config)

    def plan(self, prior: State | None, planned: State, config: State) -> State:
        planned = super().plan(prior, planned, config)
        if config.get("region") is None:
            planned["region"] = self.aws.region
        if prior is None:
            return planned
        if code_changed(prior, planned):
            planned.update(code_sha256=Unknown, source_code_size=Unknown)
        # The real provider's updateComputedAttributesOnPublish: a new version when code or configuration
        # changes (or publish turns on), not for tags or reserved concurrency.
        if planned.get("publish") and (
            _changed(prior, planned, CODE_FIELDS + _CONFIG_FIELDS) or not prior.get("publish")
        ):
            planned.update(version=Unknown, qualified_arn=Unknown, qualified_invoke_arn=Unknown)
        return planned

    # ------------------------------------------------------------------ helpers

    def _local_layers(self, planned: State) -> list[str]:
        account = self.aws.account_id
        return [arn for arn in planned.get("layers") or [] if _layer_account(arn) == account]

    def _config_args(self, planned: State) -> dict[str, Any]:
        env = _one(planned.get("environment"))
        args: dict[str, Any] = {
            "Role": planned["role"],
            "Handler": planned.get("handler") or "",
            "Description": planned.get("description") or "",
            "Timeout": int(planned["timeout"]),
            "MemorySize": int(planned["memory_size"]),
            "Environment": {"Variables": dict((env or {}).get("variables") or {})},
            "Layers": self._local_layers(planned),
        }
        if planned.get("runtime"):
            args["Runtime"] = planned["runtime"]
        tracing = _one(planned.get("tracing_config"))
        args["TracingConfig"] = {"Mode": tracing["mode"] if tracing else "PassThrough"}
        dlq = _one(planned.get("dead_letter_config"))
        args["DeadLetterConfig"] = {"TargetArn": dlq["target_arn"]} if dlq else {}
        storage = _one(planned.get("ephemeral_storage"))
        if storage and storage.get("size"):
            args["EphemeralStorage"] = {"Size": int(storage["size"])}
        logging = _one(planned.get("logging_config"))
        if logging:
            args["LoggingConfig"] = {
                k: logging[n]
                for k, n in (
                    ("LogFormat", "log_format"),
                    ("LogGroup", "log_group"),
                    ("ApplicationLogLevel", "application_log_level"),
                    ("SystemLogLevel", "system_log_level"),
                )
                if logging.get(n)
            }
        return args

    def _set_concurrency(self, name: str, value: Any) -> None:
        lam = self.client("lambda")
        if value is None or int(value) < 0:
            lam.delete_function_concurrency(FunctionName=name)
        else:
            lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=int(value))

    # ------------------------------------------------------------------ CRUD

    def create(self, planned: State) -> State:
        lam = self.client("lambda")
        name = planned["function_name"]
        package = code_package(planned, self.client("s3"))
        args = self._config_args(planned)
        if not args["DeadLetterConfig"]:
            del args["DeadLetterConfig"]
        lam.create_function(
            FunctionName=name,
            Code=package,
            PackageType="Zip",
            Publish=bool(planned.get("publish")),
            Architectures=_set_or(planned.get("architectures"), ["x86_64"]),
            Tags=self.all_tags(planned),
            **args,
        )
        wait_active(lam, name)
        if planned.get("reserved_concurrent_executions", -1) >= 0:
            self._set_concurrency(name, planned["reserved_concurrent_executions"])
        planned["id"] = name
        if planned.get("source_code_hash") is Unknown:
            planned["source_code_hash"] = package_hash(package)  # None: read takes Lambda's CodeSha256
        return self.read(planned) or planned

    def read(self, current: State) -> State | None:
        lam = self.client("lambda")
        try:
            got = lam.get_function(FunctionName=current["id"])
        except Exception as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return None
            raise
        cfg = got["Configuration"]
        arn = cfg["FunctionArn"]
        region = arn.split(":")[3]
        invoke = f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations"
        # As the real provider: the latest published version, whether or not this resource publishes.
        versions = lam.list_versions_by_function(FunctionName=cfg["FunctionName"])["Versions"]
        numbered = [int(v["Version"]) for v in versions if str(v["Version"]).isdigit()]
        version = str(max(numbered)) if numbered else "$LATEST"
        variables = (cfg.get("Environment") or {}).get("Variables") or {}
        prior_env = _one(current.get("environment"))
        if variables:
            environment = [{"variables": dict(variables)}]
        elif prior_env is not None and prior_env.get("variables") == {}:
            environment = [{"variables": {}}]
        else:
            environment = []
        tracing_mode = (cfg.get("TracingConfig") or {}).get("Mode", "PassThrough")
        tracing = (
            [{"mode": tracing_mode}] if current.get("tracing_config") or tracing_mode != "PassThrough" else []
        )
        if "DeadLetterConfig" in cfg:
            dlq_arn = (cfg.get("DeadLetterConfig") or {}).get("TargetArn")
        else:  # moto never reports a dead-letter queue: trust the last applied one
            dlq_arn = (_one(current.get("dead_letter_config")) or {}).get("target_arn")
        aws_layers = [layer["Arn"] for layer in cfg.get("Layers") or []]
        account = arn.split(":")[4]
        foreign = [arn for arn in current.get("layers") or [] if _layer_account(arn) != account]
        layers = [a for a in current.get("layers") or [] if a in aws_layers or a in foreign]
        layers += [a for a in aws_layers if a not in layers]
        try:
            conc = lam.get_function_concurrency(FunctionName=cfg["FunctionName"])
            reserved = conc.get("ReservedConcurrentExecutions")
        except Exception as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise
            reserved = None
        return {
            **current,
            "id": cfg["FunctionName"],
            "function_name": cfg["FunctionName"],
            "arn": arn,
            "invoke_arn": invoke,
            "qualified_arn": f"{arn}:{version}",
            "qualified_invoke_arn": (
                f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}:{version}/invocations"
            ),
            "version": version,
            "region": region,
            "role": cfg["Role"],
            "handler": cfg.get("Handler"),
            "runtime": cfg.get("Runtime"),
            "description": cfg.get("Description") or current.get("description"),
            "memory_size": cfg.get("MemorySize", 128),
            "timeout": cfg.get("Timeout", 3),
            "package_type": cfg.get("PackageType", "Zip"),
            "architectures": list(cfg.get("Architectures") or ["x86_64"]),
            "last_modified": cfg.get("LastModified"),
            "code_sha256": cfg.get("CodeSha256"),
            "source_code_size": cfg.get("CodeSize"),
            "source_code_hash": current.get("source_code_hash") or cfg.get("CodeSha256"),
            "environment": environment,
            "tracing_config": tracing,
            "dead_letter_config": [{"target_arn": dlq_arn}] if dlq_arn else [],
            "layers": layers or (None if current.get("layers") is None else []),
            "reserved_concurrent_executions": -1 if reserved is None else int(reserved),
            "publish": bool(current.get("publish")),
            "skip_destroy": bool(current.get("skip_destroy")),
            **self.tags_state(dict(got.get("Tags") or {}), current),
        }

    def update(self, prior: State, planned: State) -> State:
        lam = self.client("lambda")
        name = prior["id"]
        code_update = code_changed(prior, planned)
        # The package is read (and a pinned S3 version checked) before anything changes.
        package = code_package(planned, self.client("s3")) if code_update else {}
        config_update = self._config_args(planned) != self._config_args(prior)
        if config_update:
            lam.update_function_configuration(FunctionName=name, **self._config_args(planned))
        if code_update:
            code: dict[str, Any] = {"FunctionName": name, **package}
            if planned.get("architectures") != prior.get("architectures"):
                code["Architectures"] = _set_or(planned.get("architectures"), ["x86_64"])
            lam.update_function_code(**code)
            if planned.get("source_code_hash") is Unknown:
                planned["source_code_hash"] = package_hash(package)
        if planned.get("reserved_concurrent_executions") != prior.get("reserved_concurrent_executions"):
            self._set_concurrency(name, planned.get("reserved_concurrent_executions"))
        # Published after both updates, so the version holds the new code and configuration.
        if planned.get("publish") and (code_update or config_update or not prior.get("publish")):
            lam.publish_version(FunctionName=name)
        self.retag(
            prior,
            planned,
            *tagging(lam.untag_resource, lam.tag_resource, tags_as=dict, Resource=prior["arn"]),
        )
        return self.read(planned) or planned

    def delete(self, prior: State) -> None:
        if prior.get("skip_destroy"):
            return
        with ignoring("ResourceNotFoundException"):
            self.client("lambda").delete_function(FunctionName=prior["id"])
