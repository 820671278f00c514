output "function_name" {
  value = aws_lambda_function.config.function_name
}

output "greeting" {
  description = "The greeting as Parameter Store holds it."
  value       = data.aws_ssm_parameter.greeting.value
  sensitive   = true
}

output "api_key_length" {
  value = length(random_string.api_key.result)
}
