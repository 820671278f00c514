# The names selfheal's demo, dashboard and status read (deploy/fragile's outputs: docs/internals.md),
# for the function this scenario protects, and its queues, mapping and table.
output "region" {
  description = "AWS region the scenario deployed into."
  value       = var.aws_region
}

output "fragile_function_name" {
  description = "Name of the protected function, the worker (the output name selfheal's tools read)."
  value       = aws_lambda_function.worker.function_name
}

output "queue_url" {
  description = "URL of the orders queue the worker consumes (producers send orders here)."
  value       = aws_sqs_queue.orders.url
}

output "dlq_url" {
  description = "URL of the orders queue's dead-letter queue."
  value       = aws_sqs_queue.orders_dlq.url
}

output "event_source_mapping_uuid" {
  description = "UUID of the mapping from the orders queue to the worker, which the healer's disable_event_source disables."
  value       = aws_lambda_event_source_mapping.orders.uuid
}

output "fulfilment_queue_url" {
  description = "URL of the queue the worker passes good orders on to (the processed ones)."
  value       = aws_sqs_queue.fulfilment.url
}

output "alarm_name" {
  description = "Name of the worker's errors alarm."
  value       = module.protect_worker.alarm_names["errors"]
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
