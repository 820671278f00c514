output "function_name" {
  value = aws_lambda_function.job.function_name
}

output "log_group" {
  value = aws_cloudwatch_log_group.job.name
}

output "alarm_name" {
  value = aws_cloudwatch_metric_alarm.errors.alarm_name
}

output "composite_alarm_name" {
  value = aws_cloudwatch_composite_alarm.job.alarm_name
}

output "alerts_queue_url" {
  value = aws_sqs_queue.alerts.url
}
