resource "aws_sns_topic_subscription" "healer" {
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "lambda"
  endpoint  = aws_lambda_function.healer.arn

  # SNS may deliver before the permission exists otherwise, and the first notification would be lost.
  depends_on = [aws_lambda_permission.healer_from_sns]
}
