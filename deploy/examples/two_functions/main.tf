# The platform once per account/region, then one protect instance per function (docs/platform.md).
module "platform" {
  source = "../../modules/platform"

  name = var.name
}

# A: orders is served through its alias; a bad version is rolled back by moving the alias.
module "protect_orders" {
  source = "../../modules/protect"

  platform      = module.platform.platform
  function_name = aws_lambda_function.orders.function_name
  alias_name    = aws_lambda_alias.live.name
  playbook      = ["rollback_alias"]
  mode          = "auto"
}

# B: payments is healed by writing FAILURE_RATE=0; it alarms on errors and on the error rate.
module "protect_payments" {
  source = "../../modules/protect"

  platform      = module.platform.platform
  function_name = aws_lambda_function.payments.function_name
  playbook      = ["set_env"]
  set_env       = { FAILURE_RATE = "0" }
  mode          = "auto"

  signals = {
    errors     = { threshold = 3 }
    error_rate = { enabled = true, threshold = 20 }
  }
  rails = {
    verify_timeout_seconds = 600
  }
}
