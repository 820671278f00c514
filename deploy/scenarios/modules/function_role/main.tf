# A scenario function's execution role and its log group: the role may write to that group and send
# traces, nothing else. A stack adds its own grants to role_name (e.g. consuming a queue) and makes its
# function depend on this module, so the group and the logs grant exist before the first invocation.

data "aws_caller_identity" "current" {}

data "aws_iam_policy_document" "lambda_assume_role" {
  statement {
    sid     = "LambdaAssumesRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "function" {
  name               = "${var.function_name}-role"
  description        = "Execution role of ${var.function_name}: its own logs and traces${var.role_purpose}."
  assume_role_policy = data.aws_iam_policy_document.lambda_assume_role.json
}

resource "aws_cloudwatch_log_group" "function" {
  #checkov:skip=CKV_AWS_338:A scenario's logs: retention is the log_retention_days variable.
  name              = "/aws/lambda/${var.function_name}"
  retention_in_days = var.log_retention_days
  # The platform's key policy lets CloudWatch Logs use it for log groups of this account.
  kms_key_id = var.kms_key_arn
}

# logs: write to its own log group only (Terraform creates the group, so no CreateLogGroup).
data "aws_iam_policy_document" "logs" {
  statement {
    sid       = "WriteOwnLogs"
    effect    = "Allow"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.function.arn}:*"]
  }
}

resource "aws_iam_role_policy" "logs" {
  name   = "logs"
  role   = aws_iam_role.function.id
  policy = data.aws_iam_policy_document.logs.json
}

# xray: active tracing.
data "aws_iam_policy_document" "xray" {
  #checkov:skip=CKV_AWS_356:X-Ray's PutTraceSegments/PutTelemetryRecords support no resource-level permissions.
  statement {
    sid     = "PutTraces"
    effect  = "Allow"
    actions = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    # "*" because these X-Ray actions have no resource-level permissions.
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "xray" {
  name   = "xray"
  role   = aws_iam_role.function.id
  policy = data.aws_iam_policy_document.xray.json
}
