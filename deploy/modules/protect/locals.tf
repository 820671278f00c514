locals {
  partition  = data.aws_partition.current.partition
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.region

  alarm_name_prefix = coalesce(var.alarm_name_prefix, var.function_name)

  # Role names are unique in the account, function names only in a region: the suffix tells apart the
  # same function name in two regions or platforms. At most 5 + 50 + 1 + 8 = 64 characters.
  remediation_role_name = "heal-${substr(var.function_name, 0, 50)}-${substr(sha1("${local.region}/${var.platform.name}/${var.function_name}"), 0, 8)}"
  # Built from its parts, like the ARNs below, so the registry entries are known at plan time.
  remediation_role_arn = "arn:${local.partition}:iam::${local.account_id}:role${var.platform.remediation_role_path}${local.remediation_role_name}"

  # Built from its parts rather than read from the function resource: the healer's runtime changes
  # (environment, alias, concurrency) must never make Terraform defer this module's policy document.
  function_arn = "arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:${var.function_name}"
  # Versions and aliases: FUNCTION:QUALIFIER.
  function_qualified_arns = "${local.function_arn}:*"
  # Built from the names for the same reason (and the alarms depend on this policy).
  alarm_arns = [
    for name in values(local.alarm_names) :
    "arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:${name}"
  ]
  event_source_mapping_arns = [
    for uuid in var.event_source_mapping_uuids :
    "arn:${local.partition}:lambda:${local.region}:${local.account_id}:event-source-mapping:${uuid}"
  ]

  enabled_signals = { for name, signal in var.signals : name => signal if signal.enabled }
  # Alarm names use dashes: errors, error-rate, throttles, duration-p99, api-5xx.
  alarm_names = { for name, _ in local.enabled_signals : name => "${local.alarm_name_prefix}-${replace(name, "_", "-")}" }

  function_dimensions = { FunctionName = var.function_name }
  # HTTP APIs publish per ApiId and per ApiId + Stage.
  api_dimensions = var.api_stage == null ? { ApiId = coalesce(var.api_id, "none") } : { ApiId = coalesce(var.api_id, "none"), Stage = var.api_stage }

  # The single-metric signals; error_rate is metric math (alarms.tf).
  metric_of_signal = {
    errors       = { namespace = "AWS/Lambda", metric_name = "Errors", statistic = "Sum", extended_statistic = null, dimensions = local.function_dimensions }
    throttles    = { namespace = "AWS/Lambda", metric_name = "Throttles", statistic = "Sum", extended_statistic = null, dimensions = local.function_dimensions }
    duration_p99 = { namespace = "AWS/Lambda", metric_name = "Duration", statistic = null, extended_statistic = "p99", dimensions = local.function_dimensions }
    api_5xx      = { namespace = "AWS/ApiGateway", metric_name = "5xx", statistic = "Sum", extended_statistic = null, dimensions = local.api_dimensions }
  }

  # Signal -> its alarm resource, whichever of the two resources (alarms.tf) holds it.
  alarms = merge(
    aws_cloudwatch_metric_alarm.metric,
    { for alarm in aws_cloudwatch_metric_alarm.error_rate : "error_rate" => alarm },
  )

  description_of_signal = {
    errors       = "Unhandled errors (Sum of AWS/Lambda Errors)"
    error_rate   = "Error rate in percent (100 * Errors / Invocations)"
    throttles    = "Throttled invocations (Sum of AWS/Lambda Throttles)"
    duration_p99 = "p99 of AWS/Lambda Duration in milliseconds"
    api_5xx      = "HTTP 5xx responses of the API (Sum of AWS/ApiGateway 5xx)"
  }

  # Per-function rails: the platform's defaults unless overridden here.
  rails = {
    for name, default in var.platform.defaults : name => (var.rails[name] == null ? default : var.rails[name])
  }

  # The registry entry (docs/platform.md); one copy per alarm, which differs only in signal.
  registry_entries = {
    for name, _ in local.enabled_signals : name => {
      schema_version             = 1
      function_name              = var.function_name
      alias_name                 = var.alias_name
      signal                     = name
      playbook                   = var.playbook
      set_env                    = var.set_env
      concurrency_limit          = var.concurrency_limit
      allow_zero_concurrency     = var.allow_zero_concurrency
      mode                       = var.mode
      rails                      = local.rails
      event_source_mapping_uuids = var.event_source_mapping_uuids
      role_arn                   = local.remediation_role_arn
    }
  }

  # IAM actions each playbook action calls on the function (set_env/restart and their restore write the
  # configuration; rollback_alias finds the previous version and moves the alias; clamp_concurrency
  # reads, puts and, on restore, deletes reserved concurrency). disable_event_source acts on mappings,
  # granted apart (iam.tf). Every plan reads the configuration first.
  lambda_actions_of = {
    set_env              = ["lambda:UpdateFunctionConfiguration"]
    restart              = ["lambda:UpdateFunctionConfiguration"]
    rollback_alias       = ["lambda:ListVersionsByFunction", "lambda:GetAlias", "lambda:UpdateAlias"]
    clamp_concurrency    = ["lambda:GetFunctionConcurrency", "lambda:PutFunctionConcurrency", "lambda:DeleteFunctionConcurrency"]
    disable_event_source = []
  }
  function_actions = sort(distinct(concat(
    ["lambda:GetFunctionConfiguration"],
    flatten([for action in var.playbook : local.lambda_actions_of[action]]),
  )))

  has_action = { for action in ["set_env", "rollback_alias", "clamp_concurrency", "disable_event_source", "restart"] : action => contains(var.playbook, action) }
}
