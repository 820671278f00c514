output "topic_arn" {
  value = aws_sns_topic.events.arn
}

output "audit_log_group" {
  value = "/aws/lambda/${aws_lambda_function.subscriber["audit"].function_name}"
}

output "notify_log_group" {
  value = "/aws/lambda/${aws_lambda_function.subscriber["notify"].function_name}"
}
