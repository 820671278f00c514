# EventBridge → Lambda → DynamoDB: a scheduled rule (a heartbeat) and an event-pattern rule with an input
# transformer, both targeting one function that records what it received.
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
data "aws_region" "current" {}

data "archive_file" "recorder" {
  type        = "zip"
  source_file = "${path.module}/src/recorder.py"
  output_path = "${path.module}/build/recorder.zip"
}

resource "aws_dynamodb_table" "events" {
  name         = "${var.name}-events"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"

  attribute {
    name = "pk"
    type = "S"
  }
}

resource "aws_iam_role" "recorder" {
  name = "${var.name}-recorder"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = { Service = "lambda.amazonaws.com" }
    }]
  })
}

resource "aws_iam_role_policy" "recorder" {
  name = "record"
  role = aws_iam_role.recorder.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["dynamodb:PutItem"]
        Resource = aws_dynamodb_table.events.arn
      },
      {
        Effect   = "Allow"
        Action   = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = "arn:aws:logs:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}:*"
      },
    ]
  })
}

resource "aws_lambda_function" "recorder" {
  function_name    = "${var.name}-recorder"
  role             = aws_iam_role.recorder.arn
  runtime          = "python3.13"
  handler          = "recorder.handler"
  filename         = data.archive_file.recorder.output_path
  source_code_hash = data.archive_file.recorder.output_base64sha256

  environment {
    variables = { TABLE_NAME = aws_dynamodb_table.events.name }
  }
}

resource "aws_lambda_function_event_invoke_config" "recorder" {
  function_name                = aws_lambda_function.recorder.function_name
  maximum_retry_attempts       = 0
  maximum_event_age_in_seconds = 300
}

resource "aws_cloudwatch_event_rule" "heartbeat" {
  name                = "${var.name}-heartbeat"
  description         = "Records a heartbeat on a schedule."
  schedule_expression = var.schedule
}

resource "aws_cloudwatch_event_target" "heartbeat" {
  rule = aws_cloudwatch_event_rule.heartbeat.name
  arn  = aws_lambda_function.recorder.arn
}

resource "aws_cloudwatch_event_rule" "orders" {
  name        = "${var.name}-orders"
  description = "Orders placed with a total over 100."
  event_pattern = jsonencode({
    source        = ["shop.orders"]
    "detail-type" = ["OrderPlaced"]
    detail        = { total = [{ numeric = [">", 100] }] }
  })
}

resource "aws_cloudwatch_event_target" "orders" {
  rule = aws_cloudwatch_event_rule.orders.name
  arn  = aws_lambda_function.recorder.arn

  input_transformer {
    input_paths = {
      order = "$.detail.id"
      total = "$.detail.total"
    }
    input_template = <<-EOT
      {"kind": "big-order", "order": <order>, "total": <total>}
    EOT
  }
}

resource "aws_lambda_permission" "events" {
  for_each = {
    heartbeat = aws_cloudwatch_event_rule.heartbeat.arn
    orders    = aws_cloudwatch_event_rule.orders.arn
  }

  statement_id  = "AllowEventBridge-${each.key}"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.recorder.function_name
  principal     = "events.amazonaws.com"
  source_arn    = each.value
}
