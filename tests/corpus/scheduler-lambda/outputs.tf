output "table_name" {
  value = aws_dynamodb_table.runs.name
}

output "schedule_arn" {
  value = aws_scheduler_schedule.tick.arn
}
