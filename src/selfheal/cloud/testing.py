"""Test helper shipped with the product: provision the whole self-healing loop in a LocalCloud with boto3.

:func:`provision_loop` creates, with plain boto3 calls against the cloud's endpoint (signed with its operator
key), what the Terraform module
in ``deploy/fragile/`` creates (names per docs/internals.md): IAM roles, the ledger table, the alarm and
escalation topics, the healer's dead-letter queue, the fragile and healer functions (zips of
``src/fragile_service`` and ``src/healer``), the healer's async-invoke configuration, the errors alarm with
alarm and OK actions, the healer's subscription, and the HTTP API with a ``$default`` route and stage.
It is faster than a Terraform apply and needs nothing but the cloud, so functional tests can use it.
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .protocol import Cloud

__all__ = [
    "LAMBDA_TRUST_POLICY",
    "LoopSettings",
    "ProvisionedLoop",
    "healer_role_policies",
    "package_zip",
    "provision_loop",
]

#: A trust policy that lets Lambda assume the role: what a function's execution role needs.
LAMBDA_TRUST_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)
_FAILURE_MODES = ("exception", "latency", "timeout", "status")
_HEALER_MODES = ("observe", "approve", "auto")
_LAMBDA_RUNTIME = "python3.12"


@dataclass(frozen=True)
class LoopSettings:
    """The Terraform module's variables that matter locally, with its defaults; invalid values raise."""

    name_prefix: str = "selfheal"
    failure_rate: float = 0.3
    failure_mode: str = "exception"
    latency_ms: int = 2000
    failure_status_code: int = 503
    failure_injection_enabled: bool = True
    fragile_timeout_seconds: int = 10
    alarm_period_seconds: int = 60
    alarm_evaluation_periods: int = 2
    alarm_datapoints_to_alarm: int = 2
    alarm_threshold: float = 3.0
    healer_cooldown_seconds: int = 300
    healer_max_actions_per_window: int = 3
    healer_action_window_seconds: int = 3600
    healer_verify_timeout_seconds: int = 600
    healer_dry_run: bool = False
    healer_max_event_age_seconds: int = 3600
    healer_mode: str = "auto"
    """The fragile function's mode in its registry entry (``observe`` | ``approve`` | ``auto``)."""

    def __post_init__(self) -> None:
        problems: list[str] = []
        if not self.name_prefix or not all(c.isalnum() or c == "-" for c in self.name_prefix):
            problems.append(f"name_prefix must be letters, digits and '-', got {self.name_prefix!r}")
        if not (isinstance(self.failure_rate, int | float) and 0 <= self.failure_rate <= 1):
            problems.append(f"failure_rate must be from 0 to 1, got {self.failure_rate!r}")
        if self.failure_mode not in _FAILURE_MODES:
            problems.append(
                f"failure_mode must be one of {', '.join(_FAILURE_MODES)}, got {self.failure_mode!r}"
            )
        if self.healer_mode not in _HEALER_MODES:
            problems.append(
                f"healer_mode must be one of {', '.join(_HEALER_MODES)}, got {self.healer_mode!r}"
            )
        period = self.alarm_period_seconds
        if not (period in (10, 20, 30) or (period > 0 and period % 60 == 0)):
            problems.append(f"alarm_period_seconds must be 10, 20, 30 or a multiple of 60, got {period!r}")
        if not 1 <= self.alarm_datapoints_to_alarm <= self.alarm_evaluation_periods:
            problems.append(
                "alarm_datapoints_to_alarm must be from 1 to alarm_evaluation_periods, got "
                f"{self.alarm_datapoints_to_alarm!r} of {self.alarm_evaluation_periods!r}"
            )
        if not math.isfinite(self.alarm_threshold) or self.alarm_threshold < 0:
            problems.append(f"alarm_threshold must be a non-negative number, got {self.alarm_threshold!r}")
        for name in (
            "latency_ms",
            "fragile_timeout_seconds",
            "healer_cooldown_seconds",
            "healer_verify_timeout_seconds",
            "healer_max_event_age_seconds",
        ):
            if getattr(self, name) < 0:
                problems.append(f"{name} must not be negative, got {getattr(self, name)!r}")
        if self.healer_max_actions_per_window < 1 or self.healer_action_window_seconds < 1:
            problems.append(
                "healer_max_actions_per_window and healer_action_window_seconds must be at least 1"
            )
        if problems:
            raise ValueError("invalid loop settings: " + "; ".join(problems))

    @property
    def fragile_function_name(self) -> str:
        """``${name_prefix}-fragile``."""
        return f"{self.name_prefix}-fragile"

    @property
    def healer_function_name(self) -> str:
        """``${name_prefix}-healer``."""
        return f"{self.name_prefix}-healer"

    @property
    def alarm_name(self) -> str:
        """``${name_prefix}-fragile-errors``."""
        return f"{self.name_prefix}-fragile-errors"


