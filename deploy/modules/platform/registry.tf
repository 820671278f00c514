# The kill switch: "on" turns every protected function to observe; anything but "off" fails closed.
# Created "off"; Terraform ignores later changes of its value, so an operator's
# `aws ssm put-parameter --overwrite --name REGISTRY_PATH/kill-switch --value on` holds across applies.
resource "aws_ssm_parameter" "kill_switch" {
  #checkov:skip=CKV2_AWS_34:The kill switch is a public on/off flag, not a secret; a SecureString would make every operator and the healer hold kms:Decrypt to read it.
  name        = local.kill_switch_parameter_name
  description = "selfheal kill switch of ${var.name}: on = every protected function observes only."
  type        = "String"
  value       = "off"

  lifecycle {
    ignore_changes = [value]
  }
}
