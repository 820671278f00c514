# A browser-facing HTTP API: CORS answered by API Gateway (preflights never reach the function) and JSON
# access logs in a log group of their own.
terraform {
  required_providers {
    aws     = { source = "hashicorp/aws", version = "~> 6.0" }
    archive = { source = "hashicorp/archive", version = "~> 2.0" }
  }
}

provider "aws" {
  region = var.region
}

data "archive_file" "quotes" {
  type        = "zip"
  source_file = "${path.module}/src/quotes.py"
  output_path = "${path.module}/build/quotes.zip"
}

resource "aws_iam_role" "quotes" {
  name = "${var.name}-quotes"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = { Service = "lambda.amazonaws.com" }
    }]
  })
}

resource "aws_iam_role_policy_attachment" "quotes" {
  role       = aws_iam_role.quotes.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
}

resource "aws_lambda_function" "quotes" {
  function_name    = "${var.name}-quotes"
  role             = aws_iam_role.quotes.arn
  runtime          = "python3.12"
  handler          = "quotes.handler"
  filename         = data.archive_file.quotes.output_path
  source_code_hash = data.archive_file.quotes.output_base64sha256
}

resource "aws_apigatewayv2_api" "quotes" {
  name          = "${var.name}-quotes"
  protocol_type = "HTTP"

  cors_configuration {
    allow_origins  = var.allowed_origins
    allow_methods  = ["GET", "POST"]
    allow_headers  = ["content-type"]
    expose_headers = ["x-quote-id"]
    max_age        = 600
  }
}

resource "aws_apigatewayv2_integration" "quotes" {
  api_id                 = aws_apigatewayv2_api.quotes.id
  integration_type       = "AWS_PROXY"
  integration_uri        = aws_lambda_function.quotes.invoke_arn
  payload_format_version = "2.0"
}

resource "aws_apigatewayv2_route" "quotes" {
  for_each = toset(["GET /quotes", "POST /quotes"])

  api_id    = aws_apigatewayv2_api.quotes.id
  route_key = each.value
  target    = "integrations/${aws_apigatewayv2_integration.quotes.id}"
}

resource "aws_cloudwatch_log_group" "access" {
  name              = "/apigateway/${var.name}-quotes/access"
  retention_in_days = 14
}

resource "aws_apigatewayv2_stage" "v1" {
  api_id      = aws_apigatewayv2_api.quotes.id
  name        = "v1"
  auto_deploy = true

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.access.arn
    format = jsonencode({
      requestId = "$context.requestId"
      routeKey  = "$context.routeKey"
      status    = "$context.status"
    })
  }
}

resource "aws_lambda_permission" "quotes" {
  statement_id  = "AllowQuotesApi"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.quotes.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.quotes.execution_arn}/*/*/quotes"
}
