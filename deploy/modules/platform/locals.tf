locals {
  partition  = data.aws_partition.current.partition
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.region

  # Names are a contract with the healer, the protect module and the CLI (docs/platform.md).
  healer_function_name  = "${var.name}-healer"
  alarm_topic_name      = "${var.name}-alarms"
  escalation_topic_name = "${var.name}-escalations"
  ledger_table_name     = "${var.name}-ledger"
  healer_dlq_name       = "${var.name}-healer-dlq"

  registry_path                 = coalesce(var.registry_path, "/selfheal/${var.name}")
  registry_parameter_arn_prefix = "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter${local.registry_path}"
  kill_switch_parameter_name    = "${local.registry_path}/kill-switch"

  # Each protect instance creates its function's remediation role under this path; the healer's role may
  # assume those roles and no other.
  remediation_role_path        = "/selfheal/${var.name}/"
  remediation_role_arn_pattern = "arn:${local.partition}:iam::${local.account_id}:role${local.remediation_role_path}*"

  healer_service_name = "${var.name}-healer"
  metrics_namespace   = "Selfheal"

  # The healer runs a whole playbook (each step acted on and verified) inside one invocation: Lambda's
  # 900 s maximum, minus a 60 s margin to record the outcome, bounds the sum of the verify deadlines.
  healer_timeout_seconds = 900
  max_playbook_seconds   = local.healer_timeout_seconds - 60

  # AWS-managed Powertools for AWS Lambda (Python) v3 layer, published by account 017000801446 in
  # every commercial region; override powertools_layer_arn to pin another version or partition.
  powertools_layer_arn = coalesce(
    var.powertools_layer_arn,
    "arn:${local.partition}:lambda:${local.region}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-x86_64:27",
  )

  build_dir = "${path.root}/.build"
}
