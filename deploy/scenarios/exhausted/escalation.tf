# The people on call, as a queue: the escalation topic delivers every escalation here, where the demo
# (or `aws sqs receive-message`) reads it. On AWS, people subscribe by email, chat or pager instead.
resource "aws_sqs_queue" "escalations" {
  name                      = local.escalation_queue_name
  message_retention_seconds = var.escalation_retention_seconds
  # The platform's key: its policy lets SNS use it, which delivery to an encrypted queue needs.
  kms_master_key_id                 = module.platform.kms_key_arn
  kms_data_key_reuse_period_seconds = 300
}

data "aws_iam_policy_document" "escalations_queue" {
  statement {
    sid       = "EscalationTopicDelivers"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.escalations.arn]

    principals {
      type        = "Service"
      identifiers = ["sns.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [module.platform.escalation_topic_arn]
    }
  }
}

resource "aws_sqs_queue_policy" "escalations" {
  queue_url = aws_sqs_queue.escalations.id
  policy    = data.aws_iam_policy_document.escalations_queue.json
}

resource "aws_sns_topic_subscription" "escalations" {
  topic_arn = module.platform.escalation_topic_arn
  protocol  = "sqs"
  endpoint  = aws_sqs_queue.escalations.arn

  # The policy first, so the first escalation is not refused.
  depends_on = [aws_sqs_queue_policy.escalations]
}
