# One registry entry per alarm (docs/platform.md): the healer reads the entry of the alarm named in each
# notification. Written only by Terraform.
resource "aws_ssm_parameter" "registry" {
  #checkov:skip=CKV2_AWS_34:Registry entries are non-secret configuration (names, action lists, numbers); a SecureString would make the healer and every reader hold kms:Decrypt.
  for_each = local.registry_entries

  name        = "${var.platform.registry_path}/alarms/${local.alarm_names[each.key]}"
  description = "selfheal registry entry of alarm ${local.alarm_names[each.key]} (${var.function_name})."
  type        = "String"
  value       = jsonencode(each.value)

  lifecycle {
    precondition {
      # A Standard parameter holds at most 4 KB.
      condition     = length(jsonencode(each.value)) <= 4096
      error_message = "The registry entry of ${local.alarm_names[each.key]} exceeds 4 KB: shorten set_env or the playbook."
    }
  }
}
