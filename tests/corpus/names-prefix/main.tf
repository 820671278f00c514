# Resources named by Terraform: name_prefix for the role and queue, no name at all for the topic and the
# policy. A function publishes to the topic; the queue receives the raw message.
terraform {
  required_providers {
    aws     = { source = "hashicorp/aws", version = "~> 6.0" }
    archive = { source = "hashicorp/archive", version = "~> 2.0" }
  }
}

provider "aws" {
  region = var.region
}

data "archive_file" "publisher" {
  type        = "zip"
  source_file = "${path.module}/src/publisher.py"
  output_path = "${path.module}/build/publisher.zip"
}

resource "aws_sns_topic" "updates" {}

resource "aws_sqs_queue" "updates" {
  name_prefix = "${var.name}-updates-"
}

resource "aws_sqs_queue_policy" "updates" {
  queue_url = aws_sqs_queue.updates.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "sns.amazonaws.com" }
      Action    = "sqs:SendMessage"
      Resource  = aws_sqs_queue.updates.arn
      Condition = { ArnEquals = { "aws:SourceArn" = aws_sns_topic.updates.arn } }
    }]
  })
}

resource "aws_sns_topic_subscription" "updates" {
  topic_arn            = aws_sns_topic.updates.arn
  protocol             = "sqs"
  endpoint             = aws_sqs_queue.updates.arn
  raw_message_delivery = true
}

resource "aws_iam_role" "publisher" {
  name_prefix = "${var.name}-publisher-"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = { Service = "lambda.amazonaws.com" }
    }]
  })
}

resource "aws_iam_policy" "publish" {
  description = "Publish to the updates topic."
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = "sns:Publish"
      Resource = aws_sns_topic.updates.arn
    }]
  })
}

resource "aws_iam_role_policy_attachment" "publish" {
  role       = aws_iam_role.publisher.name
  policy_arn = aws_iam_policy.publish.arn
}

resource "aws_iam_role_policy_attachment" "logs" {
  role       = aws_iam_role.publisher.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
}

resource "aws_lambda_function" "publisher" {
  function_name    = "${var.name}-publisher"
  role             = aws_iam_role.publisher.arn
  runtime          = "python3.12"
  handler          = "publisher.handler"
  filename         = data.archive_file.publisher.output_path
  source_code_hash = data.archive_file.publisher.output_base64sha256

  environment {
    variables = { TOPIC_ARN = aws_sns_topic.updates.arn }
  }
}
