locals {
  partition  = data.aws_partition.current.partition
  account_id = data.aws_caller_identity.current.account_id

  # Names are a contract with the healer, the local cloud and the CLI (docs/internals.md).
  fragile_function_name = "${var.name_prefix}-fragile"
  healer_function_name  = "${var.name_prefix}-healer"
  alarm_name            = "${var.name_prefix}-fragile-errors"
  alarm_topic_name      = "${var.name_prefix}-alarms"
  escalation_topic_name = "${var.name_prefix}-escalations"
  ledger_table_name     = "${var.name_prefix}-ledger"
  healer_dlq_name       = "${var.name_prefix}-healer-dlq"
  api_name              = "${var.name_prefix}-api"
  dashboard_name        = "${var.name_prefix}-loop"

  # Built from its parts rather than read from aws_lambda_function.fragile.arn: when the healer has
  # changed the function, a reference would make Terraform defer reading the healer's policy document
  # to apply time and plan a spurious policy update beside the real drift.
  fragile_function_arn = "arn:${local.partition}:lambda:${var.aws_region}:${local.account_id}:function:${local.fragile_function_name}"

  fragile_service_name = "${var.name_prefix}-fragile"
  healer_service_name  = "${var.name_prefix}-healer"
  metrics_namespace    = "Selfheal"

  # AWS-managed Powertools for AWS Lambda (Python) v3 layer, published by account 017000801446 in
  # every commercial region; override powertools_layer_arn to pin another version or partition.
  powertools_layer_arn = coalesce(
    var.powertools_layer_arn,
    "arn:${local.partition}:lambda:${var.aws_region}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-x86_64:27",
  )

  # The healer verifies recovery inside one invocation, so it must outlive the verify deadline.
  healer_timeout_seconds = min(var.healer_verify_timeout_seconds + 60, 900)

  build_dir = "${path.root}/.build"
}
