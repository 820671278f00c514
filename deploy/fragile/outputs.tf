output "api_endpoint" {
  description = "Invoke URL of the HTTP API's $default stage."
  value       = aws_apigatewayv2_stage.default.invoke_url
}

output "fragile_function_name" {
  description = "Name of the fragile Lambda function."
  value       = aws_lambda_function.fragile.function_name
}

output "healer_function_name" {
  description = "Name of the healer Lambda function."
  value       = aws_lambda_function.healer.function_name
}

output "alarm_name" {
  description = "Name of the fragile function's Errors alarm."
  value       = aws_cloudwatch_metric_alarm.fragile_errors.alarm_name
}

output "alarm_topic_arn" {
  description = "ARN of the topic that receives the alarm's ALARM and OK notifications."
  value       = aws_sns_topic.alarms.arn
}

output "escalation_topic_arn" {
  description = "ARN of the topic the healer escalates to."
  value       = aws_sns_topic.escalations.arn
}

output "ledger_table_name" {
  description = "Name of the healer's DynamoDB ledger table."
  value       = aws_dynamodb_table.ledger.name
}

output "healer_dlq_url" {
  description = "URL of the healer's on-failure SQS queue."
  value       = aws_sqs_queue.healer_dlq.url
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard of the loop."
  value       = aws_cloudwatch_dashboard.loop.dashboard_name
}

output "region" {
  description = "AWS region the module deployed into."
  value       = var.aws_region
}
