resource "aws_iam_role" "healer" {
  name               = "${local.healer_function_name}-role"
  description        = "Execution role of ${local.healer_function_name}: reconfigure one function, keep its ledger, escalate."
  assume_role_policy = data.aws_iam_policy_document.lambda_assume_role.json
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

# lambda config: read and change the configuration of the fragile function, nothing else.
data "aws_iam_policy_document" "healer_lambda_config" {
  statement {
    sid       = "ReconfigureFragileFunction"
    effect    = "Allow"
    actions   = ["lambda:GetFunctionConfiguration", "lambda:UpdateFunctionConfiguration"]
    resources = [local.fragile_function_arn]
  }
}

resource "aws_iam_role_policy" "healer_lambda_config" {
  name   = "lambda-config"
  role   = aws_iam_role.healer.id
  policy = data.aws_iam_policy_document.healer_lambda_config.json
}

# ledger: read and write incident records in its own table. The claim transaction holds two Update items,
# which IAM authorises as UpdateItem; the healer never deletes items or uses ConditionCheck items.
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

# describe alarm: verify recovery by reading the state of its own alarm.
data "aws_iam_policy_document" "healer_describe_alarm" {
  statement {
    sid       = "DescribeOwnAlarm"
    effect    = "Allow"
    actions   = ["cloudwatch:DescribeAlarms"]
    resources = [aws_cloudwatch_metric_alarm.fragile_errors.arn]
  }
}

resource "aws_iam_role_policy" "healer_describe_alarm" {
  name   = "describe-alarm"
  role   = aws_iam_role.healer.id
  policy = data.aws_iam_policy_document.healer_describe_alarm.json
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

# kms: the escalation topic and the DLQ are encrypted with the module's key.
data "aws_iam_policy_document" "healer_kms" {
  statement {
    sid       = "UseModuleKey"
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
