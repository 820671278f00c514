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

resource "aws_iam_role" "worker" {
  name               = "${local.function_name}-role"
  description        = "Execution role of ${local.function_name}: its own logs and traces, nothing else."
  assume_role_policy = data.aws_iam_policy_document.lambda_assume_role.json
}

# logs: write to its own log group only (Terraform creates the group, so no CreateLogGroup).
data "aws_iam_policy_document" "logs" {
  statement {
    sid       = "WriteOwnLogs"
    effect    = "Allow"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.worker.arn}:*"]
  }
}

resource "aws_iam_role_policy" "logs" {
  name   = "logs"
  role   = aws_iam_role.worker.id
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
  role   = aws_iam_role.worker.id
  policy = data.aws_iam_policy_document.xray.json
}

# consume_orders: what the event source mapping does with the role — receive and delete the queue's
# messages, read its attributes.
data "aws_iam_policy_document" "consume_orders" {
  statement {
    sid       = "ConsumeOrdersQueue"
    effect    = "Allow"
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"]
    resources = [aws_sqs_queue.orders.arn]
  }
}

resource "aws_iam_role_policy" "consume_orders" {
  name   = "consume-orders"
  role   = aws_iam_role.worker.id
  policy = data.aws_iam_policy_document.consume_orders.json
}

# pass_orders_on: send good orders to the fulfilment queue.
data "aws_iam_policy_document" "pass_orders_on" {
  statement {
    sid       = "SendToFulfilment"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.fulfilment.arn]
  }
}

resource "aws_iam_role_policy" "pass_orders_on" {
  name   = "pass-orders-on"
  role   = aws_iam_role.worker.id
  policy = data.aws_iam_policy_document.pass_orders_on.json
}
