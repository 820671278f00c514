"""Lambda: ``aws_lambda_function``, ``aws_lambda_permission``, ``aws_lambda_function_event_invoke_config``.

Layers owned by another account (AWS-managed ones such as Powertools) cannot exist in the local cloud,
whose runtime provides their content itself: they are kept in Terraform state but not sent to it.
Creating a function waits until it is ``Active``, as the real provider does (:mod:`._lambda_states`).
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

from selfheal.terraform.aws_provider import AwsResource
from selfheal.terraform.aws_resources import register
from selfheal.terraform.aws_resources._common import error_code, ignoring, tagging, unique_name
from selfheal.terraform.aws_resources._lambda_runtimes import check_runtime
from selfheal.terraform.aws_resources._lambda_states import wait_active
from selfheal.terraform.resource import ResourceError, State, Unknown

__all__ = ["LambdaEventInvokeConfig", "LambdaFunction", "LambdaPermission"]


def _one(block: Any) -> dict[str, Any] | None:
    """The item of a ``max_items = 1`` block, or None."""
    return block[0] if isinstance(block, list) and block else None


def _known(value: Any, default: Any) -> Any:
    """``value`` unless it is null or still unknown at apply time."""
    return default if value is None or value is Unknown else value


#: Arguments whose change is an UpdateFunctionCode / UpdateFunctionConfiguration (the real provider's
#: needsFunctionCodeUpdate / needsFunctionConfigUpdate).
_CODE_FIELDS = (
    "filename", "source_code_hash", "s3_bucket", "s3_key", "s3_object_version", "image_uri", "architectures",
)  # fmt: skip
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
    """A Lambda function deployed from a zip file (id: the function name)."""

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
        for name, low, high in (("memory_size", 128, 10240), ("timeout", 1, 900)):
            v = config.get(name)
            if isinstance(v, int | float) and not low <= v <= high:
                raise ResourceError(
                    f"expected {name} to be in the range ({low} - {high}), got {v}", attribute=name
                )
        sources = [config.get(k) for k in ("filename", "s3_bucket", "image_uri")]
        if all(s is None for s in sources) and not any(s is Unknown for s in sources):
            raise ResourceError(
                'one of "filename", "image_uri" or "s3_bucket" must be specified', attribute="filename"
            )

    def plan(self, prior: State | None, planned: State, config: State) -> State:
        planned = super().plan(prior, planned, config)
        if config.get("region") is None:
            planned["region"] = self.aws.region
        if prior is None:
            return planned
        if _changed(prior, planned, ("filename", "source_code_hash")):
            planned.update(code_sha256=Unknown, source_code_size=Unknown)
        # The real provider's updateComputedAttributesOnPublish: a new version when code or configuration
        # changes (or publish turns on), not for tags or reserved concurrency.
        if planned.get("publish") and (
            _changed(prior, planned, _CODE_FIELDS + _CONFIG_FIELDS) or not prior.get("publish")
        ):
            planned.update(version=Unknown, qualified_arn=Unknown, qualified_invoke_arn=Unknown)
        return planned

    # ------------------------------------------------------------------ helpers

    def _zip(self, planned: State) -> bytes:
        if not planned.get("filename"):
            raise ResourceError(
                "the local cloud deploys Lambda functions from a zip file only", attribute="filename"
            )
        path = Path(planned["filename"])
        try:
            return path.read_bytes()
        except OSError as exc:
            raise ResourceError(f"unable to load {path}: {exc.strerror}", attribute="filename") from None

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
        zip_bytes = self._zip(planned)
        args = self._config_args(planned)
        if not args["DeadLetterConfig"]:
            del args["DeadLetterConfig"]
        lam.create_function(
            FunctionName=name,
            Code={"ZipFile": zip_bytes},
            PackageType="Zip",
            Publish=bool(planned.get("publish")),
            Architectures=_known(planned.get("architectures"), ["x86_64"]),
            Tags=self.all_tags(planned),
            **args,
        )
        wait_active(lam, name)
        if planned.get("reserved_concurrent_executions", -1) >= 0:
            self._set_concurrency(name, planned["reserved_concurrent_executions"])
        planned["id"] = name
        if planned.get("source_code_hash") is Unknown:
            planned["source_code_hash"] = base64.b64encode(hashlib.sha256(zip_bytes).digest()).decode()
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
        config_update = self._config_args(planned) != self._config_args(prior)
        if config_update:
            lam.update_function_configuration(FunctionName=name, **self._config_args(planned))
        code_update = _changed(prior, planned, ("filename", "source_code_hash", "architectures"))
        if code_update:
            zip_bytes = self._zip(planned)
            code: dict[str, Any] = {"FunctionName": name, "ZipFile": zip_bytes}
            if planned.get("architectures") != prior.get("architectures"):
                code["Architectures"] = _known(planned.get("architectures"), ["x86_64"])
            lam.update_function_code(**code)
            if planned.get("source_code_hash") is Unknown:
                planned["source_code_hash"] = base64.b64encode(hashlib.sha256(zip_bytes).digest()).decode()
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


def _permission_statement(policy: str, sid: str) -> dict[str, Any] | None:
    for st in json.loads(policy).get("Statement", []):
        if st.get("Sid") == sid:
            return dict(st)
    return None


@register
class LambdaPermission(AwsResource):
    """A statement in a function's resource policy (id: the statement id)."""

    type_name = "aws_lambda_permission"
    optional_computed = frozenset({"statement_id", "statement_id_prefix", "region"})
    force_new = frozenset(
        {"action", "event_source_token", "function_name", "function_url_auth_type", "principal"}
        | {"principal_org_id", "qualifier", "source_account", "source_arn", "statement_id"}
        | {"statement_id_prefix", "region"}
    )
    importable = True

    def plan(self, prior: State | None, planned: State, config: State) -> State:
        if config.get("region") is None:
            planned["region"] = self.aws.region
        if prior is None and config.get("statement_id") is None:
            if config.get("statement_id_prefix") is None:
                planned["statement_id_prefix"] = None
            planned["statement_id"] = Unknown
        return planned

    def create(self, planned: State) -> State:
        sid = planned.get("statement_id")
        if not sid or sid is Unknown:
            prefix = planned.get("statement_id_prefix")
            sid = unique_name(prefix if isinstance(prefix, str) else "terraform-")
        args: dict[str, Any] = {
            "FunctionName": planned["function_name"],
            "StatementId": sid,
            "Action": planned["action"],
            "Principal": planned["principal"],
        }
        for key, name in (
            ("SourceArn", "source_arn"),
            ("SourceAccount", "source_account"),
            ("EventSourceToken", "event_source_token"),
            ("Qualifier", "qualifier"),
            ("PrincipalOrgID", "principal_org_id"),
            ("FunctionUrlAuthType", "function_url_auth_type"),
        ):
            if planned.get(name):
                args[key] = planned[name]
        self.client("lambda").add_permission(**args)
        planned.update(id=sid, statement_id=sid)
        return planned

    def read(self, current: State) -> State | None:
        args: dict[str, Any] = {"FunctionName": current["function_name"]}
        if current.get("qualifier"):
            args["Qualifier"] = current["qualifier"]
        try:
            policy = self.client("lambda").get_policy(**args)["Policy"]
        except Exception as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return None
            raise
        st = _permission_statement(policy, current["id"])
        if st is None:
            return None
        principal = st.get("Principal")
        if isinstance(principal, dict):
            principal = principal.get("Service") or principal.get("AWS") or current.get("principal")
        condition = st.get("Condition") or {}
        source_arn = (condition.get("ArnLike") or {}).get("AWS:SourceArn")
        return {
            **current,
            "statement_id": st["Sid"],
            "action": st.get("Action", current.get("action")),
            "principal": principal,
            "source_arn": source_arn if source_arn is not None else current.get("source_arn"),
        }

    def update(self, prior: State, planned: State) -> State:
        return planned  # every argument forces a new statement

    def delete(self, prior: State) -> None:
        args: dict[str, Any] = {"FunctionName": prior["function_name"], "StatementId": prior["id"]}
        if prior.get("qualifier"):
            args["Qualifier"] = prior["qualifier"]
        with ignoring("ResourceNotFoundException"):
            self.client("lambda").remove_permission(**args)

    def import_state(self, import_id: str) -> State:
        function, sep, sid = import_id.partition("/")
        if not sep or not sid:
            raise ResourceError(f"unexpected format of ID ({import_id}), expected FUNCTION_NAME/STATEMENT_ID")
        return {"id": sid, "function_name": function}


