output "base_url" {
  description = "Invoke URL of the stage."
  value       = aws_api_gateway_stage.app.invoke_url
}
