locals {
  functions = ["orders", "payments"]
}

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
  for_each = toset(local.functions)

  name               = "${var.name}-${each.key}-role"
  description        = "Execution role of ${var.name}-${each.key}: its own logs and traces, nothing else."
  assume_role_policy = data.aws_iam_policy_document.lambda_assume_role.json
}

# logs: write to its own log group only (Terraform creates the group, so no CreateLogGroup).
data "aws_iam_policy_document" "logs" {
  for_each = toset(local.functions)

  statement {
    sid       = "WriteOwnLogs"
    effect    = "Allow"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.function[each.key].arn}:*"]
  }
}

resource "aws_iam_role_policy" "logs" {
  for_each = toset(local.functions)

  name   = "logs"
  role   = aws_iam_role.function[each.key].id
  policy = data.aws_iam_policy_document.logs[each.key].json
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
  for_each = toset(local.functions)

  name   = "xray"
  role   = aws_iam_role.function[each.key].id
  policy = data.aws_iam_policy_document.xray.json
}
