# pricing's role, log group, logs and traces grants: the shared module, nothing else.
module "pricing_role" {
  source = "../modules/function_role"

  function_name      = local.function_name
  log_retention_days = var.log_retention_days
  kms_key_arn        = module.platform.kms_key_arn
}
