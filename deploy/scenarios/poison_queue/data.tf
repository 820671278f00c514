# The zip holds the one module at its root: handler worker.handler.
data "archive_file" "worker" {
  type             = "zip"
  source_file      = "${path.module}/src/worker.py"
  output_path      = "${path.root}/.build/${var.name}-worker.zip"
  output_file_mode = "0644"
}
