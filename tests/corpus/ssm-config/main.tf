# Configuration in SSM Parameter Store: a function reads its parameters by path at cold start; its role may
# read that path only.
terraform {
  required_providers {
    aws     = { source = "hashicorp/aws", version = "~> 6.0" }
    archive = { source = "hashicorp/archive", version = "~> 2.0" }
    random  = { source = "hashicorp/random", version = "~> 3.6" }
  }
}

provider "aws" {
  region = var.region
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  path = "/${var.name}/${var.environment}"
}

resource "random_string" "api_key" {
  length  = 32
  special = false
}

resource "aws_ssm_parameter" "greeting" {
  name  = "${local.path}/greeting"
  type  = "String"
  value = var.greeting
}

resource "aws_ssm_parameter" "features" {
  name  = "${local.path}/features"
  type  = "StringList"
  value = join(",", var.features)
}

resource "aws_ssm_parameter" "api_key" {
  name        = "${local.path}/api-key"
  description = "Key of the partner API (generated)."
  type        = "SecureString"
  value       = random_string.api_key.result
}

data "aws_ssm_parameter" "greeting" {
  name = aws_ssm_parameter.greeting.name
}

data "archive_file" "config" {
  type        = "zip"
  source_file = "${path.module}/src/config_reader.py"
  output_path = "${path.module}/build/config_reader.zip"
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "read_config" {
  statement {
    actions   = ["ssm:GetParametersByPath"]
    resources = ["arn:${data.aws_partition.current.partition}:ssm:${var.region}:${data.aws_caller_identity.current.account_id}:parameter${local.path}"]
  }
}

resource "aws_iam_role" "config" {
  name               = "${var.name}-config-reader"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

resource "aws_iam_role_policy" "read_config" {
  name   = "read-config"
  role   = aws_iam_role.config.id
  policy = data.aws_iam_policy_document.read_config.json
}

resource "aws_iam_role_policy_attachment" "logs" {
  role       = aws_iam_role.config.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
}

resource "aws_lambda_function" "config" {
  function_name    = "${var.name}-config-reader"
  role             = aws_iam_role.config.arn
  runtime          = "python3.12"
  handler          = "config_reader.handler"
  filename         = data.archive_file.config.output_path
  source_code_hash = data.archive_file.config.output_base64sha256

  environment {
    variables = { CONFIG_PATH = local.path }
  }
}
