# The zip holds the one module at its root: handler checkout.handler.
data "archive_file" "checkout" {
  type             = "zip"
  source_file      = "${path.module}/src/checkout.py"
  output_path      = "${path.root}/.build/${var.name}-checkout.zip"
  output_file_mode = "0644"
}
