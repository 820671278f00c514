output "role_arn" {
  description = "ARN of the execution role, for the function's role argument."
  value       = aws_iam_role.function.arn
}

output "role_name" {
  description = "Name of the execution role, for a stack's own inline policies."
  value       = aws_iam_role.function.name
}

output "log_group_arn" {
  description = "ARN of the function's log group."
  value       = aws_cloudwatch_log_group.function.arn
}

output "log_group_name" {
  description = "Name of the function's log group, /aws/lambda/FUNCTION_NAME."
  value       = aws_cloudwatch_log_group.function.name
}
