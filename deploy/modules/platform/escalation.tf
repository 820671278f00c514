# People subscribe here (email, chat, pager); the healer publishes when it will not or could not heal.
resource "aws_sns_topic" "escalations" {
  name              = local.escalation_topic_name
  display_name      = "${var.name} escalations"
  kms_master_key_id = aws_kms_key.main.arn
}