@dataclass(frozen=True)
class ProvisionedLoop:
    """What :func:`provision_loop` made (the Terraform module's outputs, plus the role ARNs)."""

    settings: LoopSettings
    region: str
    api_id: str
    api_endpoint: str
    fragile_function_name: str
    healer_function_name: str
    alarm_name: str
    alarm_topic_arn: str
    escalation_topic_arn: str
    ledger_table_name: str
    healer_dlq_url: str
    healer_subscription_arn: str
    fragile_role_arn: str
    healer_role_arn: str


def package_zip(package: str) -> bytes:
    """Zip the importable package ``package`` with its directory at the zip's root, as Terraform does."""
    module = __import__(package)
    if module.__file__ is None:
        raise ValueError(f"{package!r} is not a regular package")
    root = Path(module.__file__).parent
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                archive.write(path, (Path(package) / path.relative_to(root)).as_posix())
    return buffer.getvalue()


def _statement(sid: str, actions: list[str], resource: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": [resource]}],
        }
    )


def healer_role_policies(
    *,
    fragile_arn: str,
    table_arn: str,
    escalation_topic_arn: str,
    alarm_arn: str,
    dlq_arn: str,
    log_group_arn: str,
    registry_arn_prefix: str,
) -> dict[str, str]:
    """The healer role's inline policies (name → JSON), as deploy/modules/platform and protect write them.

    KMS and X-Ray are left out: this loop has no key and no tracing.
    """
    return {
        "logs": _statement(
            "WriteOwnLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], f"{log_group_arn}:*"
        ),
        "lambda-config": _statement(
            "ReconfigureFragileFunction",
            ["lambda:GetFunctionConfiguration", "lambda:UpdateFunctionConfiguration"],
            fragile_arn,
        ),
        "ledger": _statement(
            "ReadWriteLedger",
            [
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:Query",
            ],
            table_arn,
        ),
        "registry": _statement("ReadRegistry", ["ssm:GetParameter"], f"{registry_arn_prefix}/*"),
        "escalation-publish": _statement("PublishEscalations", ["sns:Publish"], escalation_topic_arn),
        "describe-alarm": _statement("DescribeOwnAlarm", ["cloudwatch:DescribeAlarms"], alarm_arn),
        "dlq": _statement("SendToDlq", ["sqs:SendMessage"], dlq_arn),
    }


def register_fragile(cloud: Cloud, config: LoopSettings) -> str:
    """Write the fragile function's registry entry and the kill switch, as the modules do; the path."""
    path = f"/selfheal/{config.name_prefix}"
    entry = {
        "schema_version": 1,
        "function_name": config.fragile_function_name,
        "alias_name": None,
        "signal": "errors",
        "playbook": ["set_env"],
        "set_env": {"FAILURE_RATE": "0"},
        "concurrency_limit": None,
        "allow_zero_concurrency": False,
        "event_source_mapping_uuids": [],
        "mode": config.healer_mode,
        "rails": {
            "cooldown_seconds": config.healer_cooldown_seconds,
            "max_actions_per_window": config.healer_max_actions_per_window,
            "action_window_seconds": config.healer_action_window_seconds,
            "verify_timeout_seconds": config.healer_verify_timeout_seconds,
        },
    }
    ssm = cloud.client("ssm")
    ssm.put_parameter(Name=f"{path}/alarms/{config.alarm_name}", Value=json.dumps(entry), Type="String")
    ssm.put_parameter(Name=f"{path}/kill-switch", Value="off", Type="String")
    return path


