locals {
  # A literal (not aws_lambda_function.storefront.function_name) for the protect module: its alarms,
  # registry entry and grants need only the name.
  function_name  = "${var.name}-storefront"
  inventory_name = "${var.name}-inventory"
  api_name       = "${var.name}-api"
}
