# The fragile function under the healer's protection (deploy/modules/protect): its Errors alarm
# selfheal-fragile-errors, notifying the platform's alarm topic on ALARM and OK; its registry entry
# (playbook set_env FAILURE_RATE=0, mode auto, the healer_* rails); and the healer's grants on this one
# function (read and update its configuration) and on this alarm (describe it to verify recovery).
module "protect_fragile" {
  source = "../modules/protect"

  platform = module.platform.platform
  # The name, not aws_lambda_function.fragile.function_name: a reference would make Terraform defer the
  # module's policy document whenever the healer has changed the function, and plan a spurious policy
  # update beside the real drift. The alarms, the registry entry and the grants need no function yet.
  function_name     = local.fragile_function_name
  alarm_name_prefix = local.fragile_function_name

  signals = {
    errors = {
      threshold           = var.alarm_threshold
      period              = var.alarm_period_seconds
      evaluation_periods  = var.alarm_evaluation_periods
      datapoints_to_alarm = var.alarm_datapoints_to_alarm
    }
  }

  playbook = ["set_env"]
  set_env  = { FAILURE_RATE = "0" }
  # auto heals on its own, as the seed's demo does; healer_dry_run (the platform's DRY_RUN) observes only.
  mode = "auto"

  rails = {
    cooldown_seconds       = var.healer_cooldown_seconds
    max_actions_per_window = var.healer_max_actions_per_window
    action_window_seconds  = var.healer_action_window_seconds
    verify_timeout_seconds = var.healer_verify_timeout_seconds
  }
}
