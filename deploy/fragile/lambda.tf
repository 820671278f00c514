resource "aws_lambda_function" "fragile" {
  #checkov:skip=CKV_AWS_116:Invoked synchronously by the HTTP API only; a DLQ applies to asynchronous invocations.
  #checkov:skip=CKV_AWS_117:Public demo endpoint behind API Gateway that reaches no private resources; a VPC adds cost and cold-start latency for nothing.
  #checkov:skip=CKV_AWS_173:The variables are non-secret failure-injection flags; a CMK would force the healer to hold kms:CreateGrant just to reset FAILURE_RATE.
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile outside this module; the zip is built from the reviewed repository by Terraform itself.
  function_name = local.fragile_function_name
  description   = "Fragile service behind the HTTP API; fails on purpose (FAILURE_RATE)."
  role          = aws_iam_role.fragile.arn
  runtime       = "python3.12"
  handler       = "fragile_service.app.handler"
  architectures = ["x86_64"]
  memory_size   = 256
  timeout       = var.fragile_timeout_seconds

  filename         = data.archive_file.fragile.output_path
  source_code_hash = data.archive_file.fragile.output_base64sha256
  layers           = [local.powertools_layer_arn]

  reserved_concurrent_executions = var.fragile_reserved_concurrency

  environment {
    variables = {
      FAILURE_RATE              = tostring(var.failure_rate)
      FAILURE_MODE              = var.failure_mode
      LATENCY_MS                = tostring(var.latency_ms)
      FAILURE_STATUS_CODE       = tostring(var.failure_status_code)
      FAILURE_INJECTION_ENABLED = tostring(var.failure_injection_enabled)
      POWERTOOLS_SERVICE_NAME   = local.fragile_service_name
      POWERTOOLS_LOG_LEVEL      = "INFO"
    }
  }

  tracing_config {
    mode = "Active"
  }

  # The log group must exist (with retention and KMS) before the first invocation, or Lambda creates
  # an unencrypted one that never expires; the role must be able to write to it.
  depends_on = [aws_cloudwatch_log_group.fragile, aws_iam_role_policy.fragile_logs]
}

resource "aws_lambda_permission" "fragile_from_api" {
  statement_id  = "AllowHttpApiInvoke"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.fragile.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.http.execution_arn}/*/*"
}
