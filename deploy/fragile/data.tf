data "aws_partition" "current" {}

data "aws_caller_identity" "current" {}

# Each zip holds only its own package at the root (docs/internals.md): every other package under
# src/, egg metadata and bytecode are excluded.
data "archive_file" "fragile" {
  type             = "zip"
  source_dir       = "${path.module}/../../src"
  output_path      = "${local.build_dir}/${local.fragile_function_name}.zip"
  output_file_mode = "0644"
  excludes         = ["healer/**", "selfheal/**", "*.egg-info/**", "**/__pycache__/**"]
}

data "archive_file" "healer" {
  type             = "zip"
  source_dir       = "${path.module}/../../src"
  output_path      = "${local.build_dir}/${local.healer_function_name}.zip"
  output_file_mode = "0644"
  excludes         = ["fragile_service/**", "selfheal/**", "*.egg-info/**", "**/__pycache__/**"]
}
