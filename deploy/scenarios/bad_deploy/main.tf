# The platform once, then checkout under its protection (docs/platform.md): an errors alarm on the
# function, and rollback_alias as the only remediation — a bad version is undone by moving live back.
module "platform" {
  source = "../../modules/platform"

  name               = var.name
  log_retention_days = var.log_retention_days
}

module "protect_checkout" {
  source = "../../modules/protect"

  platform = module.platform.platform
  # Names, not references: a reference to the alias would make Terraform defer the module's policy
  # document once the healer has moved the alias, and plan a spurious update beside the real drift.
  function_name = local.function_name
  alias_name    = local.alias_name
  playbook      = ["rollback_alias"]
  # auto rolls back on its own; observe or approve only record (or wait for) the plan.
  mode = var.mode

  signals = {
    errors = {
      threshold           = var.alarm_threshold
      period              = var.alarm_period_seconds
      evaluation_periods  = var.alarm_evaluation_periods
      datapoints_to_alarm = var.alarm_evaluation_periods
    }
  }
}
