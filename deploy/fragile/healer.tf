resource "aws_lambda_function" "healer" {
  #checkov:skip=CKV_AWS_117:The healer only calls AWS APIs; a VPC would need NAT or five interface endpoints for no isolation gain.
  #checkov:skip=CKV_AWS_173:The variables are names, ARNs and numbers, none secret; the default AWS-owned key encrypts them at rest.
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile outside this module; the zip is built from the reviewed repository by Terraform itself.
  function_name = local.healer_function_name
  description   = "Healer: turns ${local.alarm_name} notifications into a recorded, verified remediation of ${local.fragile_function_name}."
  role          = aws_iam_role.healer.arn
  runtime       = "python3.12"
  handler       = "healer.app.handler"
  architectures = ["x86_64"]
  memory_size   = 256
  timeout       = local.healer_timeout_seconds

  filename         = data.archive_file.healer.output_path
  source_code_hash = data.archive_file.healer.output_base64sha256
  layers           = [local.powertools_layer_arn]

  reserved_concurrent_executions = var.healer_reserved_concurrency

  environment {
    variables = {
      TARGET_FUNCTION_NAME         = aws_lambda_function.fragile.function_name
      LEDGER_TABLE_NAME            = aws_dynamodb_table.ledger.name
      ESCALATION_TOPIC_ARN         = aws_sns_topic.escalations.arn
      COOLDOWN_SECONDS             = tostring(var.healer_cooldown_seconds)
      MAX_ACTIONS_PER_WINDOW       = tostring(var.healer_max_actions_per_window)
      ACTION_WINDOW_SECONDS        = tostring(var.healer_action_window_seconds)
      VERIFY_TIMEOUT_SECONDS       = tostring(var.healer_verify_timeout_seconds)
      DRY_RUN                      = tostring(var.healer_dry_run)
      POWERTOOLS_SERVICE_NAME      = local.healer_service_name
      POWERTOOLS_METRICS_NAMESPACE = local.metrics_namespace
    }
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.healer_dlq.arn
  }

  tracing_config {
    mode = "Active"
  }

  # As for the fragile function: the encrypted, expiring log group and the role's permissions first.
  depends_on = [aws_cloudwatch_log_group.healer, aws_iam_role_policy.healer_logs, aws_iam_role_policy.healer_dlq]
}

# SNS invokes the healer asynchronously: bounded retries, then the event lands in the DLQ for a person.
resource "aws_lambda_function_event_invoke_config" "healer" {
  function_name                = aws_lambda_function.healer.function_name
  maximum_retry_attempts       = 2
  maximum_event_age_in_seconds = var.healer_max_event_age_seconds

  destination_config {
    on_failure {
      destination = aws_sqs_queue.healer_dlq.arn
    }
  }
}

resource "aws_sqs_queue" "healer_dlq" {
  name                              = local.healer_dlq_name
  message_retention_seconds         = 1209600 # 14 days, SQS's maximum: time for a person to look
  kms_master_key_id                 = aws_kms_key.main.arn
  kms_data_key_reuse_period_seconds = 300
}
