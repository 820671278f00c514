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
  value       = module.platform.healer_function_name
}

output "alarm_name" {
  description = "Name of the fragile function's Errors alarm."
  value       = module.protect_fragile.alarm_names["errors"]
}

output "alarm_topic_arn" {
  description = "ARN of the topic that receives the alarm's ALARM and OK notifications."
  value       = module.platform.alarm_topic_arn
}

output "escalation_topic_arn" {
  description = "ARN of the topic the healer escalates to."
  value       = module.platform.escalation_topic_arn
}

output "ledger_table_name" {
  description = "Name of the healer's DynamoDB ledger table."
  value       = module.platform.ledger_table_name
}

output "registry_path" {
  description = "SSM Parameter Store path of the registry of protected functions (its alarms/ entries and kill-switch)."
  value       = module.platform.registry_path
}

output "healer_dlq_url" {
  description = "URL of the healer's on-failure SQS queue."
  value       = module.platform.healer_dlq_url
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard of the loop."
  value       = aws_cloudwatch_dashboard.loop.dashboard_name
}

output "region" {
  description = "AWS region the module deployed into."
  value       = var.aws_region
}
