# Fan-out: one SNS topic, two Lambda subscribers (each with its own role and invoke permission).
terraform {
  required_providers {
    aws     = { source = "hashicorp/aws", version = "~> 6.0" }
    archive = { source = "hashicorp/archive", version = "~> 2.0" }
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = { Project = var.name }
  }
}

data "archive_file" "handlers" {
  type        = "zip"
  source_dir  = "${path.module}/src"
  output_path = "${path.module}/build/handlers.zip"
}

resource "aws_sns_topic" "events" {
  name = "${var.name}-events"
}

resource "aws_iam_role" "subscriber" {
  for_each = toset(var.subscribers)

  name = "${var.name}-${each.key}"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = { Service = "lambda.amazonaws.com" }
    }]
  })
}

resource "aws_iam_role_policy_attachment" "subscriber" {
  for_each = aws_iam_role.subscriber

  role       = each.value.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
}

resource "aws_lambda_function" "subscriber" {
  for_each = toset(var.subscribers)

  function_name    = "${var.name}-${each.key}"
  role             = aws_iam_role.subscriber[each.key].arn
  runtime          = "python3.12"
  handler          = "${each.key}.handler"
  filename         = data.archive_file.handlers.output_path
  source_code_hash = data.archive_file.handlers.output_base64sha256
}

resource "aws_lambda_permission" "sns" {
  for_each = aws_lambda_function.subscriber

  statement_id  = "AllowSNSInvoke"
  action        = "lambda:InvokeFunction"
  function_name = each.value.function_name
  principal     = "sns.amazonaws.com"
  source_arn    = aws_sns_topic.events.arn
}

resource "aws_sns_topic_subscription" "subscriber" {
  for_each = aws_lambda_function.subscriber

  topic_arn = aws_sns_topic.events.arn
  protocol  = "lambda"
  endpoint  = each.value.arn
}
