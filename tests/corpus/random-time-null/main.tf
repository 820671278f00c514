# The utility providers around a small counter service: random_id for unique names, time_static for the
# deployment time, time_sleep for the usual "wait for IAM" pause, null_resource as a deployment marker.
terraform {
  required_providers {
    aws     = { source = "hashicorp/aws", version = "~> 6.0" }
    archive = { source = "hashicorp/archive", version = "~> 2.0" }
    random  = { source = "hashicorp/random", version = "~> 3.6" }
    time    = { source = "hashicorp/time", version = "~> 0.12" }
    null    = { source = "hashicorp/null", version = "~> 3.2" }
  }
}

provider "aws" {
  region = var.region
}

resource "random_id" "suffix" {
  byte_length = 3
  keepers     = { name = var.name }
}

resource "time_static" "deployed" {}

locals {
  name = "${var.name}-${random_id.suffix.hex}"
}

data "archive_file" "counter" {
  type        = "zip"
  source_file = "${path.module}/src/counter.py"
  output_path = "${path.module}/build/counter.zip"
}

resource "aws_dynamodb_table" "counters" {
  name         = "${local.name}-counters"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "name"

  attribute {
    name = "name"
    type = "S"
  }
}

resource "aws_iam_role" "counter" {
  name = local.name
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = { Service = "lambda.amazonaws.com" }
    }]
  })
}

resource "aws_iam_role_policy" "counter" {
  name = "count"
  role = aws_iam_role.counter.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = "dynamodb:UpdateItem"
      Resource = aws_dynamodb_table.counters.arn
    }]
  })
}

# IAM is eventually consistent on AWS: wait a moment before a function assumes a fresh role.
resource "time_sleep" "iam" {
  create_duration = var.iam_wait
  depends_on      = [aws_iam_role_policy.counter]
}

resource "aws_lambda_function" "counter" {
  function_name    = local.name
  role             = aws_iam_role.counter.arn
  runtime          = "python3.12"
  handler          = "counter.handler"
  filename         = data.archive_file.counter.output_path
  source_code_hash = data.archive_file.counter.output_base64sha256

  environment {
    variables = {
      TABLE_NAME  = aws_dynamodb_table.counters.name
      DEPLOYED_AT = time_static.deployed.rfc3339
    }
  }

  depends_on = [time_sleep.iam]
}

resource "null_resource" "release_marker" {
  triggers = {
    code_hash   = data.archive_file.counter.output_base64sha256
    deployed_at = time_static.deployed.unix
  }
}
