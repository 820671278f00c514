# The healer's execution role. This module grants what the healer needs whatever it protects. What it may
# do to a protected function is not on this role: each protect instance creates a remediation role under
# local.remediation_role_path, scoped to its own function and trusting only this role, which the healer
# assumes to act (docs/platform.md). One role per function keeps this role within IAM's 10,240-character
# aggregate of inline policies however many functions the platform protects.
resource "aws_iam_role" "healer" {
  name               = "${local.healer_function_name}-role"
  description        = "Execution role of ${local.healer_function_name}: its ledger, registry, escalations; per-function grants come from protect instances."
  assume_role_policy = data.aws_iam_policy_document.lambda_assume_role.json
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
      values   = [local.account_id]
    }
  }
}

# logs: write to its own log group only (EMF metrics travel in the same log events).
data "aws_iam_policy_document" "healer_logs" {
  statement {
    sid       = "WriteOwnLogs"
    effect    = "Allow"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.healer.arn}:*"]
  }
}

resource "aws_iam_role_policy" "healer_logs" {
  name   = "logs"
  role   = aws_iam_role.healer.id
  policy = data.aws_iam_policy_document.healer_logs.json
}

# remediation: assume the protect instances' remediation roles, and only those of this platform.
data "aws_iam_policy_document" "healer_remediation" {
  statement {
    sid       = "AssumeRemediationRoles"
    effect    = "Allow"
    actions   = ["sts:AssumeRole"]
    resources = [local.remediation_role_arn_pattern]
  }
}

resource "aws_iam_role_policy" "healer_remediation" {
  name   = "assume-remediation-roles"
  role   = aws_iam_role.healer.id
  policy = data.aws_iam_policy_document.healer_remediation.json
}

# ledger: incidents, control items and the fleet item in its own table. Claims are TransactWriteItems
# of Update items, which IAM authorises as UpdateItem; the healer never deletes items.
data "aws_iam_policy_document" "healer_ledger" {
  statement {
    sid    = "ReadWriteLedger"
    effect = "Allow"
    actions = [
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
      "dynamodb:Query",
    ]
    resources = [aws_dynamodb_table.ledger.arn]
  }
}

resource "aws_iam_role_policy" "healer_ledger" {
  name   = "ledger"
  role   = aws_iam_role.healer.id
  policy = data.aws_iam_policy_document.healer_ledger.json
}

# registry: read the entry of an alarm and the kill switch, nothing outside the registry path.
data "aws_iam_policy_document" "healer_registry" {
  statement {
    sid       = "ReadRegistry"
    effect    = "Allow"
    actions   = ["ssm:GetParameter"]
    resources = ["${local.registry_parameter_arn_prefix}/*"]
  }
}

resource "aws_iam_role_policy" "healer_registry" {
  name   = "registry"
  role   = aws_iam_role.healer.id
  policy = data.aws_iam_policy_document.healer_registry.json
}

# escalation publish: tell people when it will not or could not heal.
data "aws_iam_policy_document" "healer_escalation" {
  statement {
    sid       = "PublishEscalations"
    effect    = "Allow"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.escalations.arn]
  }
}

resource "aws_iam_role_policy" "healer_escalation" {
  name   = "escalation-publish"
  role   = aws_iam_role.healer.id
  policy = data.aws_iam_policy_document.healer_escalation.json
}

# dlq: Lambda sends failed asynchronous events with the function's own role.
data "aws_iam_policy_document" "healer_dlq" {
  statement {
    sid       = "SendToDlq"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.healer_dlq.arn]
  }
}

resource "aws_iam_role_policy" "healer_dlq" {
  name   = "dlq"
  role   = aws_iam_role.healer.id
  policy = data.aws_iam_policy_document.healer_dlq.json
}

# kms: the ledger, the escalation topic and the DLQ are encrypted with the platform's key.
data "aws_iam_policy_document" "healer_kms" {
  statement {
    sid       = "UsePlatformKey"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.main.arn]
  }
}

resource "aws_iam_role_policy" "healer_kms" {
  name   = "kms"
  role   = aws_iam_role.healer.id
  policy = data.aws_iam_policy_document.healer_kms.json
}

# xray: active tracing.
data "aws_iam_policy_document" "healer_xray" {
  #checkov:skip=CKV_AWS_356:X-Ray's PutTraceSegments/PutTelemetryRecords support no resource-level permissions.
  statement {
    sid     = "PutTraces"
    effect  = "Allow"
    actions = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    # "*" because these X-Ray actions have no resource-level permissions.
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "healer_xray" {
  name   = "xray"
  role   = aws_iam_role.healer.id
  policy = data.aws_iam_policy_document.healer_xray.json
}
