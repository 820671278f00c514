# One alarm per enabled signal, named ALARM_NAME_PREFIX-SIGNAL (signal with dashes), notifying the
# platform's alarm topic on ALARM and on OK. The registry entry and the healer's grants exist before an
# alarm can notify, so its first ALARM is never skipped as unregistered nor fails for want of a grant.

# errors, throttles, duration_p99, api_5xx: one metric each.
resource "aws_cloudwatch_metric_alarm" "metric" {
  for_each = { for name, signal in local.enabled_signals : name => signal if name != "error_rate" }

  alarm_name        = local.alarm_names[each.key]
  alarm_description = "${local.description_of_signal[each.key]} of ${var.function_name}; the selfheal healer acts on it by its registry entry."

  namespace          = local.metric_of_signal[each.key].namespace
  metric_name        = local.metric_of_signal[each.key].metric_name
  statistic          = local.metric_of_signal[each.key].statistic
  extended_statistic = local.metric_of_signal[each.key].extended_statistic
  dimensions         = local.metric_of_signal[each.key].dimensions
  period             = each.value.period

  evaluation_periods  = each.value.evaluation_periods
  datapoints_to_alarm = each.value.datapoints_to_alarm
  threshold           = each.value.threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  # No traffic means nothing to heal: silence must not keep an alarm in ALARM or block recovery.
  treat_missing_data = "notBreaching"

  actions_enabled = true
  alarm_actions   = [var.platform.alarm_topic_arn]
  # The healer verifies recovery from the OK notification as well as by polling.
  ok_actions = [var.platform.alarm_topic_arn]

  depends_on = [aws_ssm_parameter.registry, aws_iam_role_policy.healer]
}

# error_rate: metric math e1 = 100 * Errors / Invocations (percent); only e1 is returned and compared.
resource "aws_cloudwatch_metric_alarm" "error_rate" {
  count = var.signals.error_rate.enabled ? 1 : 0

  alarm_name        = local.alarm_names["error_rate"]
  alarm_description = "${local.description_of_signal["error_rate"]} of ${var.function_name}; the selfheal healer acts on it by its registry entry."

  metric_query {
    id          = "e1"
    expression  = "100 * m1 / m2"
    label       = "error rate (%)"
    return_data = true
  }

  metric_query {
    id          = "m1"
    return_data = false

    metric {
      namespace   = "AWS/Lambda"
      metric_name = "Errors"
      stat        = "Sum"
      period      = var.signals.error_rate.period
      dimensions  = local.function_dimensions
    }
  }

  metric_query {
    id          = "m2"
    return_data = false

    metric {
      namespace   = "AWS/Lambda"
      metric_name = "Invocations"
      stat        = "Sum"
      period      = var.signals.error_rate.period
      dimensions  = local.function_dimensions
    }
  }

  evaluation_periods  = var.signals.error_rate.evaluation_periods
  datapoints_to_alarm = var.signals.error_rate.datapoints_to_alarm
  threshold           = var.signals.error_rate.threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  # No invocations: no datapoint (0/0), which must not count as breaching.
  treat_missing_data = "notBreaching"

  actions_enabled = true
  alarm_actions   = [var.platform.alarm_topic_arn]
  ok_actions      = [var.platform.alarm_topic_arn]

  depends_on = [aws_ssm_parameter.registry, aws_iam_role_policy.healer]
}
