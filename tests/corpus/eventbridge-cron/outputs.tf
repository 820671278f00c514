output "table_name" {
  value = aws_dynamodb_table.events.name
}

output "heartbeat_rule_arn" {
  value = aws_cloudwatch_event_rule.heartbeat.arn
}
