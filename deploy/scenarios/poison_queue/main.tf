# The platform once, then the worker under its protection (docs/platform.md): an errors alarm, and
# disable_event_source as the only remediation — a queue of poison messages is stopped, not drained into
# the DLQ, and the messages wait in the queue until a person has fixed the worker or the messages.
module "platform" {
  source = "../../modules/platform"

  name               = var.name
  log_retention_days = var.log_retention_days
}

module "protect_worker" {
  source = "../../modules/protect"

  platform = module.platform.platform
  # A name, not a reference: the healer's change to the mapping must not make Terraform defer the
  # module's policy document and plan a spurious update beside the real drift.
  function_name = local.function_name
  playbook      = ["disable_event_source"]
  # The healer may not list mappings (lambda:ListEventSourceMappings cannot be scoped): it gets the UUID.
  event_source_mapping_uuids = [aws_lambda_event_source_mapping.orders.uuid]
  mode                       = var.mode

  signals = {
    errors = {
      threshold           = var.alarm_threshold
      period              = var.alarm_period_seconds
      evaluation_periods  = var.alarm_evaluation_periods
      datapoints_to_alarm = var.alarm_evaluation_periods
    }
  }
}
