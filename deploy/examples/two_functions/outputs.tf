output "region" {
  description = "AWS region the example deployed into."
  value       = var.aws_region
}

output "healer_function_name" {
  description = "Name of the platform's healer function."
  value       = module.platform.healer_function_name
}

output "alarm_topic_arn" {
  description = "ARN of the topic every alarm of the example notifies."
  value       = module.platform.alarm_topic_arn
}

output "escalation_topic_arn" {
  description = "ARN of the topic the healer escalates to."
  value       = module.platform.escalation_topic_arn
}

output "ledger_table_name" {
  description = "Name of the healer's ledger table."
  value       = module.platform.ledger_table_name
}

output "registry_path" {
  description = "SSM path of the registry."
  value       = module.platform.registry_path
}

output "kill_switch_parameter_name" {
  description = "Name of the kill-switch parameter."
  value       = module.platform.kill_switch_parameter_name
}

output "orders_function_name" {
  description = "Name of the orders function."
  value       = aws_lambda_function.orders.function_name
}

output "orders_alias_arn" {
  description = "ARN of orders' alias live, which callers invoke."
  value       = aws_lambda_alias.live.arn
}

output "payments_function_name" {
  description = "Name of the payments function."
  value       = aws_lambda_function.payments.function_name
}

output "alarm_names" {
  description = "Function → signal → alarm name."
  value = {
    orders   = module.protect_orders.alarm_names
    payments = module.protect_payments.alarm_names
  }
}

output "registry_parameter_names" {
  description = "Function → signal → registry parameter name."
  value = {
    orders   = module.protect_orders.registry_parameter_names
    payments = module.protect_payments.registry_parameter_names
  }
}
