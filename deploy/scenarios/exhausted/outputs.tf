# The names selfheal's demo, dashboard and status read (deploy/fragile's outputs: docs/internals.md),
# for the function this scenario protects, and the queue its escalations reach.
output "region" {
  description = "AWS region the scenario deployed into."
  value       = var.aws_region
}

output "api_endpoint" {
  description = "Invoke URL of the HTTP API's $default stage (requests go to pricing)."
  value       = module.api.invoke_url
}

output "fragile_function_name" {
  description = "Name of the protected function, pricing (the output name selfheal's tools read)."
  value       = aws_lambda_function.pricing.function_name
}

output "alarm_name" {
  description = "Name of pricing's errors alarm."
  value       = module.protect_pricing.alarm_names["errors"]
}

output "healer_function_name" {
  description = "Name of the platform's healer function."
  value       = module.platform.healer_function_name
}

output "ledger_table_name" {
  description = "Name of the healer's ledger table."
  value       = module.platform.ledger_table_name
}

output "registry_path" {
  description = "SSM path of the registry of protected functions."
  value       = module.platform.registry_path
}

output "escalation_topic_arn" {
  description = "ARN of the topic the healer escalates to."
  value       = module.platform.escalation_topic_arn
}

output "escalation_queue_url" {
  description = "URL of the SQS queue subscribed to the escalation topic: every escalation lands there."
  value       = aws_sqs_queue.escalations.url
}
