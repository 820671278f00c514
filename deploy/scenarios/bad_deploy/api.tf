# The public entry point: every request goes to checkout's alias live, so moving the alias moves the
# traffic (a deploy, a rollback) without touching the API.
module "api" {
  source = "../modules/http_api"

  name                   = local.api_name
  function_name          = aws_lambda_function.checkout.function_name
  integration_uri        = aws_lambda_alias.live.arn
  qualifier              = aws_lambda_alias.live.name
  throttling_burst_limit = var.api_throttling_burst_limit
  throttling_rate_limit  = var.api_throttling_rate_limit
  log_retention_days     = var.log_retention_days
  kms_key_arn            = module.platform.kms_key_arn
}
