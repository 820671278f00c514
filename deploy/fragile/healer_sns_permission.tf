resource "aws_lambda_permission" "healer_from_sns" {
  statement_id  = "AllowAlarmTopicInvoke"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.healer.function_name
  principal     = "sns.amazonaws.com"
  source_arn    = aws_sns_topic.alarms.arn
}
