output "alarm_names" {
  description = "Signal (errors, error_rate, ...) → name of its alarm, for every enabled signal."
  value       = { for name, alarm in local.alarms : name => alarm.alarm_name }
}

output "alarm_arns" {
  description = "Signal → ARN of its alarm."
  value       = { for name, alarm in local.alarms : name => alarm.arn }
}

output "registry_parameter_names" {
  description = "Signal → name of the registry parameter of its alarm (REGISTRY_PATH/alarms/ALARM_NAME)."
  value       = { for name, parameter in aws_ssm_parameter.registry : name => parameter.name }
}

output "healer_policy_name" {
  description = "Name of the inline policy that holds the healer's grants on this function (on the remediation role)."
  value       = aws_iam_role_policy.healer.name
}

output "remediation_role_arn" {
  description = "ARN of this function's remediation role, which the healer assumes to act on it."
  value       = aws_iam_role.remediation.arn
}

output "function_arn" {
  description = "ARN of the protected function, as the healer's grants name it."
  value       = local.function_arn
}
