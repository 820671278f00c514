output "api_url" {
  value = aws_apigatewayv2_api.api.api_endpoint
}

output "alias_arn" {
  value = aws_lambda_alias.live.arn
}

output "live_version" {
  value = aws_lambda_alias.live.function_version
}
