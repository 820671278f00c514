output "function_name" {
  value = aws_lambda_function.payments.function_name
}

output "queue_url" {
  value = aws_sqs_queue.payments.url
}

output "table_name" {
  value = aws_dynamodb_table.payments.name
}

output "key_alias" {
  value = aws_kms_alias.data.name
}
