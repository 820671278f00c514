# The names selfheal's demo, dashboard and status read (deploy/fragile's outputs: docs/internals.md),
# for the function this scenario protects, and the alias it adds.
output "region" {
  description = "AWS region the scenario deployed into."
  value       = var.aws_region
}

output "api_endpoint" {
  description = "Invoke URL of the HTTP API's $default stage (requests go to checkout's alias live)."
  value       = module.api.invoke_url
}

output "fragile_function_name" {
  description = "Name of the protected function, checkout (the output name selfheal's tools read)."
  value       = aws_lambda_function.checkout.function_name
}

output "alias_name" {
  description = "Name of the alias the HTTP API invokes and the healer's rollback_alias moves."
  value       = aws_lambda_alias.live.name
}

output "alias_arn" {
  description = "ARN of checkout's alias live."
  value       = aws_lambda_alias.live.arn
}

output "function_version" {
  description = "The version Terraform published last, which the alias live names after an apply."
  value       = aws_lambda_function.checkout.version
}

output "alarm_name" {
  description = "Name of checkout's errors alarm."
  value       = module.protect_checkout.alarm_names["errors"]
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
