# Encryption at rest with one customer managed key: an SQS queue, a DynamoDB table and the function's
# environment variables; the function's role may use the key for those services only.
terraform {
  required_providers {
    aws     = { source = "hashicorp/aws", version = "~> 6.0" }
    archive = { source = "hashicorp/archive", version = "~> 2.0" }
  }
}

provider "aws" {
  region = var.region
}

data "aws_caller_identity" "current" {}

resource "aws_kms_key" "data" {
  description             = "${var.name}: queue, table and function environment."
  deletion_window_in_days = 7
  enable_key_rotation     = true
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "AccountAdministers"
      Effect    = "Allow"
      Principal = { AWS = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:root" }
      Action    = "kms:*"
      Resource  = "*"
    }]
  })
}

resource "aws_kms_alias" "data" {
  name          = "alias/${var.name}-data"
  target_key_id = aws_kms_key.data.key_id
}

resource "aws_sqs_queue" "payments" {
  name                              = "${var.name}-payments"
  kms_master_key_id                 = aws_kms_key.data.arn
  kms_data_key_reuse_period_seconds = 300
}

resource "aws_dynamodb_table" "payments" {
  name         = "${var.name}-payments"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "payment_id"

  attribute {
    name = "payment_id"
    type = "S"
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.data.arn
  }

  point_in_time_recovery {
    enabled = true
  }
}

data "archive_file" "payments" {
  type        = "zip"
  source_file = "${path.module}/src/payments.py"
  output_path = "${path.module}/build/payments.zip"
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

data "aws_iam_policy_document" "payments" {
  statement {
    sid       = "RecordPayments"
    actions   = ["dynamodb:PutItem"]
    resources = [aws_dynamodb_table.payments.arn]
  }
  statement {
    sid       = "QueuePayments"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.payments.arn]
  }
  statement {
    sid       = "UseTheDataKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.data.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["sqs.${var.region}.amazonaws.com", "dynamodb.${var.region}.amazonaws.com", "lambda.${var.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "payments" {
  name               = "${var.name}-payments"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

resource "aws_iam_role_policy" "payments" {
  name   = "payments"
  role   = aws_iam_role.payments.id
  policy = data.aws_iam_policy_document.payments.json
}

resource "aws_iam_role_policy_attachment" "logs" {
  role       = aws_iam_role.payments.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
}

resource "aws_lambda_function" "payments" {
  function_name    = "${var.name}-payments"
  role             = aws_iam_role.payments.arn
  runtime          = "python3.12"
  handler          = "payments.handler"
  filename         = data.archive_file.payments.output_path
  source_code_hash = data.archive_file.payments.output_base64sha256
  kms_key_arn      = aws_kms_key.data.arn

  environment {
    variables = {
      TABLE_NAME = aws_dynamodb_table.payments.name
      QUEUE_URL  = aws_sqs_queue.payments.url
    }
  }
}
