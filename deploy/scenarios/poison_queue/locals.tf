locals {
  # A literal (not aws_lambda_function.worker.function_name) for the protect module: its alarms, registry
  # entry and grants need only the name.
  function_name   = "${var.name}-worker"
  queue_name      = "${var.name}-orders"
  dlq_name        = "${var.name}-orders-dlq"
  fulfilment_name = "${var.name}-fulfilment"
}
