output "bucket" {
  value = aws_s3_bucket.uploads.bucket
}

output "log_group" {
  value = "/aws/lambda/${aws_lambda_function.report.function_name}"
}
