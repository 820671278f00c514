output "api_id" {
  description = "ID of the HTTP API (for an api_5xx signal of the protect module)."
  value       = aws_apigatewayv2_api.http.id
}

output "stage_name" {
  description = "Name of the API's stage, $default."
  value       = aws_apigatewayv2_stage.default.name
}

output "invoke_url" {
  description = "Invoke URL of the $default stage."
  value       = aws_apigatewayv2_stage.default.invoke_url
}
