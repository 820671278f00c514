resource "aws_lambda_function" "healer" {
  #checkov:skip=CKV_AWS_117:The healer only calls AWS APIs; a VPC would need NAT or several interface endpoints for no isolation gain.
  #checkov:skip=CKV_AWS_173:The variables are names, ARNs and numbers, none secret; the default AWS-owned key encrypts them at rest.
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile outside this module; the zip is built from the reviewed repository by Terraform itself.
  function_name = local.healer_function_name
  description   = "selfheal healer: turns alarm notifications of registered functions into recorded, verified playbook steps."
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
      REGISTRY_PATH                = local.registry_path
      LEDGER_TABLE_NAME            = aws_dynamodb_table.ledger.name
      ESCALATION_TOPIC_ARN         = aws_sns_topic.escalations.arn
      FLEET_MAX_IN_FLIGHT          = tostring(var.fleet_max_in_flight)
      FLEET_MAX_ACTIONS_PER_HOUR   = tostring(var.fleet_max_actions_per_hour)
      DRY_RUN                      = tostring(var.dry_run)
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

  # The encrypted, expiring log group must exist before the first invocation (or Lambda creates a plain
  # one that never expires), and the role must be able to write to it and to the DLQ.
  depends_on = [aws_cloudwatch_log_group.healer, aws_iam_role_policy.healer_logs, aws_iam_role_policy.healer_dlq]

  lifecycle {
    precondition {
      condition     = var.healer_reserved_concurrency == -1 || var.healer_reserved_concurrency > var.fleet_max_in_flight
      error_message = "healer_reserved_concurrency must exceed fleet_max_in_flight (or be -1): each incident in flight holds one healer environment for its whole playbook."
    }
  }
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

resource "aws_cloudwatch_log_group" "healer" {
  #checkov:skip=CKV_AWS_338:Retention is the log_retention_days variable; a one-year floor is a cost choice for each deployment.
  name              = "/aws/lambda/${local.healer_function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}