def provision_loop(cloud: Cloud, **settings: Any) -> ProvisionedLoop:
    """Create the whole loop in ``cloud``; ``settings`` are :class:`LoopSettings` fields."""
    unknown = set(settings) - set(LoopSettings.__dataclass_fields__)
    if unknown:
        raise ValueError(f"unknown loop settings: {', '.join(sorted(unknown))}")
    config = LoopSettings(**settings)
    prefix = config.name_prefix

    def client(service: str) -> Any:
        return cloud.client(service)

    iam, lam, sns, sqs = client("iam"), client("lambda"), client("sns"), client("sqs")
    fragile_role = iam.create_role(RoleName=f"{prefix}-fragile", AssumeRolePolicyDocument=LAMBDA_TRUST_POLICY)
    healer_role = iam.create_role(RoleName=f"{prefix}-healer", AssumeRolePolicyDocument=LAMBDA_TRUST_POLICY)

    table = f"{prefix}-ledger"
    dynamodb = client("dynamodb")
    dynamodb.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    )
    dynamodb.update_time_to_live(
        TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
    )

    alarm_topic = sns.create_topic(Name=f"{prefix}-alarms")["TopicArn"]
    escalation_topic = sns.create_topic(Name=f"{prefix}-escalations")["TopicArn"]
    dlq_url = sqs.create_queue(QueueName=f"{prefix}-healer-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]

    registry_path = register_fragile(cloud, config)

    def create_function(
        package: str, *, name: str, role: Any, timeout: int, variables: dict[str, str], **options: Any
    ) -> Any:
        """A function running ``package``'s ``app.handler``, with the module's runtime and memory size."""
        created = lam.create_function(
            FunctionName=name,
            Runtime=_LAMBDA_RUNTIME,
            Role=role["Role"]["Arn"],
            Handler=f"{package}.app.handler",
            Code={"ZipFile": package_zip(package)},
            Timeout=timeout,
            MemorySize=256,
            Environment={"Variables": variables},
            **options,
        )
        # A new function is Pending for a moment, as on AWS: wait until it can be invoked.
        lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.05})
        return created

    fragile = create_function(
        "fragile_service",
        name=config.fragile_function_name,
        role=fragile_role,
        timeout=config.fragile_timeout_seconds,
        variables={
            "FAILURE_RATE": str(config.failure_rate),
            "FAILURE_MODE": config.failure_mode,
            "LATENCY_MS": str(config.latency_ms),
            "FAILURE_STATUS_CODE": str(config.failure_status_code),
            "FAILURE_INJECTION_ENABLED": str(config.failure_injection_enabled).lower(),
            "POWERTOOLS_SERVICE_NAME": f"{prefix}-fragile",
            "POWERTOOLS_LOG_LEVEL": "INFO",
        },
    )
    healer = create_function(
        "healer",
        name=config.healer_function_name,
        role=healer_role,
        # As in the module: the verify deadline plus a minute to record the outcome.
        timeout=min(900, config.healer_verify_timeout_seconds + 60),
        variables={
            "REGISTRY_PATH": registry_path,
            "LEDGER_TABLE_NAME": table,
            "ESCALATION_TOPIC_ARN": escalation_topic,
            "DRY_RUN": str(config.healer_dry_run).lower(),
            "POWERTOOLS_SERVICE_NAME": f"{prefix}-healer",
            "POWERTOOLS_METRICS_NAMESPACE": "SelfHeal",
        },
        DeadLetterConfig={"TargetArn": dlq_arn},
    )
    lam.put_function_event_invoke_config(
        FunctionName=config.healer_function_name,
        MaximumRetryAttempts=2,
        MaximumEventAgeInSeconds=config.healer_max_event_age_seconds,
        DestinationConfig={"OnFailure": {"Destination": dlq_arn}},
    )
    lam.add_permission(
        FunctionName=config.healer_function_name,
        StatementId="AllowAlarmTopic",
        Action="lambda:InvokeFunction",
        Principal="sns.amazonaws.com",
        SourceArn=alarm_topic,
    )
    subscription = sns.subscribe(TopicArn=alarm_topic, Protocol="lambda", Endpoint=healer["FunctionArn"])

    client("cloudwatch").put_metric_alarm(
        AlarmName=config.alarm_name,
        AlarmDescription=f"Unhandled errors of {config.fragile_function_name}.",
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Statistic="Sum",
        Dimensions=[{"Name": "FunctionName", "Value": config.fragile_function_name}],
        Period=config.alarm_period_seconds,
        EvaluationPeriods=config.alarm_evaluation_periods,
        DatapointsToAlarm=config.alarm_datapoints_to_alarm,
        Threshold=float(config.alarm_threshold),
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
        ActionsEnabled=True,
        AlarmActions=[alarm_topic],
        OKActions=[alarm_topic],
    )

    api = client("apigatewayv2")
    created = api.create_api(Name=f"{prefix}-api", ProtocolType="HTTP")
    integration = api.create_integration(
        ApiId=created["ApiId"],
        IntegrationType="AWS_PROXY",
        IntegrationUri=fragile["FunctionArn"],
        PayloadFormatVersion="2.0",
    )
    api.create_route(
        ApiId=created["ApiId"], RouteKey="$default", Target=f"integrations/{integration['IntegrationId']}"
    )
    api.create_stage(ApiId=created["ApiId"], StageName="$default", AutoDeploy=True)
    lam.add_permission(
        FunctionName=config.fragile_function_name,
        StatementId="AllowHttpApi",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
    )
    endpoint = api.get_api(ApiId=created["ApiId"])["ApiEndpoint"]

    # Least privilege, as deploy/fragile's iam.tf/healer_iam.tf: the local cloud enforces these policies.
    log_groups = f"arn:aws:logs:{cloud.region}:{cloud.account_id}:log-group:/aws/lambda"
    policies = healer_role_policies(
        fragile_arn=fragile["FunctionArn"],
        table_arn=f"arn:aws:dynamodb:{cloud.region}:{cloud.account_id}:table/{table}",
        escalation_topic_arn=escalation_topic,
        alarm_arn=f"arn:aws:cloudwatch:{cloud.region}:{cloud.account_id}:alarm:{config.alarm_name}",
        dlq_arn=dlq_arn,
        log_group_arn=f"{log_groups}/{config.healer_function_name}",
        registry_arn_prefix=f"arn:aws:ssm:{cloud.region}:{cloud.account_id}:parameter{registry_path}",
    )
    for name, document in policies.items():
        iam.put_role_policy(
            RoleName=healer_role["Role"]["RoleName"], PolicyName=name, PolicyDocument=document
        )
    iam.put_role_policy(
        RoleName=fragile_role["Role"]["RoleName"],
        PolicyName="logs",
        PolicyDocument=_statement(
            "WriteOwnLogs",
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            f"{log_groups}/{config.fragile_function_name}:*",
        ),
    )

    return ProvisionedLoop(
        settings=config,
        region=cloud.region,
        api_id=created["ApiId"],
        api_endpoint=endpoint,
        fragile_function_name=config.fragile_function_name,
        healer_function_name=config.healer_function_name,
        alarm_name=config.alarm_name,
        alarm_topic_arn=alarm_topic,
        escalation_topic_arn=escalation_topic,
        ledger_table_name=table,
        healer_dlq_url=dlq_url,
        healer_subscription_arn=subscription["SubscriptionArn"],
        fragile_role_arn=fragile_role["Role"]["Arn"],
        healer_role_arn=healer_role["Role"]["Arn"],
    )
