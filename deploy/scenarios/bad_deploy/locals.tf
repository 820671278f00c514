locals {
  function_name = "${var.name}-checkout"
  # The alias callers use; a literal (not aws_lambda_alias.live.name) for the protect module, as the
  # function's name: its alarms, registry entry and grants need neither the function nor the alias yet.
  alias_name = "live"
  api_name   = "${var.name}-api"
}
