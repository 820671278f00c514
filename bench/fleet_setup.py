"""The fleet benchmark's platform: a healer protecting N functions, made through the API as the modules do.

:func:`provision_fleet` builds, in a running LocalCloud, what ``deploy/modules/platform`` plus one
``deploy/modules/protect`` instance per function create (without Terraform: a ``for_each`` over 200
functions is ~2,000 resources, too long an apply for a benchmark that measures the control plane):

- the platform, by :func:`selfheal.cloud.testing.provision_loop` (ledger, alarm and escalation topics,
  healer with its DLQ, async-invoke configuration, subscription and least-privilege role, kill switch),
  whose own fragile function is the fleet's first; then the platform's fleet rails (``FLEET_MAX_IN_FLIGHT``,
  ``FLEET_MAX_ACTIONS_PER_HOUR``) and reserved concurrency, as ``platform/healer.tf`` sets them;
- per further function, as ``protect`` does: the function (``fragile_service``, healthy), its ``errors``
  alarm (Sum of ``AWS/Lambda`` ``Errors`` by ``FunctionName``, the module's defaults, notifying the alarm
  topic on ALARM and OK), its registry entry (``REGISTRY_PATH/alarms/ALARM``, docs/platform.md, naming
  the role below) and its remediation role ``heal-FUNCTION-XXXXXXXX`` under ``/selfheal/PREFIX/``,
  trusting only the healer's role, with the inline policy ``protect-FUNCTION`` scoped to that function
  and that alarm; the healer's role may assume the roles under that path (``assume-remediation-roles``).
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

__all__ = ["FleetPlatform", "provision_fleet"]

#: The platform module's per-function rail defaults (deploy/modules/platform/variables.tf).
RAILS = {
    "cooldown_seconds": 300,
    "max_actions_per_window": 3,
    "action_window_seconds": 3600,
    "verify_timeout_seconds": 300,
}
#: The protect module's ``errors`` signal defaults (deploy/modules/protect/variables.tf).
ERRORS_SIGNAL = {"threshold": 3.0, "period": 60, "evaluation_periods": 2, "datapoints_to_alarm": 2}
HEALER_RESERVED_CONCURRENCY = 5  # the platform's default healer_reserved_concurrency
_WORKERS = 4  # API calls in parallel while provisioning


@dataclass(frozen=True)
class FleetPlatform:
    """What :func:`provision_fleet` made: the functions (the first is the platform's own), their alarms."""

    prefix: str
    functions: tuple[str, ...]
    alarms: tuple[str, ...]
    healer: str
    ledger_table: str
    registry_path: str


def _statement(sid: str, actions: list[str], resources: list[str]) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}


