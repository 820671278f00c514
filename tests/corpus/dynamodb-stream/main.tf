# Change data capture in the style of the serverless patterns collection: HTTP API (payload 2.0) → Lambda
# writing orders → DynamoDB stream (NEW_AND_OLD_IMAGES) → event source mapping → Lambda auditing each change
# into a second table; discarded batches go to an SQS queue.
terraform {
  required_providers {
    aws     = { source = "hashicorp/aws", version = "~> 6.0" }
    archive = { source = "hashicorp/archive", version = "~> 2.4" }
  }
}

provider "aws" {
  region = var.region
}

data "archive_file" "code" {
  type        = "zip"
  source_dir  = "${path.module}/src"
  output_path = "${path.module}/build/code.zip"
}

resource "aws_dynamodb_table" "orders" {
  name             = "${var.name}-orders"
  billing_mode     = "PAY_PER_REQUEST"
  hash_key         = "id"
  stream_enabled   = true
  stream_view_type = "NEW_AND_OLD_IMAGES"

  attribute {
    name = "id"
    type = "S"
  }
}

resource "aws_dynamodb_table" "audit" {
  name         = "${var.name}-audit"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "id"

  attribute {
    name = "id"
    type = "S"
  }
}

resource "aws_sqs_queue" "discarded" {
  name = "${var.name}-discarded"
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

# The API's function: writes orders.
resource "aws_iam_role" "orders" {
  name               = "${var.name}-orders"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

resource "aws_iam_role_policy_attachment" "orders_logs" {
  role       = aws_iam_role.orders.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
}

data "aws_iam_policy_document" "orders" {
  statement {
    actions   = ["dynamodb:PutItem"]
    resources = [aws_dynamodb_table.orders.arn]
  }
}

resource "aws_iam_role_policy" "orders" {
  name   = "orders"
  role   = aws_iam_role.orders.id
  policy = data.aws_iam_policy_document.orders.json
}

resource "aws_lambda_function" "orders" {
  function_name    = "${var.name}-orders"
  role             = aws_iam_role.orders.arn
  runtime          = "python3.12"
  handler          = "orders.handler"
  filename         = data.archive_file.code.output_path
  source_code_hash = data.archive_file.code.output_base64sha256
  timeout          = 10

  environment {
    variables = { TABLE_NAME = aws_dynamodb_table.orders.name }
  }
}

# The stream's function: reads the stream, records each change, may send discarded batches' metadata.
resource "aws_iam_role" "auditor" {
  name               = "${var.name}-auditor"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

resource "aws_iam_role_policy_attachment" "auditor_logs" {
  role       = aws_iam_role.auditor.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
}

data "aws_iam_policy_document" "auditor" {
  statement {
    sid       = "ReadStream"
    actions   = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
    resources = [aws_dynamodb_table.orders.stream_arn]
  }
  statement {
    # ListStreams takes no resource: it is granted on "*" by AWS's own AWSLambdaDynamoDBExecutionRole.
    sid       = "ListStreams"
    actions   = ["dynamodb:ListStreams"]
    resources = ["*"]
  }
  statement {
    sid       = "WriteAudit"
    actions   = ["dynamodb:PutItem"]
    resources = [aws_dynamodb_table.audit.arn]
  }
  statement {
    sid       = "OnFailure"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.discarded.arn]
  }
}

resource "aws_iam_role_policy" "auditor" {
  name   = "stream"
  role   = aws_iam_role.auditor.id
  policy = data.aws_iam_policy_document.auditor.json
}

resource "aws_lambda_function" "auditor" {
  function_name    = "${var.name}-auditor"
  role             = aws_iam_role.auditor.arn
  runtime          = "python3.12"
  handler          = "auditor.handler"
  filename         = data.archive_file.code.output_path
  source_code_hash = data.archive_file.code.output_base64sha256
  timeout          = 10

  environment {
    variables = { AUDIT_TABLE = aws_dynamodb_table.audit.name }
  }
}

resource "aws_lambda_event_source_mapping" "orders" {
  event_source_arn               = aws_dynamodb_table.orders.stream_arn
  function_name                  = aws_lambda_function.auditor.arn
  starting_position              = "TRIM_HORIZON"
  batch_size                     = var.batch_size
  maximum_retry_attempts         = 3
  bisect_batch_on_function_error = true
  function_response_types        = ["ReportBatchItemFailures"]

  destination_config {
    on_failure {
      destination_arn = aws_sqs_queue.discarded.arn
    }
  }

  # The role must be able to read the stream before Lambda validates the mapping.
  depends_on = [aws_iam_role_policy.auditor]
}

resource "aws_apigatewayv2_api" "http" {
  name          = "${var.name}-http"
  protocol_type = "HTTP"
}

resource "aws_apigatewayv2_integration" "orders" {
  api_id                 = aws_apigatewayv2_api.http.id
  integration_type       = "AWS_PROXY"
  integration_uri        = aws_lambda_function.orders.invoke_arn
  payload_format_version = "2.0"
}

resource "aws_apigatewayv2_route" "put" {
  api_id    = aws_apigatewayv2_api.http.id
  route_key = "PUT /orders/{id}"
  target    = "integrations/${aws_apigatewayv2_integration.orders.id}"
}

resource "aws_apigatewayv2_stage" "default" {
  api_id      = aws_apigatewayv2_api.http.id
  name        = "$default"
  auto_deploy = true
}

resource "aws_lambda_permission" "api" {
  statement_id  = "AllowHttpApi"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.orders.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.http.execution_arn}/*/*"
}
