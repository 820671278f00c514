# Observability around one function: its log group with a retention, an Errors alarm and a composite alarm
# notifying an SNS topic, and an SQS queue subscribed to the topic (where on-call tooling would read).
terraform {
  required_providers {
    aws     = { source = "hashicorp/aws", version = "~> 6.0" }
    archive = { source = "hashicorp/archive", version = "~> 2.0" }
  }
}

provider "aws" {
  region = var.region
}

locals {
  function_name = "${var.name}-job"
}

data "archive_file" "job" {
  type        = "zip"
  source_file = "${path.module}/src/job.py"
  output_path = "${path.module}/build/job.zip"
}

resource "aws_cloudwatch_log_group" "job" {
  name              = "/aws/lambda/${local.function_name}"
  retention_in_days = var.log_retention_days
}

resource "aws_iam_role" "job" {
  name = local.function_name
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = { Service = "lambda.amazonaws.com" }
    }]
  })
}

resource "aws_iam_role_policy" "logs" {
  name = "logs"
  role = aws_iam_role.job.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
      Resource = "${aws_cloudwatch_log_group.job.arn}:*"
    }]
  })
}

resource "aws_lambda_function" "job" {
  function_name    = local.function_name
  role             = aws_iam_role.job.arn
  runtime          = "python3.12"
  handler          = "job.handler"
  filename         = data.archive_file.job.output_path
  source_code_hash = data.archive_file.job.output_base64sha256

  # The log group (with its retention) must exist before the function first logs.
  depends_on = [aws_cloudwatch_log_group.job, aws_iam_role_policy.logs]
}

resource "aws_sns_topic" "alerts" {
  name = "${var.name}-alerts"
}

resource "aws_sqs_queue" "alerts" {
  name = "${var.name}-alerts-inbox"
}

data "aws_iam_policy_document" "alerts_inbox" {
  statement {
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.alerts.arn]
    principals {
      type        = "Service"
      identifiers = ["sns.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_sns_topic.alerts.arn]
    }
  }
}

resource "aws_sqs_queue_policy" "alerts" {
  queue_url = aws_sqs_queue.alerts.id
  policy    = data.aws_iam_policy_document.alerts_inbox.json
}

resource "aws_sns_topic_subscription" "inbox" {
  topic_arn = aws_sns_topic.alerts.arn
  protocol  = "sqs"
  endpoint  = aws_sqs_queue.alerts.arn
}

resource "aws_cloudwatch_metric_alarm" "errors" {
  alarm_name          = "${local.function_name}-errors"
  alarm_description   = "The job failed."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.job.function_name }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alerts.arn]
  ok_actions          = [aws_sns_topic.alerts.arn]
}

resource "aws_cloudwatch_composite_alarm" "job" {
  alarm_name        = "${local.function_name}-unhealthy"
  alarm_description = "Any alarm of the job."
  alarm_rule        = "ALARM(\"${aws_cloudwatch_metric_alarm.errors.alarm_name}\")"
  alarm_actions     = [aws_sns_topic.alerts.arn]
}
