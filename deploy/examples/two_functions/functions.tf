# Two small functions of the example's own. orders is published and served through the alias "live";
# payments is served as $LATEST. Both fail with probability FAILURE_RATE.

resource "aws_lambda_function" "orders" {
  #checkov:skip=CKV_AWS_116:Invoked synchronously through its alias; a DLQ applies to asynchronous invocations.
  #checkov:skip=CKV_AWS_117:An example that reaches no private resources; a VPC adds cost and cold-start latency for nothing.
  #checkov:skip=CKV_AWS_173:The only variable is a non-secret failure-injection rate; a CMK would force the healer to hold kms:CreateGrant.
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile outside this example; the zip is built from the reviewed repository by Terraform itself.
  function_name = "${var.name}-orders"
  description   = "two_functions example: orders, behind the alias live; fails on purpose (FAILURE_RATE)."
  role          = aws_iam_role.function["orders"].arn
  runtime       = "python3.12"
  handler       = "orders.handler"
  architectures = ["x86_64"]
  memory_size   = 128
  timeout       = 10

  filename         = data.archive_file.orders.output_path
  source_code_hash = data.archive_file.orders.output_base64sha256
  # Every change of code or configuration publishes a version; the alias follows the newest one, and
  # rollback_alias moves it back to the one before.
  publish = true

  reserved_concurrent_executions = 10

  environment {
    variables = {
      FAILURE_RATE = tostring(var.orders_failure_rate)
    }
  }

  tracing_config {
    mode = "Active"
  }

  # The encrypted, expiring log group first, and the role able to write to it.
  depends_on = [aws_cloudwatch_log_group.function, aws_iam_role_policy.logs]
}

resource "aws_lambda_alias" "live" {
  name             = "live"
  description      = "The version orders' callers use; the healer's rollback_alias moves it."
  function_name    = aws_lambda_function.orders.function_name
  function_version = aws_lambda_function.orders.version
}

resource "aws_lambda_function" "payments" {
  #checkov:skip=CKV_AWS_116:Invoked synchronously; a DLQ applies to asynchronous invocations.
  #checkov:skip=CKV_AWS_117:An example that reaches no private resources; a VPC adds cost and cold-start latency for nothing.
  #checkov:skip=CKV_AWS_173:The only variable is a non-secret failure-injection rate; a CMK would force the healer to hold kms:CreateGrant just to reset FAILURE_RATE.
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile outside this example; the zip is built from the reviewed repository by Terraform itself.
  function_name = "${var.name}-payments"
  description   = "two_functions example: payments; fails on purpose (FAILURE_RATE), healed by set_env."
  role          = aws_iam_role.function["payments"].arn
  runtime       = "python3.12"
  handler       = "payments.handler"
  architectures = ["x86_64"]
  memory_size   = 128
  timeout       = 10

  filename         = data.archive_file.payments.output_path
  source_code_hash = data.archive_file.payments.output_base64sha256

  reserved_concurrent_executions = 10

  environment {
    variables = {
      FAILURE_RATE = tostring(var.payments_failure_rate)
    }
  }

  tracing_config {
    mode = "Active"
  }

  depends_on = [aws_cloudwatch_log_group.function, aws_iam_role_policy.logs]
}

resource "aws_cloudwatch_log_group" "function" {
  #checkov:skip=CKV_AWS_338:An example's logs: retention is the log_retention_days variable.
  for_each = toset(local.functions)

  name              = "/aws/lambda/${var.name}-${each.key}"
  retention_in_days = var.log_retention_days
  # The platform's key policy lets CloudWatch Logs use it for log groups of this account.
  kms_key_id = module.platform.kms_key_arn
}
