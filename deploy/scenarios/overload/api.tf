# The public entry point: every request goes to storefront.
module "api" {
  source = "../modules/http_api"

  name                   = local.api_name
  function_name          = aws_lambda_function.storefront.function_name
  integration_uri        = aws_lambda_function.storefront.arn
  throttling_burst_limit = var.api_throttling_burst_limit
  throttling_rate_limit  = var.api_throttling_rate_limit
  log_retention_days     = var.log_retention_days
  kms_key_arn            = module.platform.kms_key_arn
}