def _protect_policy(function_arn: str, alarm_arn: str) -> str:
    """The protect module's healer policy for a ``set_env`` playbook (iam.tf)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                _statement(
                    "HealThisFunction",
                    ["lambda:GetFunctionConfiguration", "lambda:UpdateFunctionConfiguration"],
                    [function_arn, f"{function_arn}:*"],
                ),
                _statement("DescribeOwnAlarms", ["cloudwatch:DescribeAlarms"], [alarm_arn]),
            ],
        }
    )


def _document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _entry(function_name: str, role_arn: str) -> str:
    """The function's registry entry, as protect's locals.tf writes it (one ``errors`` signal)."""
    return json.dumps(
        {
            "role_arn": role_arn,
            "schema_version": 1,
            "function_name": function_name,
            "alias_name": None,
            "signal": "errors",
            "playbook": ["set_env"],
            "set_env": {"FAILURE_RATE": "0"},
            "concurrency_limit": None,
            "allow_zero_concurrency": False,
            "mode": "auto",
            "rails": RAILS,
            "event_source_mapping_uuids": [],
        }
    )


def provision_fleet(
    cloud: Any, functions: int, *, max_in_flight: int, max_actions_per_hour: int, prefix: str = "fleet"
) -> FleetPlatform:
    """Create the platform and ``functions`` protected functions (all healthy) in ``cloud``."""
    from selfheal.cloud.testing import package_zip, provision_loop

    if functions < 1:
        raise ValueError(f"a fleet needs at least one function, got {functions!r}")
    loop = provision_loop(
        cloud,
        name_prefix=prefix,
        failure_rate=0.0,
        alarm_period_seconds=ERRORS_SIGNAL["period"],
        alarm_evaluation_periods=ERRORS_SIGNAL["evaluation_periods"],
        alarm_datapoints_to_alarm=ERRORS_SIGNAL["datapoints_to_alarm"],
        alarm_threshold=ERRORS_SIGNAL["threshold"],
        healer_cooldown_seconds=RAILS["cooldown_seconds"],
        healer_max_actions_per_window=RAILS["max_actions_per_window"],
        healer_action_window_seconds=RAILS["action_window_seconds"],
        healer_verify_timeout_seconds=RAILS["verify_timeout_seconds"],
    )
    lam = cloud.client("lambda")
    healer = lam.get_function_configuration(FunctionName=loop.healer_function_name)
    variables = dict(healer["Environment"]["Variables"])
    variables["FLEET_MAX_IN_FLIGHT"] = str(max_in_flight)
    variables["FLEET_MAX_ACTIONS_PER_HOUR"] = str(max_actions_per_hour)
    lam.update_function_configuration(
        FunctionName=loop.healer_function_name, Environment={"Variables": variables}
    )
    lam.get_waiter("function_updated_v2").wait(
        FunctionName=loop.healer_function_name, WaiterConfig={"Delay": 0.05}
    )
    lam.put_function_concurrency(
        FunctionName=loop.healer_function_name,
        ReservedConcurrentExecutions=max(HEALER_RESERVED_CONCURRENCY, max_in_flight + 1),
    )

    fragile = lam.get_function_configuration(FunctionName=loop.fragile_function_name)
    code = package_zip("fragile_service")
    registry_path = f"/selfheal/{prefix}"  # as provision_loop and the platform module name it
    arn_prefix = f"arn:aws:{{}}:{cloud.region}:{cloud.account_id}"
    names = [f"{prefix}-fn{number:03d}" for number in range(1, functions)]

    role_path = f"/selfheal/{prefix}/"  # the platform module's remediation_role_path
    healer_role = loop.healer_role_arn.rsplit("/", 1)[1]
    cloud.client("iam").put_role_policy(
        RoleName=healer_role,
        PolicyName="assume-remediation-roles",
        PolicyDocument=_document(
            _statement(
                "AssumeRemediationRoles",
                ["sts:AssumeRole"],
                [f"arn:aws:iam::{cloud.account_id}:role{role_path}*"],
            )
        ),
    )
    trust = _document(
        {
            "Sid": "HealerAssumesRole",
            "Effect": "Allow",
            "Principal": {"AWS": loop.healer_role_arn},
            "Action": "sts:AssumeRole",
        }
    )

    def protect(name: str) -> str:
        """One protect instance: function, remediation role and its grant, registry entry, then the alarm
        (as depends_on)."""
        client, ssm, iam, cloudwatch = (cloud.client(s) for s in ("lambda", "ssm", "iam", "cloudwatch"))
        client.create_function(
            FunctionName=name,
            Runtime=fragile["Runtime"],
            Role=fragile["Role"],
            Handler=fragile["Handler"],
            Code={"ZipFile": code},
            Timeout=fragile["Timeout"],
            MemorySize=fragile["MemorySize"],
            Environment={"Variables": {**fragile["Environment"]["Variables"], "FAILURE_RATE": "0"}},
        )
        alarm = f"{name}-errors"
        suffix = hashlib.sha1(f"{cloud.region}/{prefix}/{name}".encode()).hexdigest()[:8]
        role = iam.create_role(
            RoleName=f"heal-{name[:50]}-{suffix}", Path=role_path, AssumeRolePolicyDocument=trust
        )["Role"]
        ssm.put_parameter(
            Name=f"{registry_path}/alarms/{alarm}", Value=_entry(name, role["Arn"]), Type="String"
        )
        iam.put_role_policy(
            RoleName=role["RoleName"],
            PolicyName=f"protect-{name}",
            PolicyDocument=_protect_policy(
                f"{arn_prefix.format('lambda')}:function:{name}",
                f"{arn_prefix.format('cloudwatch')}:alarm:{alarm}",
            ),
        )
        cloudwatch.put_metric_alarm(
            AlarmName=alarm,
            AlarmDescription=(
                f"Unhandled errors (Sum of AWS/Lambda Errors) of {name}; "
                "the selfheal healer acts on it by its registry entry."
            ),
            Namespace="AWS/Lambda",
            MetricName="Errors",
            Statistic="Sum",
            Dimensions=[{"Name": "FunctionName", "Value": name}],
            Period=ERRORS_SIGNAL["period"],
            EvaluationPeriods=ERRORS_SIGNAL["evaluation_periods"],
            DatapointsToAlarm=ERRORS_SIGNAL["datapoints_to_alarm"],
            Threshold=ERRORS_SIGNAL["threshold"],
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            TreatMissingData="notBreaching",
            ActionsEnabled=True,
            AlarmActions=[loop.alarm_topic_arn],
            OKActions=[loop.alarm_topic_arn],
        )
        client.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.05})
        return alarm

    with ThreadPoolExecutor(_WORKERS, thread_name_prefix="fleet-provision") as pool:
        alarms = list(pool.map(protect, names))
    return FleetPlatform(
        prefix=prefix,
        functions=(loop.fragile_function_name, *names),
        alarms=(loop.alarm_name, *alarms),
        healer=loop.healer_function_name,
        ledger_table=loop.ledger_table_name,
        registry_path=registry_path,
    )
