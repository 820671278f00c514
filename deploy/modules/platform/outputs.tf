output "platform" {
  description = "Everything a protect instance needs, as docs/platform.md lists it: pass it whole as the protect module's platform input."
  value = {
    name                          = var.name
    registry_path                 = local.registry_path
    registry_parameter_arn_prefix = local.registry_parameter_arn_prefix
    healer_function_name          = aws_lambda_function.healer.function_name
    healer_function_arn           = aws_lambda_function.healer.arn
    healer_role_name              = aws_iam_role.healer.name
    healer_role_arn               = aws_iam_role.healer.arn
    remediation_role_path         = local.remediation_role_path
    alarm_topic_arn               = aws_sns_topic.alarms.arn
    escalation_topic_arn          = aws_sns_topic.escalations.arn
    ledger_table_name             = aws_dynamodb_table.ledger.name
    kms_key_arn                   = aws_kms_key.main.arn
    max_playbook_seconds          = local.max_playbook_seconds
    defaults = {
      cooldown_seconds       = var.default_rails.cooldown_seconds
      max_actions_per_window = var.default_rails.max_actions_per_window
      action_window_seconds  = var.default_rails.action_window_seconds
      verify_timeout_seconds = var.default_rails.verify_timeout_seconds
    }
  }
}

output "healer_function_name" {
  description = "Name of the healer Lambda function (operators invoke it with approve/restore commands)."
  value       = aws_lambda_function.healer.function_name
}

output "healer_function_arn" {
  description = "ARN of the healer Lambda function."
  value       = aws_lambda_function.healer.arn
}

output "healer_role_name" {
  description = "Name of the healer's execution role; it may assume the protect instances' remediation roles."
  value       = aws_iam_role.healer.name
}

output "alarm_topic_arn" {
  description = "ARN of the topic every protected alarm notifies on ALARM and OK."
  value       = aws_sns_topic.alarms.arn
}

output "escalation_topic_arn" {
  description = "ARN of the topic the healer escalates to; subscribe people here."
  value       = aws_sns_topic.escalations.arn
}

output "ledger_table_name" {
  description = "Name of the healer's DynamoDB ledger table."
  value       = aws_dynamodb_table.ledger.name
}

output "healer_dlq_url" {
  description = "URL of the healer's on-failure SQS queue."
  value       = aws_sqs_queue.healer_dlq.url
}

output "kms_key_arn" {
  description = "ARN of the platform's customer-managed KMS key (topics, ledger, DLQ, log groups of this account may use it)."
  value       = aws_kms_key.main.arn
}

output "registry_path" {
  description = "SSM Parameter Store path of the registry."
  value       = local.registry_path
}

output "kill_switch_parameter_name" {
  description = "Name of the kill-switch parameter (on/off)."
  value       = aws_ssm_parameter.kill_switch.name
}

output "max_playbook_seconds" {
  description = "Longest a playbook may take inside one healer invocation: the sum of its steps' verify deadlines must not exceed it."
  value       = local.max_playbook_seconds
}
