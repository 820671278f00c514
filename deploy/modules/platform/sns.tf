# Every protected function's alarms notify this topic on ALARM and on OK (protect module).
resource "aws_sns_topic" "alarms" {
  name              = local.alarm_topic_name
  display_name      = "${var.name} alarm notifications"
  kms_master_key_id = aws_kms_key.main.arn
}

resource "aws_sns_topic_policy" "alarms" {
  arn    = aws_sns_topic.alarms.arn
  policy = data.aws_iam_policy_document.alarm_topic.json
}

# CloudWatch alarms of this account and region may publish; same-account principals keep their IAM
# access. The alarms are created by protect instances later, so the source is every alarm ARN here.
data "aws_iam_policy_document" "alarm_topic" {
  statement {
    sid       = "CloudWatchAlarmsOfThisAccountPublish"
    effect    = "Allow"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms.arn]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:*"]
    }
  }
}

resource "aws_lambda_permission" "healer_from_sns" {
  statement_id  = "AllowAlarmTopicInvoke"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.healer.function_name
  principal     = "sns.amazonaws.com"
  source_arn    = aws_sns_topic.alarms.arn
}

resource "aws_sns_topic_subscription" "healer" {
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "lambda"
  endpoint  = aws_lambda_function.healer.arn

  # SNS may deliver before the permission exists otherwise, and the first notification would be lost.
  depends_on = [aws_lambda_permission.healer_from_sns]
}
