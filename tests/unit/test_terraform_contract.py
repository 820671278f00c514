"""Contract tests of deploy/fragile: the loop's wiring, names, IAM scoping, variables and provider schema."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import botocore.session
import hcl2
import pytest
from botocore import xform_name
from hcl2 import SerializationOptions

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "deploy" / "fragile"
HEALER_SOURCE = ROOT / "src" / "healer"
INTERNALS = ROOT / "docs" / "internals.md"
SCHEMA_CANDIDATES = (
    ROOT / "src" / "selfheal" / "terraform" / "schema" / "aws_provider_6.25.0_subset.json",
    Path("/work/shared/aws_provider_6.25.0_subset.json"),
)
EXPECTED_FILES = {
    "api_gateway.tf", "alarms.tf", "backend.tf", "cloudwatch.tf", "healer.tf", "healer_iam.tf",
    "healer_subscription.tf", "healer_sns_permission.tf", "iam.tf", "lambda.tf", "outputs.tf", "sns.tf",
    "variables.tf", "versions.tf", "ledger.tf", "escalation.tf",
}  # fmt: skip
OPTIONAL_FILES = {"kms.tf", "locals.tf", "data.tf"}
META_ARGUMENTS = {"depends_on", "count", "for_each", "provider", "lifecycle", "provisioner"}
# hashicorp/archive's archive_file, restricted to the arguments this project allows.
ARCHIVE_FILE = {
    "arguments": {
        "type": {"required": True, "type": "string"},
        "source_dir": {"required": False, "type": "string"},
        "output_path": {"required": True, "type": "string"},
        "excludes": {"required": False, "type": "set(string)"},
        "output_file_mode": {"required": False, "type": "string"},
    },
    "attributes": ["id", "output_base64sha256", "output_md5", "output_sha", "output_sha256", "output_size"],
}
T = TypeVar("T")
REFERENCE = re.compile(r"(?<![\w.])(data\.)?(aws_[a-z0-9_]+|archive_file)\.([a-z0-9_]+)(?:\.([a-z0-9_]+))?")


@dataclass
class Module:
    """Every top-level block of the module, merged across its .tf files."""

    resources: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    data: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    terraform: list[dict[str, Any]] = field(default_factory=list)
    providers: dict[str, dict[str, Any]] = field(default_factory=dict)

    def resource(self, address: str) -> dict[str, Any]:
        kind, name = address.split(".")
        return self.resources[(kind, name)]

    def blocks(self) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
        for (kind, name), body in self.resources.items():
            yield "resource", kind, name, body
        for (kind, name), body in self.data.items():
            yield "data", kind, name, body


@cache
def load_module() -> Module:
    """Parse deploy/fragile/*.tf with python-hcl2 into one Module."""
    options = SerializationOptions(strip_string_quotes=True, explicit_blocks=False)
    module = Module()
    for path in sorted(MODULE.glob("*.tf")):
        with path.open() as handle:
            parsed = hcl2.load(handle, serialization_options=options)
        for entry in parsed.get("resource", []):
            for kind, named in entry.items():
                for name, body in named.items():
                    assert (kind, name) not in module.resources, f"{kind}.{name} declared twice"
                    module.resources[(kind, name)] = body
        for entry in parsed.get("data", []):
            for kind, named in entry.items():
                for name, body in named.items():
                    module.data[(kind, name)] = body
        for entry in parsed.get("variable", []):
            module.variables.update(entry)
        for entry in parsed.get("output", []):
            module.outputs.update(entry)
        for entry in parsed.get("locals", []):
            module.locals.update({k: v for k, v in entry.items() if k != "__comments__"})
        module.terraform.extend(parsed.get("terraform", []))
        for entry in parsed.get("provider", []):
            module.providers.update(entry)
    return module


@cache
def load_schema() -> dict[str, Any]:
    """The aws provider 6.25.0 argument schema, plus archive_file."""
    for candidate in SCHEMA_CANDIDATES:
        if candidate.is_file():
            schema: dict[str, Any] = json.loads(candidate.read_text())
            return schema
    raise AssertionError(f"provider schema subset not found in {[str(c) for c in SCHEMA_CANDIDATES]}")


def block_schema(section: str, kind: str) -> dict[str, Any]:
    if section == "data" and kind == "archive_file":
        return ARCHIVE_FILE
    spec: dict[str, Any] = load_schema()["resources" if section == "resource" else "data_sources"][kind]
    return spec


def interpolations(value: Any) -> Iterator[str]:
    """Every string inside a parsed HCL value (expressions come back as "${...}" strings)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key != "__comments__":
                yield from interpolations(item)
    elif isinstance(value, list):
        for item in value:
            yield from interpolations(item)


def comments(body: dict[str, Any]) -> list[str]:
    return [c["value"] for c in body.get("__comments__", [])]


def nonempty(items: Iterable[T], what: str) -> list[T]:
    """``items`` as a list, failing when there are none (a loop over nothing checks nothing)."""
    found = list(items)
    assert found, f"no {what} found: the parse came back empty"
    return found


def resolve(text: str) -> str:
    """Substitute locals and var.name_prefix (its default) into a name expression."""
    module = load_module()
    prefix = module.variables["name_prefix"]["default"]
    for _ in range(5):
        text = re.sub(r"\$\{local\.(\w+)\}", lambda m: str(module.locals[m.group(1)]), text)
        text = text.replace("${var.name_prefix}", prefix)
    return text


def schema_problems(path: str, body: dict[str, Any], arguments: dict[str, Any]) -> list[str]:
    problems = []
    for key, value in body.items():
        if key.startswith("__") or key in META_ARGUMENTS:
            continue
        spec = arguments.get(key)
        if spec is None:
            problems.append(f"{path}: unknown argument or block {key!r}")
        elif "block" in spec:
            blocks = value if isinstance(value, list) else [value]
            if not all(isinstance(b, dict) for b in blocks):
                problems.append(f"{path}.{key}: must be written as a block")
                continue
            max_items = spec.get("max_items")
            if max_items is not None and len(blocks) > max_items:
                problems.append(f"{path}.{key}: {len(blocks)} blocks, at most {max_items}")
            for block in blocks:
                problems.extend(schema_problems(f"{path}.{key}", block, spec["block"]["arguments"]))
        elif key == "id":
            problems.append(f"{path}: 'id' is computed, never set")
        elif (
            isinstance(value, list)
            and value
            and all(isinstance(v, dict) for v in value)
            and not spec["type"].startswith(("list(object", "set(object"))
        ):
            problems.append(f"{path}.{key}: is an argument of type {spec['type']}, written as a block")
    for key, spec in arguments.items():
        if spec.get("required") and key not in body:
            problems.append(f"{path}: required {key!r} missing")
    return problems


# --- files and schema -----------------------------------------------------------------------------


def test_module_has_exactly_the_agreed_files() -> None:
    """deploy/fragile holds the agreed .tf files, one per concern, and no others."""
    files = {p.name for p in MODULE.glob("*.tf")}
    assert files >= EXPECTED_FILES
    assert files - EXPECTED_FILES <= OPTIONAL_FILES


def test_every_block_conforms_to_the_provider_schema() -> None:
    """Every resource and data source uses only types, arguments and blocks in the 6.25.0 subset."""
    problems = []
    for section, kind, name, body in nonempty(load_module().blocks(), "resource or data blocks"):
        try:
            spec = block_schema(section, kind)
        except KeyError:
            problems.append(f"{section} {kind}.{name}: type not in the provider subset")
            continue
        problems.extend(schema_problems(f"{kind}.{name}", body, spec["arguments"]))
    assert problems == []


def test_every_reference_names_a_declared_block_and_a_known_attribute() -> None:
    """References like aws_x.name.attr point at a declared block and an argument or attribute it has."""
    module = load_module()
    sources = [(f"{kind}.{name}", body) for _, kind, name, body in module.blocks()]
    sources += [(f"output.{name}", body) for name, body in module.outputs.items()]
    sources.append(("locals", module.locals))
    references = [
        (label, reference)
        for label, value in sources
        for text in interpolations(value)
        for reference in REFERENCE.findall(text)
    ]
    problems = []
    for label, (is_data, ref_kind, ref_name, attr) in nonempty(references, "references"):
        section = "data" if is_data else "resource"
        table = module.data if is_data else module.resources
        if (ref_kind, ref_name) not in table:
            problems.append(f"{label}: unknown {section} {ref_kind}.{ref_name}")
            continue
        spec = block_schema(section, ref_kind)
        if attr and attr not in spec["arguments"] and attr not in spec["attributes"]:
            problems.append(f"{label}: {ref_kind}.{ref_name} has no attribute {attr!r}")
    assert problems == []


def test_variable_and_local_references_are_declared() -> None:
    """Every var.x and local.x used anywhere is declared."""
    module = load_module()
    everything = [b for *_, b in module.blocks()] + [module.outputs, module.locals, module.providers]
    used_vars, used_locals = set(), set()
    for value in everything:
        for text in interpolations(value):
            used_vars.update(re.findall(r"\bvar\.(\w+)", text))
            used_locals.update(re.findall(r"\blocal\.(\w+)", text))
    nonempty(used_vars, "var references")
    nonempty(used_locals, "local references")
    assert used_vars <= set(module.variables)
    assert used_locals <= set(module.locals)


# --- versions and backend ---------------------------------------------------------------------------


def test_versions_and_provider_configuration() -> None:
    """Terraform >= 1.5, aws >= 6.0, archive >= 2.5 (glob excludes); region and tags from variables."""
    module = load_module()
    (settings,) = [t for t in module.terraform if "required_providers" in t]
    assert settings["required_version"] == ">= 1.5"
    (providers,) = settings["required_providers"]
    assert providers["aws"] == {"source": "hashicorp/aws", "version": ">= 6.0"}
    assert providers["archive"] == {"source": "hashicorp/archive", "version": ">= 2.5"}
    aws = module.providers["aws"]
    assert aws["region"] == "${var.aws_region}"
    assert aws["default_tags"] == [{"tags": "${var.tags}"}]


def test_backend_is_a_partial_s3_backend() -> None:
    """The backend is `s3` with no settings, so -backend-config (or -backend=false) decides at init."""
    module = load_module()
    backends = [b for t in module.terraform for b in t.get("backend", [])]
    assert backends == [{"s3": {}}]
    text = (MODULE / "backend.tf").read_text()
    for setting in ("bucket=", "key=", "region=", "use_lockfile=true"):
        assert setting in text


# --- the loop ---------------------------------------------------------------------------------------


def test_alarm_watches_fragile_errors() -> None:
    """The alarm is AWS/Lambda Errors Sum of the fragile function, thresholds from variables."""
    alarm = load_module().resource("aws_cloudwatch_metric_alarm.fragile_errors")
    assert (alarm["namespace"], alarm["metric_name"], alarm["statistic"]) == ("AWS/Lambda", "Errors", "Sum")
    assert alarm["dimensions"] == {"FunctionName": "${aws_lambda_function.fragile.function_name}"}
    assert alarm["period"] == "${var.alarm_period_seconds}"
    assert alarm["evaluation_periods"] == "${var.alarm_evaluation_periods}"
    assert alarm["datapoints_to_alarm"] == "${var.alarm_datapoints_to_alarm}"
    assert alarm["threshold"] == "${var.alarm_threshold}"
    assert alarm["comparison_operator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["treat_missing_data"] == "notBreaching"
    (lifecycle,) = alarm["lifecycle"]
    conditions = [p["condition"] for p in lifecycle["precondition"]]
    assert "${var.alarm_datapoints_to_alarm <= var.alarm_evaluation_periods}" in conditions


def test_alarm_notifies_topic_which_invokes_healer() -> None:
    """alarm -> topic (ALARM and OK) -> lambda subscription -> healer, with SNS allowed to invoke it."""
    module = load_module()
    topic = "${aws_sns_topic.alarms.arn}"
    alarm = module.resource("aws_cloudwatch_metric_alarm.fragile_errors")
    assert alarm["alarm_actions"] == [topic]
    assert alarm["ok_actions"] == [topic]
    subscriptions = [b for (k, _), b in module.resources.items() if k == "aws_sns_topic_subscription"]
    assert [s for s in subscriptions if s["topic_arn"] == topic] == [
        module.resource("aws_sns_topic_subscription.healer")
    ]
    subscription = module.resource("aws_sns_topic_subscription.healer")
    assert subscription["protocol"] == "lambda"
    assert subscription["endpoint"] == "${aws_lambda_function.healer.arn}"
    assert "${aws_lambda_permission.healer_from_sns}" in subscription["depends_on"]
    permission = module.resource("aws_lambda_permission.healer_from_sns")
    assert permission["function_name"] == "${aws_lambda_function.healer.function_name}"
    assert permission["principal"] == "sns.amazonaws.com"
    assert permission["action"] == "lambda:InvokeFunction"
    assert permission["source_arn"] == topic


def test_alarm_topic_policy_admits_only_this_alarm() -> None:
    """CloudWatch may publish to the alarm topic only for this account and this alarm."""
    module = load_module()
    assert module.resource("aws_sns_topic_policy.alarms")["policy"] == (
        "${data.aws_iam_policy_document.alarm_topic.json}"
    )
    (statement,) = module.data[("aws_iam_policy_document", "alarm_topic")]["statement"]
    assert statement["principals"] == [{"type": "Service", "identifiers": ["cloudwatch.amazonaws.com"]}]
    assert statement["actions"] == ["sns:Publish"]
    conditions = {(c["variable"], tuple(c["values"])) for c in statement["condition"]}
    assert ("aws:SourceArn", ("${aws_cloudwatch_metric_alarm.fragile_errors.arn}",)) in conditions
    assert ("aws:SourceAccount", ("${local.account_id}",)) in conditions


def test_topics_table_queue_and_logs_use_the_customer_managed_key() -> None:
    """Both topics, the ledger, the DLQ and every log group are encrypted with the module's CMK."""
    module = load_module()
    key = "${aws_kms_key.main.arn}"
    assert module.resource("aws_sns_topic.alarms")["kms_master_key_id"] == key
    assert module.resource("aws_sns_topic.escalations")["kms_master_key_id"] == key
    assert module.resource("aws_sqs_queue.healer_dlq")["kms_master_key_id"] == key
    assert module.resource("aws_dynamodb_table.ledger")["server_side_encryption"] == [
        {"enabled": True, "kms_key_arn": key}
    ]
    log_groups = [b for (kind, _), b in module.resources.items() if kind == "aws_cloudwatch_log_group"]
    for body in nonempty(log_groups, "log groups"):
        assert body["kms_key_id"] == key
    statements = module.data[("aws_iam_policy_document", "kms_key")]["statement"]
    services = {i for s in statements for p in s.get("principals", []) for i in p["identifiers"]}
    assert {"cloudwatch.amazonaws.com", "sns.amazonaws.com"} <= services


def test_ledger_table_shape() -> None:
    """The ledger has string pk/sk keys, on-demand billing, TTL on expires_at and PITR."""
    ledger = load_module().resource("aws_dynamodb_table.ledger")
    assert (ledger["hash_key"], ledger["range_key"], ledger["billing_mode"]) == (
        "pk",
        "sk",
        "PAY_PER_REQUEST",
    )
    assert sorted((a["name"], a["type"]) for a in ledger["attribute"]) == [("pk", "S"), ("sk", "S")]
    assert ledger["ttl"] == [{"attribute_name": "expires_at", "enabled": True}]
    assert ledger["point_in_time_recovery"] == [{"enabled": True}]


def test_healer_async_invocation_is_bounded_and_lands_in_the_dlq() -> None:
    """The healer retries at most twice, then its events go to the encrypted DLQ; tracing is active."""
    module = load_module()
    healer = module.resource("aws_lambda_function.healer")
    dlq = "${aws_sqs_queue.healer_dlq.arn}"
    assert healer["dead_letter_config"] == [{"target_arn": dlq}]
    assert healer["tracing_config"] == [{"mode": "Active"}]
    assert healer["timeout"] == "${local.healer_timeout_seconds}"
    assert module.locals["healer_timeout_seconds"] == "${min(var.healer_verify_timeout_seconds + 60, 900)}"
    assert healer["reserved_concurrent_executions"] == "${var.healer_reserved_concurrency}"
    invoke = module.resource("aws_lambda_function_event_invoke_config.healer")
    assert invoke["function_name"] == "${aws_lambda_function.healer.function_name}"
    assert invoke["maximum_retry_attempts"] == 2
    assert invoke["destination_config"] == [{"on_failure": [{"destination": dlq}]}]


def test_verify_timeout_validation_keeps_healer_within_lambda_limit() -> None:
    """The verify timeout's validation caps it so that timeout + 60 s margin fits in 900 s."""
    (validation,) = load_module().variables["healer_verify_timeout_seconds"]["validation"]
    bound = re.search(r"var\.healer_verify_timeout_seconds <= (\d+)", validation["condition"])
    assert bound is not None
    assert int(bound.group(1)) + 60 <= 900


def test_http_api_routes_everything_to_fragile_function() -> None:
    """HTTP API: AWS_PROXY 2.0 integration, $default route, auto-deployed throttled $default stage."""
    module = load_module()
    api = module.resource("aws_apigatewayv2_api.http")
    assert api["protocol_type"] == "HTTP"
    integration = module.resource("aws_apigatewayv2_integration.fragile")
    assert integration["integration_type"] == "AWS_PROXY"
    assert integration["payload_format_version"] == "2.0"
    assert integration["integration_uri"] == "${aws_lambda_function.fragile.arn}"
    route = module.resource("aws_apigatewayv2_route.default")
    assert route["route_key"] == "$default"
    assert route["target"] == "integrations/${aws_apigatewayv2_integration.fragile.id}"
    stage = module.resource("aws_apigatewayv2_stage.default")
    assert (stage["name"], stage["auto_deploy"]) == ("$default", True)
    (settings,) = stage["default_route_settings"]
    assert settings["throttling_burst_limit"] == "${var.api_throttling_burst_limit}"
    assert settings["throttling_rate_limit"] == "${var.api_throttling_rate_limit}"
    (access,) = stage["access_log_settings"]
    assert access["destination_arn"] == "${aws_cloudwatch_log_group.api_access.arn}"
    permission = module.resource("aws_lambda_permission.fragile_from_api")
    assert permission["principal"] == "apigateway.amazonaws.com"
    assert permission["source_arn"].startswith("${aws_apigatewayv2_api.http.execution_arn}/")


# --- Lambda packaging and configuration ---------------------------------------------------------------


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """doublestar semantics, as hashicorp/archive >= 2.5 applies them to paths relative to source_dir."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("/**", i) and i + 3 == len(pattern):
            out, i = out + "(?:/.*)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + r"\Z")


@pytest.mark.parametrize(
    ("archive", "package", "handler"),
    [
        ("fragile", "fragile_service", "fragile_service.app.handler"),
        ("healer", "healer", "healer.app.handler"),
    ],
)
def test_lambda_zip_holds_only_its_own_package(archive: str, package: str, handler: str) -> None:
    """Applying the archive's excludes to a src/ tree keeps exactly the function's own package."""
    module = load_module()
    data = module.data[("archive_file", archive)]
    assert data["source_dir"] == "${path.module}/../../src"
    patterns = [_glob_regex(p) for p in data["excludes"]]
    tree = [
        "fragile_service/__init__.py",
        "fragile_service/app.py",
        "fragile_service/__pycache__/app.cpython-312.pyc",
        "healer/__init__.py",
        "healer/app.py",
        "healer/sub/__pycache__/x.pyc",
        "selfheal/__init__.py",
        "selfheal/cloud/server.py",
        "selfheal.egg-info/PKG-INFO",
        "__pycache__/stray.pyc",
    ]
    kept = {path for path in tree if not any(p.match(path) for p in patterns)}
    assert kept and {path.split("/")[0] for path in kept} == {package}
    assert not any("__pycache__" in path for path in kept)
    function = module.resource(f"aws_lambda_function.{archive}")
    assert function["handler"] == handler
    assert function["runtime"] == "python3.12"
    assert function["filename"] == f"${{data.archive_file.{archive}.output_path}}"
    assert function["source_code_hash"] == f"${{data.archive_file.{archive}.output_base64sha256}}"
    assert function["layers"] == ["${local.powertools_layer_arn}"]


def test_powertools_layer_default_is_a_valid_layer_arn() -> None:
    """The default layer ARN, with the region filled in, passes the variable's own validation regex."""
    module = load_module()
    default = module.locals["powertools_layer_arn"]
    arn = re.search(r'"(arn:[^"]+)"', default)
    assert arn is not None
    filled = arn.group(1).replace("${local.partition}", "aws").replace("${var.aws_region}", "eu-west-1")
    (validation,) = module.variables["powertools_layer_arn"]["validation"]
    regex = re.search(r'regex\("(.+?)", var\.powertools_layer_arn\)', validation["condition"])
    assert regex is not None
    assert re.fullmatch(regex.group(1).replace("\\\\", "\\"), filled)
    assert re.fullmatch(regex.group(1).replace("\\\\", "\\"), "not-an-arn") is None


# --- names, outputs and environment per docs/internals.md ---------------------------------------------

INTERNALS_NAME_OWNERS = {
    "fragile function": ("aws_lambda_function.fragile", "function_name"),
    "healer function": ("aws_lambda_function.healer", "function_name"),
    "errors alarm": ("aws_cloudwatch_metric_alarm.fragile_errors", "alarm_name"),
    "alarm topic": ("aws_sns_topic.alarms", "name"),
    "escalation topic": ("aws_sns_topic.escalations", "name"),
    "ledger table": ("aws_dynamodb_table.ledger", "name"),
    "healer on-failure queue": ("aws_sqs_queue.healer_dlq", "name"),
    "HTTP API": ("aws_apigatewayv2_api.http", "name"),
    "CloudWatch dashboard": ("aws_cloudwatch_dashboard.loop", "dashboard_name"),
}


def internals_names() -> dict[str, str]:
    rows = re.findall(r"^\| ([^|]+?) \| `([^`]+)` \|$", INTERNALS.read_text(), flags=re.MULTILINE)
    return {thing.split(" (")[0]: name for thing, name in rows}


def internals_list(prefix: str) -> set[str]:
    """The backticked names in the paragraph of docs/internals.md that begins with ``prefix``."""
    text = INTERNALS.read_text()
    start = re.search(rf"^{re.escape(prefix)}", text, flags=re.MULTILINE)
    assert start is not None, prefix
    paragraph = text[start.end() :].split("\n\n", 1)[0]
    return set(re.findall(r"`([A-Z][A-Z0-9_]+|[a-z_]+)`", paragraph))


def test_names_follow_internals() -> None:
    """Each name in docs/internals.md's table is what the module gives the matching resource."""
    names = internals_names()
    assert set(names) == set(INTERNALS_NAME_OWNERS)
    module = load_module()
    for thing, (address, argument) in INTERNALS_NAME_OWNERS.items():
        expected = names[thing].replace("${name_prefix}", "selfheal")
        assert resolve(module.resource(address)[argument]) == expected, thing


def test_outputs_follow_internals() -> None:
    """The module's outputs are exactly those docs/internals.md lists, each with a description."""
    module = load_module()
    expected = set(nonempty((n for n in internals_list("Terraform outputs:") if n.islower()), "outputs"))
    assert set(module.outputs) == expected
    assert all(o.get("description") for o in module.outputs.values())
    assert module.outputs["api_endpoint"]["value"] == "${aws_apigatewayv2_stage.default.invoke_url}"


@pytest.mark.parametrize(
    ("function", "paragraph"), [("fragile", "Fragile service:"), ("healer", "Healer:")]
)  # fmt: skip
def test_environment_follows_internals(function: str, paragraph: str) -> None:
    """Each function's environment variables are exactly those docs/internals.md names for it."""
    expected = set(nonempty((n for n in internals_list(paragraph) if n.isupper()), "variables"))
    (environment,) = load_module().resource(f"aws_lambda_function.{function}")["environment"]
    assert set(environment["variables"]) == expected


def test_fragile_environment_comes_from_variables() -> None:
    """The failure-injection variables of the fragile function are Terraform variables."""
    (environment,) = load_module().resource("aws_lambda_function.fragile")["environment"]
    env = environment["variables"]
    assert env["FAILURE_RATE"] == "${tostring(var.failure_rate)}"
    assert env["FAILURE_MODE"] == "${var.failure_mode}"
    assert env["FAILURE_INJECTION_ENABLED"] == "${tostring(var.failure_injection_enabled)}"
    assert load_module().variables["failure_rate"]["default"] == 0.3


# --- variables ----------------------------------------------------------------------------------------

REQUIRED_VARIABLES = {
    "aws_region", "name_prefix", "tags", "failure_rate", "failure_mode", "latency_ms", "failure_status_code",
    "failure_injection_enabled", "alarm_period_seconds", "alarm_evaluation_periods",
    "alarm_datapoints_to_alarm", "alarm_threshold", "healer_cooldown_seconds",
    "healer_max_actions_per_window", "healer_action_window_seconds", "healer_verify_timeout_seconds",
    "healer_dry_run", "log_retention_days", "api_throttling_burst_limit", "api_throttling_rate_limit",
    "powertools_layer_arn", "fragile_reserved_concurrency", "healer_reserved_concurrency",
}  # fmt: skip


def test_every_variable_has_description_type_and_validation() -> None:
    """Each variable is documented, concretely typed (never any) and validated."""
    variables = load_module().variables
    assert set(variables) >= REQUIRED_VARIABLES
    problems = []
    for name, spec in variables.items():
        if not spec.get("description"):
            problems.append(f"{name}: no description")
        if "type" not in spec or "any" in str(spec["type"]):
            problems.append(f"{name}: no concrete type")
        validations = spec.get("validation", [])
        if not validations or not all(v.get("condition") and v.get("error_message") for v in validations):
            problems.append(f"{name}: no validation with condition and error_message")
    assert problems == []


def test_alarm_period_validation_accepts_only_cloudwatch_periods() -> None:
    """The period validation names 10, 20, 30 and multiples of 60."""
    (validation,) = load_module().variables["alarm_period_seconds"]["validation"]
    assert "[10, 20, 30]" in validation["condition"]
    assert "% 60 == 0" in validation["condition"]


# --- IAM ------------------------------------------------------------------------------------------------


def policy_documents() -> list[tuple[str, dict[str, Any]]]:
    documents = [
        (name, body) for (kind, name), body in load_module().data.items() if kind == "aws_iam_policy_document"
    ]
    return nonempty(documents, "policy documents")


def statements() -> list[tuple[str, dict[str, Any]]]:
    """Every statement of every policy document, with the document's name."""
    found = [
        (name, statement) for name, document in policy_documents() for statement in document["statement"]
    ]
    return nonempty(found, "policy statements")


def test_star_resources_carry_a_comment_saying_why() -> None:
    """A "*" resource appears only in statements that carry a comment explaining it."""
    starred = nonempty(((n, s) for n, s in statements() if "*" in s.get("resources", [])), '"*" statements')
    problems = [f"{name}/{s.get('sid')}" for name, s in starred if not any("*" in c for c in comments(s))]
    assert problems == []


def test_star_resources_only_where_aws_allows_nothing_narrower() -> None:
    """Only X-Ray trace writes and the key's own policy use "*"; every other statement names ARNs."""
    starred = [(n, s) for n, s in statements() if "*" in s.get("resources", []) and n != "kms_key"]
    for name, statement in nonempty(starred, '"*" statements outside the key policy'):
        # (a key policy's "*" is the key itself)
        assert set(statement["actions"]) <= {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}, name


def test_no_wildcard_actions_in_role_policies() -> None:
    """Execution-role statements list actions explicitly (no service:* grants)."""
    role_statements = [(n, s) for n, s in statements() if n != "kms_key"]
    for name, statement in nonempty(role_statements, "execution-role statements"):
        actions = nonempty(statement.get("actions", []), f"actions in {name}")
        assert not any(a.endswith(":*") or a == "*" for a in actions), name


def attached_documents() -> dict[str, set[str]]:
    """Role name → the policy documents of its inline policies."""
    attached: dict[str, set[str]] = {}
    for (kind, _), body in load_module().resources.items():
        if kind == "aws_iam_role_policy":
            role = re.fullmatch(r"\$\{aws_iam_role\.(\w+)\.id\}", body["role"])
            document = re.fullmatch(r"\$\{data\.aws_iam_policy_document\.(\w+)\.json\}", body["policy"])
            assert role and document
            attached.setdefault(role.group(1), set()).add(document.group(1))
    return attached


def test_one_policy_document_per_concern_attached_to_the_roles() -> None:
    """Each role gets one inline policy per concern, each from its own policy document."""
    attached = attached_documents()
    assert attached["fragile"] == {"fragile_logs", "fragile_xray"}
    assert attached["healer"] == {
        "healer_logs", "healer_lambda_config", "healer_ledger", "healer_escalation",
        "healer_describe_alarm", "healer_dlq", "healer_kms", "healer_xray",
    }  # fmt: skip
    all_documents = [d for docs in attached.values() for d in docs]
    assert len(all_documents) == len(set(all_documents))


def test_healer_permissions_are_scoped_to_its_targets() -> None:
    """The healer may only reconfigure the fragile function, use its ledger, escalate and read its alarm."""
    docs = dict(policy_documents())
    expect = {
        "healer_lambda_config": (
            {"lambda:GetFunctionConfiguration", "lambda:UpdateFunctionConfiguration"},
            ["${local.fragile_function_arn}"],
        ),
        "healer_ledger": (None, ["${aws_dynamodb_table.ledger.arn}"]),
        "healer_escalation": ({"sns:Publish"}, ["${aws_sns_topic.escalations.arn}"]),
        "healer_describe_alarm": (
            {"cloudwatch:DescribeAlarms"},
            ["${aws_cloudwatch_metric_alarm.fragile_errors.arn}"],
        ),
        "healer_dlq": ({"sqs:SendMessage"}, ["${aws_sqs_queue.healer_dlq.arn}"]),
        "healer_kms": (None, ["${aws_kms_key.main.arn}"]),
        "healer_logs": (None, ["${aws_cloudwatch_log_group.healer.arn}:*"]),
    }
    for name, (actions, resources) in expect.items():
        (statement,) = docs[name]["statement"]
        assert statement["resources"] == resources, name
        if actions is not None:
            assert set(statement["actions"]) == actions, name


# IAM authorises a DynamoDB transaction per item; TransactWriteItems itself is no IAM action.
TRANSACTION_ITEM_ACTIONS = {
    "Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem",
}  # fmt: skip
# The IAM prefix of each boto3 service the healer may use (botocore's signing names differ, e.g. monitoring).
IAM_PREFIX = {"lambda": "lambda", "dynamodb": "dynamodb", "sns": "sns", "cloudwatch": "cloudwatch"}
# Grants for what Lambda does with the healer's role rather than what its code calls.
RUNTIME_GRANTS = {
    "logs:CreateLogStream", "logs:PutLogEvents",  # the runtime writes the function's logs
    "sqs:SendMessage",  # failed asynchronous events go to the DLQ
    "kms:Decrypt", "kms:GenerateDataKey",  # sns:Publish to the encrypted topic; the encrypted DLQ
    "xray:PutTraceSegments", "xray:PutTelemetryRecords",  # active tracing
}  # fmt: skip
# The one policy document (concern) that grants each service's actions.
HEALER_DOCUMENT_OF_SERVICE = {
    "lambda": "healer_lambda_config", "dynamodb": "healer_ledger", "sns": "healer_escalation",
    "cloudwatch": "healer_describe_alarm", "logs": "healer_logs", "sqs": "healer_dlq", "kms": "healer_kms",
    "xray": "healer_xray",
}  # fmt: skip


def _callee(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _first_string(call: ast.Call) -> str | None:
    first = call.args[0] if call.args else None
    return first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None


def boto3_actions(sources: Iterable[str]) -> set[str]:
    """The IAM actions of the AWS calls in Python ``sources``, found by walking their syntax trees.

    The services are those named by a string in a ``...client("service")`` call. A call of an operation of
    theirs (botocore's models) is ``anything.<operation>(...)``, or a call whose first argument names the
    operation (``table.call("get_item", ...)``, ``getattr(client, "get_item")``). ``transact_write_items``
    needs the action of each of its items (``Update`` → ``UpdateItem``, ``ConditionCheck`` →
    ``ConditionCheckItem``, ...), read from the dict keys of the call.
    """
    calls = [node for source in sources for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Call)]
    services = {name for c in calls if _callee(c).endswith("client") and (name := _first_string(c))}
    session = botocore.session.get_session()
    operations: dict[str, list[tuple[str, str]]] = {}
    for service in nonempty(services, "boto3 services"):
        for operation in session.get_service_model(service).operation_names:
            operations.setdefault(xform_name(operation), []).append((service, operation))
    actions: set[str] = set()
    for call in calls:
        for name in {_callee(call), _first_string(call) or ""} & operations.keys():
            assert len(operations[name]) == 1, (
                f"{name} is an operation of several services: {operations[name]}"
            )
            [(service, operation)] = operations[name]
            prefix = IAM_PREFIX[service]
            if operation != "TransactWriteItems":
                actions.add(f"{prefix}:{operation}")
                continue
            keys = {
                key.value
                for node in ast.walk(call)
                if isinstance(node, ast.Dict)
                for key in node.keys
                if isinstance(key, ast.Constant) and key.value in TRANSACTION_ITEM_ACTIONS
            }
            actions |= {
                f"{prefix}:{TRANSACTION_ITEM_ACTIONS[key]}" for key in nonempty(keys, "transaction items")
            }
    return actions


def test_action_walk_finds_client_methods_named_operations_and_transaction_items() -> None:
    """The walk sees a direct call, an operation named by string, and each transaction item's action."""
    source = """
ddb = shared_client("dynamodb")
ddb.delete_item(TableName="t", Key={})
table.call("query", KeyConditionExpression="pk = :pk")
ddb.transact_write_items(TransactItems=[{"ConditionCheck": {"TableName": "t"}}, {"Put": {"Item": {}}}])
ddb.close()
"""
    assert boto3_actions([source]) == {
        "dynamodb:DeleteItem", "dynamodb:Query", "dynamodb:ConditionCheckItem", "dynamodb:PutItem",
    }  # fmt: skip
    with pytest.raises(AssertionError, match="transaction items"):
        boto3_actions(['c = client("dynamodb")\nc.transact_write_items(TransactItems=items)'])


def test_healer_role_grants_exactly_what_the_healer_calls() -> None:
    """The healer's role grants what its code calls and what the runtime needs: nothing missing or extra.

    Each action is granted by the policy document of its service's concern.
    """
    sources = [path.read_text() for path in nonempty(HEALER_SOURCE.rglob("*.py"), "healer modules")]
    calls = set(nonempty(boto3_actions(sources), "calls of the healer"))
    documents = dict(policy_documents())
    granted = [
        (action, name)
        for name in nonempty(attached_documents()["healer"], "healer policies")
        for statement in documents[name]["statement"]
        for action in statement["actions"]
    ]
    actions = [action for action, _ in granted]
    assert len(actions) == len(set(actions)), "an action granted twice"
    assert set(actions) == calls | RUNTIME_GRANTS
    for action, name in granted:
        assert HEALER_DOCUMENT_OF_SERVICE[action.split(":")[0]] == name, action


def test_checkov_skips_carry_reasons() -> None:
    """Every inline checkov skip names a check and gives a reason."""
    skips = [
        (path.name, line.strip())
        for path in nonempty(MODULE.glob("*.tf"), ".tf files")
        for line in path.read_text().splitlines()
        if "checkov:skip=" in line
    ]
    for name, line in nonempty(skips, "checkov skips"):
        assert re.search(r"checkov:skip=CKV2?_AWS_\d+:\S.{10,}", line), f"{name}: {line}"


def test_healer_policy_names_the_fragile_function_arn() -> None:
    """The healer's ARN, built from parts, is the ARN of the very function the module creates."""
    module = load_module()
    arn = module.locals["fragile_function_arn"]
    assert arn == (
        "arn:${local.partition}:lambda:${var.aws_region}:${local.account_id}"
        ":function:${local.fragile_function_name}"
    )
    assert module.resource("aws_lambda_function.fragile")["function_name"] == "${local.fragile_function_name}"
    assert module.resource("aws_lambda_function.fragile").get("region") in (None, "${var.aws_region}")
