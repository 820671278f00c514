"""Contract tests of deploy/fragile, the seed's example composed from deploy/modules/{platform,protect}.

The loop's wiring, names, IAM scoping, variables and provider schema are checked where each resource now
lives: the fragile function, its role, the HTTP API, its log groups and the dashboard in deploy/fragile;
the healer, its role, the topics, the ledger, the DLQ and the key in the platform module; the alarm, the
registry entry and the healer's grants on the fragile function in the protect module, through the
module calls deploy/fragile makes (healer.tf, alarms.tf).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from functools import cache
from typing import Any

import botocore.session
import pytest
from botocore import xform_name

from terraform_hcl import (
    ARCHIVE_FILE,
    MODULE_REFERENCE,
    ROOT,
    Module,
    comments,
    interpolations,
    load_dir,
    nonempty,
    parse,
    reference_problems,
    reference_texts,
    schema_problems_of,
)

MODULE = ROOT / "deploy" / "fragile"
DIRS = {
    "fragile": MODULE,
    "platform": ROOT / "deploy" / "modules" / "platform",
    "protect": ROOT / "deploy" / "modules" / "protect",
}
# The module calls of deploy/fragile: call name → the directory (key of DIRS) it calls.
CALLS = {"platform": "platform", "protect_fragile": "protect"}
HEALER_SOURCE = ROOT / "src" / "healer"
INTERNALS = ROOT / "docs" / "internals.md"
# The seed's file names, each kept: a concern, a module call, or a comment saying where it now lives.
SEED_FILES = {
    "api_gateway.tf", "alarms.tf", "backend.tf", "cloudwatch.tf", "data.tf", "escalation.tf", "healer.tf",
    "healer_iam.tf", "healer_sns_permission.tf", "healer_subscription.tf", "iam.tf", "kms.tf", "lambda.tf",
    "ledger.tf", "locals.tf", "outputs.tf", "sns.tf", "variables.tf", "versions.tf",
}  # fmt: skip
# archive_file as deploy/fragile may use it: a whole directory (source_dir), never one file.
FRAGILE_ARCHIVE_FILE = {
    **ARCHIVE_FILE,
    "arguments": {key: spec for key, spec in ARCHIVE_FILE["arguments"].items() if key != "source_file"},
}


@cache
def load(name: str = "fragile") -> Module:
    """Parse DIRS[name]/*.tf with python-hcl2 into one Module."""
    return load_dir(DIRS[name])


def call(name: str) -> dict[str, Any]:
    """The arguments deploy/fragile passes in its module call ``name``."""
    return load().modules[name]


def resolve(text: str, scope: str = "fragile") -> str:
    """Substitute locals and variables into a name expression of directory ``scope``.

    In deploy/fragile a variable is its default; in a module it is what deploy/fragile's call passes,
    resolved in turn in deploy/fragile.
    """
    module = load(scope)
    caller = {directory: name for name, directory in CALLS.items()}.get(scope)

    def local(match: re.Match[str]) -> str:
        return resolve(str(module.locals[match.group(1)]), scope)

    def variable(match: re.Match[str]) -> str:
        if caller is None:
            return str(module.variables[match.group(1)]["default"])
        return resolve(str(call(caller)[match.group(1)]), "fragile")

    for _ in range(5):
        text = re.sub(r"\$\{local\.(\w+)\}", local, text)
        text = re.sub(r"\$\{var\.(\w+)\}", variable, text)
    return text


# --- files and schema -----------------------------------------------------------------------------


def test_module_keeps_the_seed_files_and_no_others() -> None:
    """deploy/fragile holds exactly the seed's .tf files, one per concern."""
    assert {p.name for p in MODULE.glob("*.tf")} == SEED_FILES


def test_files_without_blocks_say_where_their_resources_now_live() -> None:
    """A seed file reduced to a comment names the module file that now holds its resources."""
    moved = [path for path in sorted(MODULE.glob("*.tf")) if set(parse(path)) <= {"__comments__"}]
    expected = {
        "escalation.tf", "healer_iam.tf", "healer_sns_permission.tf", "healer_subscription.tf", "kms.tf",
        "ledger.tf", "sns.tf",
    }  # fmt: skip
    assert {path.name for path in nonempty(moved, "comment-only files")} == expected
    for path in moved:
        text = path.read_text()
        assert all(line.startswith("#") for line in text.splitlines() if line.strip()), path.name
        targets = nonempty(re.findall(r"deploy/modules/[a-z]+/[a-z_]+\.tf", text), f"paths in {path.name}")
        for target in targets:
            assert (ROOT / target).is_file(), f"{path.name} names {target}, which does not exist"


def test_every_block_conforms_to_the_provider_schema() -> None:
    """Every resource and data source uses only types, arguments and blocks in the 6.25.0 subset."""
    assert schema_problems_of(load(), "resource or data blocks", FRAGILE_ARCHIVE_FILE) == []


def test_every_reference_names_a_declared_block_and_a_known_attribute() -> None:
    """References like aws_x.name.attr and module.m.output point at something declared."""
    module = load()
    texts = reference_texts(module)
    problems = reference_problems(module, texts, "references", FRAGILE_ARCHIVE_FILE)
    module_references = [(label, ref) for label, text in texts for ref in MODULE_REFERENCE.findall(text)]
    for label, (called, output) in nonempty(module_references, "module references"):
        if called not in CALLS:
            problems.append(f"{label}: module.{called} is not a module call of deploy/fragile")
        elif output not in load(CALLS[called]).outputs:
            problems.append(f"{label}: module.{called} has no output {output!r}")
    assert problems == []


def test_module_calls_pass_only_declared_inputs_and_every_required_one() -> None:
    """Each module call names its module by a relative path and gives it only (and all required) inputs."""
    assert set(load().modules) == set(CALLS)
    for name, directory in CALLS.items():
        arguments = call(name)
        assert (MODULE / arguments["source"]).resolve() == DIRS[directory].resolve(), name
        given = {k for k in arguments if k not in ("source", "__comments__")}
        variables = load(directory).variables
        assert given <= set(variables), f"{name}: unknown inputs {given - set(variables)}"
        required = {v for v, body in variables.items() if "default" not in body}
        assert required <= given, f"{name}: missing inputs {required - given}"
    assert call("protect_fragile")["platform"] == "${module.platform.platform}"


def test_variable_and_local_references_are_declared() -> None:
    """Every var.x and local.x used anywhere is declared."""
    module = load()
    everything = [b for *_, b in module.blocks()]
    everything += [module.outputs, module.locals, module.providers, module.modules]
    used_vars, used_locals = set(), set()
    for value in everything:
        for text in interpolations(value):
            used_vars.update(re.findall(r"\bvar\.(\w+)", text))
            used_locals.update(re.findall(r"\blocal\.(\w+)", text))
    nonempty(used_vars, "var references")
    nonempty(used_locals, "local references")
    assert used_vars <= set(module.variables)
    assert used_locals <= set(module.locals)


def test_every_variable_is_used() -> None:
    """Each of the seed's variables still reaches a resource, a module call, a local or an output."""
    module = load()
    everything = [b for *_, b in module.blocks()]
    everything += [module.outputs, module.locals, module.providers, module.modules]
    used = {
        v for value in everything for text in interpolations(value) for v in re.findall(r"\bvar\.(\w+)", text)
    }
    assert set(nonempty(module.variables, "variables")) - used == set()


# --- versions and backend ---------------------------------------------------------------------------


def test_versions_and_provider_configuration() -> None:
    """Terraform >= 1.5, aws as the modules require, archive >= 2.5 (glob excludes); region, tags."""
    module = load()
    (settings,) = [t for t in module.terraform if "required_providers" in t]
    assert settings["required_version"] == ">= 1.5"
    (providers,) = settings["required_providers"]
    assert providers["aws"] == {"source": "hashicorp/aws", "version": ">= 6.25, < 7"}
    assert providers["archive"] == {"source": "hashicorp/archive", "version": ">= 2.5"}
    for directory in ("platform", "protect"):
        (called,) = [t for t in load(directory).terraform if "required_providers" in t]
        assert called["required_providers"][0]["aws"]["version"] == providers["aws"]["version"], directory
    aws = module.providers["aws"]
    assert aws["region"] == "${var.aws_region}"
    assert aws["default_tags"] == [{"tags": "${var.tags}"}]


def test_backend_is_a_partial_s3_backend() -> None:
    """The backend is `s3` with no settings, so -backend-config (or -backend=false) decides at init."""
    module = load()
    backends = [b for t in module.terraform for b in t.get("backend", [])]
    assert backends == [{"s3": {}}]
    text = (MODULE / "backend.tf").read_text()
    for setting in ("bucket=", "key=", "region=", "use_lockfile=true"):
        assert setting in text


# --- the loop ---------------------------------------------------------------------------------------


def test_alarm_watches_fragile_errors() -> None:
    """The alarm is AWS/Lambda Errors Sum of the fragile function, thresholds from the seed's variables."""
    protect = call("protect_fragile")
    assert protect["function_name"] == "${local.fragile_function_name}"
    assert load().resource("aws_lambda_function.fragile")["function_name"] == "${local.fragile_function_name}"
    assert protect["signals"] == {
        "errors": {
            "threshold": "${var.alarm_threshold}",
            "period": "${var.alarm_period_seconds}",
            "evaluation_periods": "${var.alarm_evaluation_periods}",
            "datapoints_to_alarm": "${var.alarm_datapoints_to_alarm}",
        }
    }
    module = load("protect")
    assert module.locals["metric_of_signal"]["errors"] == {
        "namespace": "AWS/Lambda", "metric_name": "Errors", "statistic": "Sum", "extended_statistic": None,
        "dimensions": "${local.function_dimensions}",
    }  # fmt: skip
    assert module.locals["function_dimensions"] == {"FunctionName": "${var.function_name}"}
    alarm = module.resource("aws_cloudwatch_metric_alarm.metric")
    assert alarm["period"] == "${each.value.period}"
    assert alarm["evaluation_periods"] == "${each.value.evaluation_periods}"
    assert alarm["datapoints_to_alarm"] == "${each.value.datapoints_to_alarm}"
    assert alarm["threshold"] == "${each.value.threshold}"
    assert alarm["comparison_operator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["treat_missing_data"] == "notBreaching"
    # The seed's precondition datapoints <= evaluation periods is the signals validation now.
    conditions = " ".join(v["condition"] for v in module.variables["signals"]["validation"])
    assert "s.datapoints_to_alarm <= s.evaluation_periods" in conditions


def test_alarm_notifies_topic_which_invokes_healer() -> None:
    """alarm -> topic (ALARM and OK) -> lambda subscription -> healer, with SNS allowed to invoke it."""
    alarm = load("protect").resource("aws_cloudwatch_metric_alarm.metric")
    assert alarm["alarm_actions"] == ["${var.platform.alarm_topic_arn}"]
    assert alarm["ok_actions"] == ["${var.platform.alarm_topic_arn}"]
    module = load("platform")
    topic = "${aws_sns_topic.alarms.arn}"
    assert module.outputs["platform"]["value"]["alarm_topic_arn"] == topic
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


def test_alarm_registry_entry_heals_with_failure_rate_zero() -> None:
    """The fragile function's registry entry: playbook set_env FAILURE_RATE=0, auto, the seed's rails."""
    protect = call("protect_fragile")
    assert protect["playbook"] == ["set_env"]
    assert protect["set_env"] == {"FAILURE_RATE": "0"}
    assert protect["mode"] == "auto"
    assert protect["rails"] == {
        "cooldown_seconds": "${var.healer_cooldown_seconds}",
        "max_actions_per_window": "${var.healer_max_actions_per_window}",
        "action_window_seconds": "${var.healer_action_window_seconds}",
        "verify_timeout_seconds": "${var.healer_verify_timeout_seconds}",
    }
    # What the registry entry (what the healer reads) takes from those inputs.
    entries = re.sub(r"\s+", " ", load("protect").locals["registry_entries"])
    for pair in (
        "playbook = var.playbook",
        "set_env = var.set_env",
        "mode = var.mode",
        "rails = local.rails",
    ):
        assert pair in entries, pair
    rails = re.sub(r"\s+", " ", load("protect").locals["rails"])
    assert "var.rails[name] == null ? default : var.rails[name]" in rails


def test_platform_call_maps_the_healer_variables() -> None:
    """name_prefix, dry run, concurrency, event age, retention and the layer reach the platform."""
    platform = call("platform")
    assert platform["name"] == "${var.name_prefix}"
    assert platform["dry_run"] == "${var.healer_dry_run}"
    assert platform["healer_reserved_concurrency"] == "${var.healer_reserved_concurrency}"
    assert platform["healer_max_event_age_seconds"] == "${var.healer_max_event_age_seconds}"
    assert platform["log_retention_days"] == "${var.log_retention_days}"
    assert platform["powertools_layer_arn"] == "${var.powertools_layer_arn}"
    healer = load("platform").resource("aws_lambda_function.healer")
    (environment,) = healer["environment"]
    assert environment["variables"]["DRY_RUN"] == "${tostring(var.dry_run)}"
    assert healer["reserved_concurrent_executions"] == "${var.healer_reserved_concurrency}"


def test_fleet_rails_never_bind_tighter_than_the_functions_own() -> None:
    """One incident in flight below the healer's reserved concurrency; the hourly budget ≥ the action cap."""
    locals_ = load().locals
    assert call("platform")["fleet_max_in_flight"] == "${local.fleet_max_in_flight}"
    assert call("platform")["fleet_max_actions_per_hour"] == "${local.fleet_max_actions_per_hour}"
    in_flight = "${var.healer_reserved_concurrency == -1 ? 3 : var.healer_reserved_concurrency - 1}"
    assert locals_["fleet_max_in_flight"] == in_flight
    per_hour = re.sub(r"\s+", "", locals_["fleet_max_actions_per_hour"])
    assert per_hour == (
        "${min(1000,max(10,ceil(var.healer_max_actions_per_window*3600/var.healer_action_window_seconds)))}"
    )
    # The platform requires reserved concurrency above fleet_max_in_flight (at least 2): so does the seed.
    (validation,) = load().variables["healer_reserved_concurrency"]["validation"]
    assert "var.healer_reserved_concurrency >= 2" in validation["condition"]
    (platform_validation,) = load("platform").variables["healer_reserved_concurrency"]["validation"]
    assert "var.healer_reserved_concurrency >= 2" in platform_validation["condition"]


def test_alarm_topic_policy_admits_only_alarms_of_this_account() -> None:
    """CloudWatch may publish to the alarm topic only for alarms of this account and region."""
    module = load("platform")
    assert module.resource("aws_sns_topic_policy.alarms")["policy"] == (
        "${data.aws_iam_policy_document.alarm_topic.json}"
    )
    (statement,) = module.data[("aws_iam_policy_document", "alarm_topic")]["statement"]
    assert statement["principals"] == [{"type": "Service", "identifiers": ["cloudwatch.amazonaws.com"]}]
    assert statement["actions"] == ["sns:Publish"]
    conditions = {(c["variable"], tuple(c["values"])) for c in statement["condition"]}
    assert conditions == {
        ("aws:SourceAccount", ("${local.account_id}",)),
        ("aws:SourceArn", ("arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:*",)),
    }


def test_topics_table_queue_and_logs_use_the_customer_managed_key() -> None:
    """Both topics, the ledger, the DLQ and every log group are encrypted with the platform's CMK."""
    platform = load("platform")
    key = "${aws_kms_key.main.arn}"
    assert platform.resource("aws_sns_topic.alarms")["kms_master_key_id"] == key
    assert platform.resource("aws_sns_topic.escalations")["kms_master_key_id"] == key
    assert platform.resource("aws_sqs_queue.healer_dlq")["kms_master_key_id"] == key
    assert platform.resource("aws_dynamodb_table.ledger")["server_side_encryption"] == [
        {"enabled": True, "kms_key_arn": key}
    ]
    assert platform.resource("aws_cloudwatch_log_group.healer")["kms_key_id"] == key
    assert platform.outputs["kms_key_arn"]["value"] == key
    log_groups = [b for (kind, _), b in load().resources.items() if kind == "aws_cloudwatch_log_group"]
    assert len(log_groups) == 2
    for body in log_groups:
        assert body["kms_key_id"] == "${module.platform.kms_key_arn}"
    assert not [kind for kind, _ in load().resources if kind == "aws_kms_key"], "one key, the platform's"
    statements = platform.data[("aws_iam_policy_document", "kms_key")]["statement"]
    services = {i for s in statements for p in s.get("principals", []) for i in p["identifiers"]}
    assert {"cloudwatch.amazonaws.com", "sns.amazonaws.com", "logs.${local.region}.amazonaws.com"} <= services


def test_ledger_table_shape() -> None:
    """The ledger has string pk/sk keys, on-demand billing, TTL on expires_at and PITR."""
    ledger = load("platform").resource("aws_dynamodb_table.ledger")
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
    module = load("platform")
    healer = module.resource("aws_lambda_function.healer")
    dlq = "${aws_sqs_queue.healer_dlq.arn}"
    assert healer["dead_letter_config"] == [{"target_arn": dlq}]
    assert healer["tracing_config"] == [{"mode": "Active"}]
    assert healer["timeout"] == "${local.healer_timeout_seconds}"
    invoke = module.resource("aws_lambda_function_event_invoke_config.healer")
    assert invoke["function_name"] == "${aws_lambda_function.healer.function_name}"
    assert invoke["maximum_retry_attempts"] == 2
    assert invoke["maximum_event_age_in_seconds"] == "${var.healer_max_event_age_seconds}"
    assert invoke["destination_config"] == [{"on_failure": [{"destination": dlq}]}]


def test_verify_timeout_validation_keeps_healer_within_lambda_limit() -> None:
    """The verify deadline fits the healer's timeout with a 60 s margin, as the platform's playbook rule."""
    (validation,) = load().variables["healer_verify_timeout_seconds"]["validation"]
    bound = re.search(r"var\.healer_verify_timeout_seconds <= (\d+)", validation["condition"])
    assert bound is not None
    platform = load("platform").locals
    timeout = platform["healer_timeout_seconds"]
    assert isinstance(timeout, int) and timeout <= 900
    assert int(bound.group(1)) + 60 <= timeout
    assert platform["max_playbook_seconds"] == "${local.healer_timeout_seconds - 60}"
    # One step (set_env): the whole playbook is one verify deadline.
    assert len(call("protect_fragile")["playbook"]) == 1


def test_http_api_routes_everything_to_fragile_function() -> None:
    """HTTP API: AWS_PROXY 2.0 integration, $default route, auto-deployed throttled $default stage."""
    module = load()
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


def test_dashboard_shows_the_alarm_and_the_healer_of_the_modules() -> None:
    """The dashboard's alarm widget is the protect instance's alarm; its healer panels the platform's."""
    body = load().resource("aws_cloudwatch_dashboard.loop")["dashboard_body"]
    assert 'module.protect_fragile.alarm_arns["errors"]' in body
    assert "module.platform.healer_function_name" in body
    assert "local.healer_service_name" in body and "local.metrics_namespace" in body
    healer = load("platform")
    (environment,) = healer.resource("aws_lambda_function.healer")["environment"]
    assert resolve("${local.healer_service_name}") == resolve(
        environment["variables"]["POWERTOOLS_SERVICE_NAME"], "platform"
    )
    assert resolve("${local.metrics_namespace}") == resolve(
        environment["variables"]["POWERTOOLS_METRICS_NAMESPACE"], "platform"
    )


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
    ("scope", "archive", "package", "handler"),
    [
        ("fragile", "fragile", "fragile_service", "fragile_service.app.handler"),
        ("platform", "healer", "healer", "healer.app.handler"),
    ],
)
def test_lambda_zip_holds_only_its_own_package(scope: str, archive: str, package: str, handler: str) -> None:
    """Applying the archive's excludes to a src/ tree keeps exactly the function's own package."""
    module = load(scope)
    data = module.data[("archive_file", archive)]
    source = data["source_dir"]
    assert source.startswith("${path.module}/")
    assert (DIRS[scope] / source.removeprefix("${path.module}/")).resolve() == ROOT / "src"
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
    module = load()
    default = module.locals["powertools_layer_arn"]
    arn = re.search(r'"(arn:[^"]+)"', default)
    assert arn is not None
    filled = (
        arn.group(1)
        .replace("${data.aws_partition.current.partition}", "aws")
        .replace("${var.aws_region}", "eu-west-1")
    )
    (validation,) = module.variables["powertools_layer_arn"]["validation"]
    regex = re.search(r'regex\("(.+?)", var\.powertools_layer_arn\)', validation["condition"])
    assert regex is not None
    assert re.fullmatch(regex.group(1).replace("\\\\", "\\"), filled)
    assert re.fullmatch(regex.group(1).replace("\\\\", "\\"), "not-an-arn") is None


# --- names, outputs and environment per docs/internals.md ---------------------------------------------

# thing → (directory, resource address, argument naming it); the errors alarm is named by protect's
# local.alarm_names (test_names_follow_internals).
INTERNALS_NAME_OWNERS = {
    "fragile function": ("fragile", "aws_lambda_function.fragile", "function_name"),
    "healer function": ("platform", "aws_lambda_function.healer", "function_name"),
    "errors alarm": ("protect", "aws_cloudwatch_metric_alarm.metric", "alarm_name"),
    "alarm topic": ("platform", "aws_sns_topic.alarms", "name"),
    "escalation topic": ("platform", "aws_sns_topic.escalations", "name"),
    "ledger table": ("platform", "aws_dynamodb_table.ledger", "name"),
    "healer on-failure queue": ("platform", "aws_sqs_queue.healer_dlq", "name"),
    "HTTP API": ("fragile", "aws_apigatewayv2_api.http", "name"),
    "CloudWatch dashboard": ("fragile", "aws_cloudwatch_dashboard.loop", "dashboard_name"),
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
    """Each name in docs/internals.md's table is what the modules give the matching resource."""
    names = internals_names()
    assert set(names) == set(INTERNALS_NAME_OWNERS)
    for thing, (scope, address, argument) in INTERNALS_NAME_OWNERS.items():
        expected = names[thing].replace("${name_prefix}", "selfheal")
        value = load(scope).resource(address)[argument]
        if thing == "errors alarm":
            # PREFIX-SIGNAL, signal errors, PREFIX from deploy/fragile's call.
            assert value == "${local.alarm_names[each.key]}"
            protect = load("protect").locals
            assert protect["alarm_name_prefix"] == "${coalesce(var.alarm_name_prefix, var.function_name)}"
            formula = re.sub(r"\s+", "", protect["alarm_names"])
            assert '"${local.alarm_name_prefix}-${replace(name,"_","-")}"' in formula
            value = resolve(call("protect_fragile")["alarm_name_prefix"]) + "-errors"
        assert resolve(value, scope) == expected, thing


def test_outputs_follow_internals() -> None:
    """The module's outputs are exactly those docs/internals.md lists, each with a description."""
    module = load()
    expected = set(nonempty((n for n in internals_list("Terraform outputs:") if n.islower()), "outputs"))
    assert set(module.outputs) == expected
    assert all(o.get("description") for o in module.outputs.values())
    values = {name: body["value"] for name, body in module.outputs.items()}
    assert values == {
        "api_endpoint": "${aws_apigatewayv2_stage.default.invoke_url}",
        "fragile_function_name": "${aws_lambda_function.fragile.function_name}",
        "healer_function_name": "${module.platform.healer_function_name}",
        "alarm_name": '${module.protect_fragile.alarm_names["errors"]}',
        "alarm_topic_arn": "${module.platform.alarm_topic_arn}",
        "escalation_topic_arn": "${module.platform.escalation_topic_arn}",
        "ledger_table_name": "${module.platform.ledger_table_name}",
        "registry_path": "${module.platform.registry_path}",
        "healer_dlq_url": "${module.platform.healer_dlq_url}",
        "dashboard_name": "${aws_cloudwatch_dashboard.loop.dashboard_name}",
        "region": "${var.aws_region}",
    }


@pytest.mark.parametrize(
    ("scope", "function", "paragraph"),
    [("fragile", "fragile", "Fragile service:"), ("platform", "healer", "Healer:")],
)
def test_environment_follows_internals(scope: str, function: str, paragraph: str) -> None:
    """Each function's environment variables are exactly those docs/internals.md names for it."""
    expected = set(nonempty((n for n in internals_list(paragraph) if n.isupper()), "variables"))
    (environment,) = load(scope).resource(f"aws_lambda_function.{function}")["environment"]
    assert set(environment["variables"]) == expected


def test_fragile_environment_comes_from_variables() -> None:
    """The failure-injection variables of the fragile function are Terraform variables."""
    (environment,) = load().resource("aws_lambda_function.fragile")["environment"]
    env = environment["variables"]
    assert env["FAILURE_RATE"] == "${tostring(var.failure_rate)}"
    assert env["FAILURE_MODE"] == "${var.failure_mode}"
    assert env["FAILURE_INJECTION_ENABLED"] == "${tostring(var.failure_injection_enabled)}"
    assert load().variables["failure_rate"]["default"] == 0.3


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
    variables = load().variables
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
    """The period validation names 10, 20, 30 and multiples of 60, here and in the protect module."""
    (validation,) = load().variables["alarm_period_seconds"]["validation"]
    assert "[10, 20, 30]" in validation["condition"]
    assert "% 60 == 0" in validation["condition"]
    conditions = " ".join(v["condition"] for v in load("protect").variables["signals"]["validation"])
    assert "[10, 20, 30]" in conditions and "s.period % 60 == 0" in conditions


# --- IAM ------------------------------------------------------------------------------------------------


def policy_documents(scope: str) -> dict[str, dict[str, Any]]:
    documents = {
        name: body for (kind, name), body in load(scope).data.items() if kind == "aws_iam_policy_document"
    }
    assert documents, f"no policy documents in {scope}"
    return documents


def statements() -> list[tuple[str, str, dict[str, Any]]]:
    """(directory, document, statement) for every statement of every document of the composed stack."""
    found = [
        (scope, name, statement)
        for scope in DIRS
        for name, document in policy_documents(scope).items()
        for statement in document.get("statement", [])
    ]
    return nonempty(found, "policy statements")


def test_star_resources_carry_a_comment_saying_why() -> None:
    """A "*" resource appears only in statements that carry a comment explaining it."""
    starred = nonempty(((s, n, st) for s, n, st in statements() if "*" in st.get("resources", [])), '"*"')
    problems = [
        f"{scope}/{name}/{st.get('sid')}"
        for scope, name, st in starred
        if not any("*" in c for c in comments(st))
    ]
    assert problems == []


def test_star_resources_only_where_aws_allows_nothing_narrower() -> None:
    """Only X-Ray trace writes and the key's own policy use "*"; every other statement names ARNs."""
    starred = [(s, n, st) for s, n, st in statements() if "*" in st.get("resources", []) and n != "kms_key"]
    for scope, name, statement in nonempty(starred, '"*" statements outside the key policy'):
        # (a key policy's "*" is the key itself)
        assert set(statement["actions"]) <= {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}, (
            scope,
            name,
        )


def test_no_wildcard_actions_in_role_policies() -> None:
    """Execution-role statements list actions explicitly (no service:* grants)."""
    role_statements = [(s, n, st) for s, n, st in statements() if n != "kms_key"]
    for scope, name, statement in nonempty(role_statements, "execution-role statements"):
        actions = statement.get("actions", [])
        listed = [actions] if isinstance(actions, str) else actions
        nonempty(listed, f"actions in {scope}/{name}")
        assert not any(a.endswith(":*") or a == "*" for a in listed), (scope, name)


def attached_documents(scope: str) -> dict[str, set[str]]:
    """Role (as the policy names it) → the policy documents of its inline policies in ``scope``."""
    attached: dict[str, set[str]] = {}
    for (kind, _), body in load(scope).resources.items():
        if kind == "aws_iam_role_policy":
            role = re.fullmatch(
                r"\$\{(aws_iam_role\.\w+\.id|var\.platform\.healer_role_name)\}", body["role"]
            )
            document = re.fullmatch(r"\$\{data\.aws_iam_policy_document\.(\w+)\.json\}", body["policy"])
            assert role and document, body
            attached.setdefault(role.group(1), set()).add(document.group(1))
    return attached


def test_one_policy_document_per_concern_attached_to_the_roles() -> None:
    """Each role gets one inline policy per concern, each from its own policy document."""
    assert attached_documents("fragile") == {"aws_iam_role.fragile.id": {"fragile_logs", "fragile_xray"}}
    assert attached_documents("platform") == {
        "aws_iam_role.healer.id": {
            "healer_logs", "healer_ledger", "healer_registry", "healer_escalation", "healer_dlq",
            "healer_kms", "healer_xray", "healer_remediation",
        }
    }  # fmt: skip
    # The protect instance's grants go on its function's remediation role, which the healer assumes.
    assert attached_documents("protect") == {"aws_iam_role.remediation.id": {"healer"}}
    assert load("platform").outputs["platform"]["value"]["healer_role_name"] == "${aws_iam_role.healer.name}"
    assert load("platform").resource("aws_lambda_function.healer")["role"] == "${aws_iam_role.healer.arn}"
    assert load().resource("aws_lambda_function.fragile")["role"] == "${aws_iam_role.fragile.arn}"
    assert not [kind for kind, _ in load().resources if kind == "aws_iam_role_policy_attachment"]


def test_healer_permissions_are_scoped_to_its_targets() -> None:
    """The healer may only reconfigure the fragile function, use its ledger, escalate and read its alarm."""
    docs = policy_documents("platform")
    expect = {
        "healer_ledger": (None, ["${aws_dynamodb_table.ledger.arn}"]),
        "healer_registry": ({"ssm:GetParameter"}, ["${local.registry_parameter_arn_prefix}/*"]),
        "healer_escalation": ({"sns:Publish"}, ["${aws_sns_topic.escalations.arn}"]),
        "healer_dlq": ({"sqs:SendMessage"}, ["${aws_sqs_queue.healer_dlq.arn}"]),
        "healer_kms": (None, ["${aws_kms_key.main.arn}"]),
        "healer_logs": (None, ["${aws_cloudwatch_log_group.healer.arn}:*"]),
    }
    for name, (actions, resources) in expect.items():
        (statement,) = docs[name]["statement"]
        assert statement["resources"] == resources, name
        if actions is not None:
            assert set(statement["actions"]) == actions, name
    # On the fragile function: what the playbook (set_env) needs, on the function and its qualifiers only.
    protect = load("protect")
    heal, alarms = policy_documents("protect")["healer"]["statement"]
    assert heal["actions"] == "${local.function_actions}"
    assert heal["resources"] == ["${local.function_arn}", "${local.function_qualified_arns}"]
    assert alarms["actions"] == ["cloudwatch:DescribeAlarms"] and alarms["resources"] == "${local.alarm_arns}"
    table = protect.locals["lambda_actions_of"]
    granted = {"lambda:GetFunctionConfiguration"}
    granted |= {a for action in call("protect_fragile")["playbook"] for a in table[action]}
    assert granted == {"lambda:GetFunctionConfiguration", "lambda:UpdateFunctionConfiguration"}
    assert '"lambda:GetFunctionConfiguration"' in protect.locals["function_actions"]
    assert "var.playbook" in protect.locals["function_actions"]


# IAM authorises a DynamoDB transaction per item; TransactWriteItems itself is no IAM action.
TRANSACTION_ITEM_ACTIONS = {
    "Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem",
}  # fmt: skip
# The IAM prefix of each boto3 service the healer may use (botocore's signing names differ, e.g. monitoring).
IAM_PREFIX = {
    "lambda": "lambda",
    "dynamodb": "dynamodb",
    "sns": "sns",
    "cloudwatch": "cloudwatch",
    "ssm": "ssm",
    "sts": "sts",
}
# Grants for what Lambda does with the healer's role rather than what its code calls.
RUNTIME_GRANTS = {
    "logs:CreateLogStream", "logs:PutLogEvents",  # the runtime writes the function's logs
    "sqs:SendMessage",  # failed asynchronous events go to the DLQ
    "kms:Decrypt", "kms:GenerateDataKey",  # sns:Publish to the encrypted topic; the encrypted DLQ
    "xray:PutTraceSegments", "xray:PutTelemetryRecords",  # active tracing
}  # fmt: skip
# Calls in the healer's code that no policy grants, each with why the deployed healer never makes them.
NEVER_GRANTED = {
    # Supports no resource-level permission ("*" only): docs/platform.md never grants it. The healer lists
    # mappings only for a registry entry without event_source_mapping_uuids, and the protect module
    # requires them whenever the playbook has disable_event_source.
    "lambda:ListEventSourceMappings",
    # healer.registry.Registry.protections lists the whole registry; nothing on the healer's invocation
    # path calls it (it reads one entry per alarm with GetParameter).
    "ssm:GetParametersByPath",
}
# (directory, policy document) that grants each service's actions: one concern each.
HEALER_DOCUMENTS_OF_SERVICE = {
    "lambda": {("protect", "healer"), ("protect", "event_source_mappings")},
    "cloudwatch": {("protect", "healer")},
    "dynamodb": {("platform", "healer_ledger")},
    "ssm": {("platform", "healer_registry")},
    "sns": {("platform", "healer_escalation")},
    "logs": {("platform", "healer_logs")},
    "sqs": {("platform", "healer_dlq")},
    "kms": {("platform", "healer_kms")},
    "xray": {("platform", "healer_xray")},
    "sts": {("platform", "healer_remediation")},
}


def _callee(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _first_string(call: ast.Call) -> str | None:
    first = call.args[0] if call.args else None
    return first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None


def _passed_methods(call: ast.Call) -> set[str]:
    """Names of methods passed as arguments, e.g. ``partial(client.get_alias, ...)`` → {"get_alias"}."""
    return {arg.attr for arg in call.args if isinstance(arg, ast.Attribute)}


def boto3_actions(sources: Iterable[str]) -> set[str]:
    """The IAM actions of the AWS calls in Python ``sources``, found by walking their syntax trees.

    The services are those named by a string in a ``...client("service")`` call. A call of an operation of
    theirs (botocore's models) is ``anything.<operation>(...)``, a call whose first argument names the
    operation (``table.call("get_item", ...)``, ``get_paginator("list_versions_by_function")``), or a
    method passed to a call (``partial(client.get_alias, ...)``). ``transact_write_items`` needs the action
    of each of its items (``Update`` → ``UpdateItem``, ``ConditionCheck`` → ``ConditionCheckItem``, ...),
    read from the dict keys of the call.
    """
    calls = [node for source in sources for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Call)]
    services = {name for c in calls if _callee(c).endswith("client") and (name := _first_string(c))}
    session = botocore.session.get_session()
    operations: dict[str, list[tuple[str, str]]] = {}
    for service in nonempty(services, "boto3 services"):
        for operation in session.get_service_model(service).operation_names:
            operations.setdefault(xform_name(operation), []).append((service, operation))
    actions: set[str] = set()
    for call_node in calls:
        names = {_callee(call_node), _first_string(call_node) or ""} | _passed_methods(call_node)
        for name in names & operations.keys():
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
                for node in ast.walk(call_node)
                if isinstance(node, ast.Dict)
                for key in node.keys
                if isinstance(key, ast.Constant) and key.value in TRANSACTION_ITEM_ACTIONS
            }
            actions |= {
                f"{prefix}:{TRANSACTION_ITEM_ACTIONS[key]}" for key in nonempty(keys, "transaction items")
            }
    return actions


def test_action_walk_finds_client_methods_named_operations_and_transaction_items() -> None:
    """The walk sees a direct call, an operation named by string, a passed method, each item's action."""
    source = """
ddb = shared_client("dynamodb")
ddb.delete_item(TableName="t", Key={})
table.call("query", KeyConditionExpression="pk = :pk")
ddb.transact_write_items(TransactItems=[{"ConditionCheck": {"TableName": "t"}}, {"Put": {"Item": {}}}])
retry(partial(ddb.describe_table, TableName="t"))
ddb.close()
"""
    assert boto3_actions([source]) == {
        "dynamodb:DeleteItem", "dynamodb:Query", "dynamodb:ConditionCheckItem", "dynamodb:PutItem",
        "dynamodb:DescribeTable",
    }  # fmt: skip
    with pytest.raises(AssertionError, match="transaction items"):
        boto3_actions(['c = client("dynamodb")\nc.transact_write_items(TransactItems=items)'])


def healer_grants() -> list[tuple[str, tuple[str, str]]]:
    """(action, (directory, document)) for every action the platform and a protect instance may grant.

    The protect instance's function actions are its table over every playbook action, so the union is
    what a protect instance with every action grants.
    """
    platform_docs = policy_documents("platform")
    granted = [
        (action, ("platform", name))
        for name in nonempty(attached_documents("platform")["aws_iam_role.healer.id"], "healer policies")
        for statement in platform_docs[name]["statement"]
        for action in statement["actions"]
    ]
    protect = load("protect")
    table = protect.locals["lambda_actions_of"]
    function_actions = {"lambda:GetFunctionConfiguration"} | {
        a for actions in table.values() for a in actions
    }
    granted += [(action, ("protect", "healer")) for action in sorted(function_actions)]
    _, alarms = policy_documents("protect")["healer"]["statement"]
    granted += [(action, ("protect", "healer")) for action in alarms["actions"]]
    (mappings,) = policy_documents("protect")["event_source_mappings"]["statement"]
    granted += [(action, ("protect", "event_source_mappings")) for action in mappings["actions"]]
    return granted


def test_healer_role_grants_exactly_what_the_healer_calls() -> None:
    """The healer's role may be granted what its code calls and what the runtime needs: nothing missing
    or extra, but the calls AWS cannot scope or the healer never makes deployed (NEVER_GRANTED).

    Each action is granted by the policy document of its service's concern.
    """
    sources = [path.read_text() for path in nonempty(HEALER_SOURCE.rglob("*.py"), "healer modules")]
    calls = set(nonempty(boto3_actions(sources), "calls of the healer"))
    granted = healer_grants()
    actions = [action for action, _ in granted]
    assert len(actions) == len(set(actions)), "an action granted twice"
    assert calls >= NEVER_GRANTED, "a NEVER_GRANTED call is no longer made: drop it from the list"
    assert set(actions) == (calls - NEVER_GRANTED) | RUNTIME_GRANTS
    for action, owner in granted:
        assert owner in HEALER_DOCUMENTS_OF_SERVICE[action.split(":")[0]], action


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


def test_healer_grants_name_the_fragile_function_by_its_built_arn() -> None:
    """The grants' ARN, built from parts, is the ARN of the very function deploy/fragile creates.

    deploy/fragile passes the name (a local), not the function's attribute: a reference would make
    Terraform defer the grants' policy document whenever the healer has changed the function.
    """
    assert call("protect_fragile")["function_name"] == "${local.fragile_function_name}"
    assert resolve(call("protect_fragile")["function_name"]) == "selfheal-fragile"
    fragile = load().resource("aws_lambda_function.fragile")
    assert fragile["function_name"] == "${local.fragile_function_name}"
    assert fragile.get("region") in (None, "${var.aws_region}")
    assert load("protect").locals["function_arn"] == (
        "arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:${var.function_name}"
    )
    arguments = [text for text in interpolations(load().modules) if "aws_lambda_function." in text]
    assert arguments == [], "a module call references the fragile function's attributes"
