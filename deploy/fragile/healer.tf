# The selfheal platform: the healer Lambda (its role, log group, DLQ and event invoke config), the alarm
# topic it is subscribed to, the escalation topic, the ledger, the registry's kill switch and the KMS key
# (deploy/modules/platform). The fragile function is protected by module.protect_fragile (alarms.tf).
module "platform" {
  source = "../modules/platform"

  # selfheal-healer, selfheal-alarms, selfheal-escalations, selfheal-ledger, selfheal-healer-dlq;
  # registry under /selfheal/selfheal.
  name                 = var.name_prefix
  powertools_layer_arn = var.powertools_layer_arn

  dry_run                      = var.healer_dry_run
  healer_reserved_concurrency  = var.healer_reserved_concurrency
  healer_max_event_age_seconds = var.healer_max_event_age_seconds
  log_retention_days           = var.log_retention_days

  fleet_max_in_flight        = local.fleet_max_in_flight
  fleet_max_actions_per_hour = local.fleet_max_actions_per_hour
}
