data "aws_partition" "current" {}

data "aws_caller_identity" "current" {}

# The zip holds only the fragile service's package at the root (docs/internals.md): every other package
# under src/, egg metadata and bytecode are excluded. The healer's zip is built by the platform module.
data "archive_file" "fragile" {
  type             = "zip"
  source_dir       = "${path.module}/../../src"
  output_path      = "${local.build_dir}/${local.fragile_function_name}.zip"
  output_file_mode = "0644"
  excludes         = ["healer/**", "selfheal/**", "*.egg-info/**", "**/__pycache__/**"]
}
