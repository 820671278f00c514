data "aws_partition" "current" {}

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

# The zip holds only the healer package at its root (docs/internals.md): every other package under
# src/, egg metadata and bytecode are excluded.
data "archive_file" "healer" {
  type             = "zip"
  source_dir       = "${path.module}/../../../src"
  output_path      = "${local.build_dir}/${local.healer_function_name}.zip"
  output_file_mode = "0644"
  excludes         = ["fragile_service/**", "selfheal/**", "*.egg-info/**", "**/__pycache__/**"]
}
