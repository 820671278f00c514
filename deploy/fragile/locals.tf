locals {
  account_id = data.aws_caller_identity.current.account_id

  # Names are a contract with the healer, the local cloud and the CLI (docs/internals.md). The platform
  # module names the healer, the topics, the ledger and the DLQ from name_prefix the same way.
  fragile_function_name = "${var.name_prefix}-fragile"
  api_name              = "${var.name_prefix}-api"
  dashboard_name        = "${var.name_prefix}-loop"

  fragile_service_name = "${var.name_prefix}-fragile"
  # The healer's POWERTOOLS_SERVICE_NAME and POWERTOOLS_METRICS_NAMESPACE as the platform module sets
  # them: the dimension and namespace of its TimeToRecover metric on the dashboard.
  healer_service_name = "${var.name_prefix}-healer"
  metrics_namespace   = "Selfheal"

  # AWS-managed Powertools for AWS Lambda (Python) v3 layer, published by account 017000801446 in
  # every commercial region; override powertools_layer_arn to pin another version or partition.
  powertools_layer_arn = coalesce(
    var.powertools_layer_arn,
    "arn:${data.aws_partition.current.partition}:lambda:${var.aws_region}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-x86_64:27",
  )

  # The fleet rails exist for platforms protecting many functions; here one function is protected, so
  # they are set never to bind tighter than its own rails (the seed's healer_* variables):
  # - at most one incident in flight, one healer environment spare for OK notifications and operator
  #   commands (the platform requires reserved concurrency above it; -1 leaves both at their defaults);
  # - the hourly step budget at least the function's own action cap scaled to an hour (at least the
  #   platform's default 10, at most its 1000).
  fleet_max_in_flight = var.healer_reserved_concurrency == -1 ? 3 : var.healer_reserved_concurrency - 1
  fleet_max_actions_per_hour = min(1000, max(10, ceil(
    var.healer_max_actions_per_window * 3600 / var.healer_action_window_seconds
  )))

  build_dir = "${path.root}/.build"
}
