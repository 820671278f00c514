# The healer's log group is the platform module's; these two use its key (kms.tf).
resource "aws_cloudwatch_log_group" "fragile" {
  #checkov:skip=CKV_AWS_338:Retention is the log_retention_days variable; a one-year floor is a cost choice for each deployment.
  name              = "/aws/lambda/${local.fragile_function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = module.platform.kms_key_arn
}

resource "aws_cloudwatch_log_group" "api_access" {
  #checkov:skip=CKV_AWS_338:Retention is the log_retention_days variable; a one-year floor is a cost choice for each deployment.
  name              = "/aws/apigateway/${local.api_name}/access"
  retention_in_days = var.log_retention_days
  kms_key_id        = module.platform.kms_key_arn
}

# One screen for the whole loop: load, errors against the alarm threshold, alarm state, the healer's
# own health, and time to recover (EMF metric the healer emits in the Selfheal namespace).
resource "aws_cloudwatch_dashboard" "loop" {
  dashboard_name = local.dashboard_name
  dashboard_body = jsonencode({
    widgets = [
      {
        type   = "metric"
        x      = 0
        y      = 0
        width  = 12
        height = 6
        properties = {
          title  = "Requests"
          region = var.aws_region
          view   = "timeSeries"
          stat   = "Sum"
          period = var.alarm_period_seconds
          metrics = [
            ["AWS/Lambda", "Invocations", "FunctionName", local.fragile_function_name],
            # HTTP APIs publish per ApiId and Stage.
            ["AWS/ApiGateway", "Count", "ApiId", aws_apigatewayv2_api.http.id, "Stage", "$default"],
          ]
        }
      },
      {
        type   = "metric"
        x      = 12
        y      = 0
        width  = 12
        height = 6
        properties = {
          title  = "Fragile errors (alarm input)"
          region = var.aws_region
          view   = "timeSeries"
          stat   = "Sum"
          period = var.alarm_period_seconds
          metrics = [
            ["AWS/Lambda", "Errors", "FunctionName", local.fragile_function_name, { id = "errors" }],
            ["AWS/Lambda", "Invocations", "FunctionName", local.fragile_function_name, { id = "invocations", visible = false }],
            [{ id = "rate", expression = "100 * errors / invocations", label = "error rate %", yAxis = "right" }],
          ]
          annotations = {
            horizontal = [
              { label = "alarm threshold", value = var.alarm_threshold },
            ]
          }
        }
      },
      {
        type   = "alarm"
        x      = 0
        y      = 6
        width  = 8
        height = 6
        properties = {
          title  = "Alarm state"
          alarms = [module.protect_fragile.alarm_arns["errors"]]
        }
      },
      {
        type   = "metric"
        x      = 8
        y      = 6
        width  = 8
        height = 6
        properties = {
          title  = "Healer invocations and errors"
          region = var.aws_region
          view   = "timeSeries"
          stat   = "Sum"
          period = 60
          metrics = [
            ["AWS/Lambda", "Invocations", "FunctionName", module.platform.healer_function_name],
            ["AWS/Lambda", "Errors", "FunctionName", module.platform.healer_function_name],
          ]
        }
      },
      {
        type   = "metric"
        x      = 16
        y      = 6
        width  = 8
        height = 6
        properties = {
          title  = "Time to recover (s)"
          region = var.aws_region
          view   = "timeSeries"
          stat   = "Maximum"
          period = 300
          metrics = [
            [local.metrics_namespace, "TimeToRecover", "service", local.healer_service_name],
          ]
        }
      },
      {
        type   = "log"
        x      = 0
        y      = 12
        width  = 8
        height = 6
        properties = {
          title  = "FAILURE_RATE the fragile function ran with"
          region = var.aws_region
          view   = "timeSeries"
          # Every fragile log line carries the failure_rate it ran with, so the healer's change shows as a step.
          query = "SOURCE '/aws/lambda/${local.fragile_function_name}' | filter ispresent(failure_rate) | stats max(failure_rate) as FAILURE_RATE by bin(1m)"
        }
      },
      {
        type   = "log"
        x      = 8
        y      = 12
        width  = 16
        height = 6
        properties = {
          title  = "Healer decisions"
          region = var.aws_region
          view   = "table"
          query  = "SOURCE '/aws/lambda/${module.platform.healer_function_name}' | filter message = 'healer decision' | fields @timestamp, healer.alarm, healer.transition, healer.decision, healer.code, healer.reason, healer.action_taken, healer.incident_id | sort @timestamp desc | limit 50"
        }
      },
    ]
  })
}
