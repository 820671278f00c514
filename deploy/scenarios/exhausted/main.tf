# The platform once, then pricing under its protection (docs/platform.md): an errors alarm, and a playbook
# written for another failure — set_env (the price cache off), then restart — neither of which touches
# the bug. Each step is verified for verify_timeout_seconds; when both have run and the alarm is still
# ALARM, the healer escalates (verify_timeout) and does nothing more.
module "platform" {
  source = "../../modules/platform"

  name               = var.name
  log_retention_days = var.log_retention_days
}

module "protect_pricing" {
  source = "../../modules/protect"

  platform = module.platform.platform
  # A name, not a reference: the healer's changes to the function must not make Terraform defer the
  # module's policy document and plan a spurious update beside the real drift.
  function_name = local.function_name
  playbook      = ["set_env", "restart"]
  set_env       = { PRICE_CACHE = "off" }
  mode          = var.mode

  rails = {
    verify_timeout_seconds = var.verify_timeout_seconds
  }

  signals = {
    errors = {
      threshold           = var.alarm_threshold
      period              = var.alarm_period_seconds
      evaluation_periods  = var.alarm_evaluation_periods
      datapoints_to_alarm = var.alarm_evaluation_periods
    }
  }
}
