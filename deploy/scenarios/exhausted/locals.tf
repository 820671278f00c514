locals {
  # A literal (not aws_lambda_function.pricing.function_name) for the protect module: its alarms,
  # registry entry and grants need only the name.
  function_name = "${var.name}-pricing"
  api_name      = "${var.name}-api"
  # The queue the stack subscribes to the escalation topic, standing in for the people on call.
  escalation_queue_name = "${var.name}-escalations"
}
