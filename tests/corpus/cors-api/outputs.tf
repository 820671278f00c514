output "quotes_url" {
  description = "URL of the quotes resource."
  value       = "${aws_apigatewayv2_stage.v1.invoke_url}/quotes"
}

output "access_log_group" {
  value = aws_cloudwatch_log_group.access.name
}