def _destinations(planned: State) -> dict[str, Any]:
    dest = _one(planned.get("destination_config"))
    out: dict[str, Any] = {}
    if dest:
        for key, name in (("OnSuccess", "on_success"), ("OnFailure", "on_failure")):
            item = _one(dest.get(name))
            if item:
                out[key] = {"Destination": item["destination"]}
    return out


@register
class LambdaEventInvokeConfig(AwsResource):
    """Asynchronous invocation settings of a function (id: ``function_name`` or ``name:qualifier``)."""

    type_name = "aws_lambda_function_event_invoke_config"
    optional_computed = frozenset({"maximum_retry_attempts", "region"})
    defaults = {"maximum_retry_attempts": 2}
    force_new = frozenset({"function_name", "qualifier", "region"})
    importable = True

    def validate(self, config: State) -> None:
        retries = config.get("maximum_retry_attempts")
        if isinstance(retries, int | float) and not 0 <= retries <= 2:
            raise ResourceError(
                f"expected maximum_retry_attempts to be in the range (0 - 2), got {retries}",
                attribute="maximum_retry_attempts",
            )
        age = config.get("maximum_event_age_in_seconds")
        if isinstance(age, int | float) and not 60 <= age <= 21600:
            raise ResourceError(
                f"expected maximum_event_age_in_seconds to be in the range (60 - 21600), got {age}",
                attribute="maximum_event_age_in_seconds",
            )

    def plan(self, prior: State | None, planned: State, config: State) -> State:
        if config.get("region") is None:
            planned["region"] = self.aws.region
        return planned

    def _put(self, planned: State) -> None:
        lam = self.client("lambda")
        args: dict[str, Any] = {
            "FunctionName": planned["function_name"],
            "MaximumRetryAttempts": int(planned["maximum_retry_attempts"]),
            "DestinationConfig": _destinations(planned),
        }
        if planned.get("qualifier"):
            args["Qualifier"] = planned["qualifier"]
        if planned.get("maximum_event_age_in_seconds") is not None:
            args["MaximumEventAgeInSeconds"] = int(planned["maximum_event_age_in_seconds"])
        lam.put_function_event_invoke_config(**args)

    def create(self, planned: State) -> State:
        self._put(planned)
        qualifier = planned.get("qualifier")
        planned["id"] = f"{planned['function_name']}:{qualifier}" if qualifier else planned["function_name"]
        return planned

    def read(self, current: State) -> State | None:
        function, _, qualifier = str(current["id"]).partition(":")
        args: dict[str, Any] = {"FunctionName": function}
        if qualifier:
            args["Qualifier"] = qualifier
        try:
            got = self.client("lambda").get_function_event_invoke_config(**args)
        except Exception as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return None
            raise
        dest = got.get("DestinationConfig") or {}
        block: dict[str, Any] = {}
        for key, name in (("OnSuccess", "on_success"), ("OnFailure", "on_failure")):
            target = (dest.get(key) or {}).get("Destination")
            block[name] = [{"destination": target}] if target else []
        return {
            **current,
            "function_name": current.get("function_name") or function,
            "qualifier": qualifier or None,
            "maximum_retry_attempts": got.get("MaximumRetryAttempts", 2),
            "maximum_event_age_in_seconds": got.get("MaximumEventAgeInSeconds"),
            "destination_config": [block] if any(block.values()) else [],
        }

    def update(self, prior: State, planned: State) -> State:
        # moto appends on update and keeps answering with the first config: replace it instead.
        self.delete(prior)
        self._put(planned)
        return planned

    def delete(self, prior: State) -> None:
        function, _, qualifier = str(prior["id"]).partition(":")
        args: dict[str, Any] = {"FunctionName": function}
        if qualifier:
            args["Qualifier"] = qualifier
        with ignoring("ResourceNotFoundException"):
            self.client("lambda").delete_function_event_invoke_config(**args)
