# The platform once, then storefront under its protection (docs/platform.md): a p99 Duration alarm, and
# clamp_concurrency as the only remediation — fewer storefront invocations at once means fewer callers
# queueing for inventory's slots, so each one gets a slot at once and its duration falls back to
# inventory's own time. The requests beyond the clamp are throttled at the edge instead of queueing.
module "platform" {
  source = "../../modules/platform"

  name               = var.name
  log_retention_days = var.log_retention_days
}

module "protect_storefront" {
  source = "../../modules/protect"

  platform = module.platform.platform
  # A name, not a reference: the healer's change to the function must not make Terraform defer the
  # module's policy document and plan a spurious update beside the real drift.
  function_name     = local.function_name
  playbook          = ["clamp_concurrency"]
  concurrency_limit = var.concurrency_limit
  mode              = var.mode

  signals = {
    # Errors stay off: the overload shows as latency; a request that waited too long for inventory fails,
    # but the cure (throttling at the edge) is not what would heal errors of another kind.
    errors = {
      enabled = false
    }
    duration_p99 = {
      enabled             = true
      threshold           = var.p99_threshold_ms
      period              = var.alarm_period_seconds
      evaluation_periods  = var.alarm_evaluation_periods
      datapoints_to_alarm = var.alarm_evaluation_periods
    }
  }
}
