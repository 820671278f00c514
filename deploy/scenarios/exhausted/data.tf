# The zip holds the one module at its root: handler pricing.handler.
data "archive_file" "pricing" {
  type             = "zip"
  source_file      = "${path.module}/src/pricing.py"
  output_path      = "${path.root}/.build/${var.name}-pricing.zip"
  output_file_mode = "0644"
}
