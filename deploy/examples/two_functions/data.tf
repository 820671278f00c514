data "aws_caller_identity" "current" {}

# Each function's zip holds its one module at the root: handler MODULE.handler.
data "archive_file" "orders" {
  type             = "zip"
  source_file      = "${path.module}/src/orders.py"
  output_path      = "${path.root}/.build/${var.name}-orders.zip"
  output_file_mode = "0644"
}

data "archive_file" "payments" {
  type             = "zip"
  source_file      = "${path.module}/src/payments.py"
  output_path      = "${path.root}/.build/${var.name}-payments.zip"
  output_file_mode = "0644"
}
