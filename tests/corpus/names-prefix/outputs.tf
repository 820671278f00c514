output "function_name" {
  value = aws_lambda_function.publisher.function_name
}

output "queue_url" {
  value = aws_sqs_queue.updates.url
}

output "topic_name" {
  value = aws_sns_topic.updates.name
}

output "role_name" {
  value = aws_iam_role.publisher.name
}
