# The names selfheal's demo, dashboard and status read (deploy/fragile's outputs: docs/internals.md),
# for the function this scenario protects, and the downstream it calls.
output "region" {
  description = "AWS region the scenario deployed into."
  value       = var.aws_region
}

output "api_endpoint" {
  description = "Invoke URL of the HTTP API's $default stage (requests go to storefront)."
  value       = module.api.invoke_url
}

output "fragile_function_name" {
  description = "Name of the protected function, storefront (the output name selfheal's tools read)."
  value       = aws_lambda_function.storefront.function_name
}

output "storefront_concurrency" {
  description = "Reserved concurrency Terraform gives storefront (the baseline the healer's clamp lowers)."
  value       = aws_lambda_function.storefront.reserved_concurrent_executions
}

output "concurrency_limit" {
  description = "Reserved concurrency the healer's clamp_concurrency puts on storefront."
  value       = var.concurrency_limit
}

output "inventory_function_name" {
  description = "Name of inventory, the downstream storefront calls."
  value       = aws_lambda_function.inventory.function_name
}

output "inventory_concurrency" {
  description = "Reserved concurrency of inventory: its slots."
  value       = aws_lambda_function.inventory.reserved_concurrent_executions
}

output "alarm_name" {
  description = "Name of storefront's duration-p99 alarm."
  value       = module.protect_storefront.alarm_names["duration_p99"]
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
