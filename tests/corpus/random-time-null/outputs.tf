output "function_name" {
  value = aws_lambda_function.counter.function_name
}

output "table_name" {
  value = aws_dynamodb_table.counters.name
}

output "deployed_at" {
  value = time_static.deployed.rfc3339
}

output "release_marker" {
  value = null_resource.release_marker.id
}
