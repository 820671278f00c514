# EventBridge Scheduler → Lambda → DynamoDB: a recurring schedule invokes a function with a fixed JSON input,
# as an execution role that may invoke that function only; the function records the input it got.
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

resource "aws_dynamodb_table" "runs" {
  #checkov:skip=CKV_AWS_119:a test stack's throwaway table; the AWS-owned key is enough
  #checkov:skip=CKV_AWS_28:a test stack's throwaway table needs no point-in-time recovery
  name         = "${var.name}-runs"
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
        Resource = aws_dynamodb_table.runs.arn
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
  #checkov:skip=CKV_AWS_116:Scheduler's retry policy covers failed invocations of this test function
  #checkov:skip=CKV_AWS_117:the function calls only DynamoDB; no VPC resources to reach
  #checkov:skip=CKV_AWS_115:a test function invoked once a minute needs no reserved concurrency
  #checkov:skip=CKV_AWS_272:code signing is out of scope for a test stack
  #checkov:skip=CKV_AWS_173:the only variable is a table name, not a secret
  #checkov:skip=CKV_AWS_50:tracing is not needed to prove delivery
  function_name    = "${var.name}-recorder"
  role             = aws_iam_role.recorder.arn
  runtime          = "python3.13"
  handler          = "recorder.handler"
  filename         = data.archive_file.recorder.output_path
  source_code_hash = data.archive_file.recorder.output_base64sha256

  environment {
    variables = { TABLE_NAME = aws_dynamodb_table.runs.name }
  }
}

# The schedule's execution role: Scheduler assumes it to invoke the function, and may do nothing else.
resource "aws_iam_role" "scheduler" {
  name = "${var.name}-scheduler"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = { Service = "scheduler.amazonaws.com" }
      Condition = { StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id } }
    }]
  })
}

resource "aws_iam_role_policy" "scheduler" {
  name = "invoke-recorder"
  role = aws_iam_role.scheduler.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["lambda:InvokeFunction"]
      Resource = [aws_lambda_function.recorder.arn]
    }]
  })
}

resource "aws_scheduler_schedule_group" "jobs" {
  name = "${var.name}-jobs"
}

resource "aws_scheduler_schedule" "tick" {
  #checkov:skip=CKV_AWS_297:the input is a fixed, non-sensitive payload; the AWS-owned key is enough
  name                = "${var.name}-tick"
  group_name          = aws_scheduler_schedule_group.jobs.name
  description         = "Invokes the recorder with a fixed input."
  schedule_expression = var.schedule

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_lambda_function.recorder.arn
    role_arn = aws_iam_role.scheduler.arn
    input    = jsonencode({ job = "tick", note = "from-scheduler" })

    retry_policy {
      maximum_retry_attempts       = 2
      maximum_event_age_in_seconds = 600
    }
  }

  # The role's policy must exist before the first invocation, which comes at once for a rate schedule.
  depends_on = [aws_iam_role_policy.scheduler]
}
