output "api_url" {
  description = "Base URL of the HTTP API."
  value       = aws_apigatewayv2_stage.default.invoke_url
}

output "audit_table" {
  description = "The table the auditor records every change of an order in."
  value       = aws_dynamodb_table.audit.name
}

output "discarded_queue_url" {
  description = "The queue discarded stream batches' metadata goes to."
  value       = aws_sqs_queue.discarded.url
}
