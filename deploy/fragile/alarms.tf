resource "aws_cloudwatch_metric_alarm" "fragile_errors" {
  alarm_name        = local.alarm_name
  alarm_description = "Unhandled errors of ${local.fragile_function_name}; notifies the healer on ALARM and on OK."

  namespace   = "AWS/Lambda"
  metric_name = "Errors"
  statistic   = "Sum"
  dimensions = {
    FunctionName = aws_lambda_function.fragile.function_name
  }

  period              = var.alarm_period_seconds
  evaluation_periods  = var.alarm_evaluation_periods
  datapoints_to_alarm = var.alarm_datapoints_to_alarm
  threshold           = var.alarm_threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  # No invocations means no errors: silence must not keep the alarm in ALARM or block recovery.
  treat_missing_data = "notBreaching"

  actions_enabled = true
  alarm_actions   = [aws_sns_topic.alarms.arn]
  # The healer verifies recovery from the OK notification as well as by polling.
  ok_actions = [aws_sns_topic.alarms.arn]

  lifecycle {
    precondition {
      condition     = var.alarm_datapoints_to_alarm <= var.alarm_evaluation_periods
      error_message = "alarm_datapoints_to_alarm must not exceed alarm_evaluation_periods."
    }
  }
}
