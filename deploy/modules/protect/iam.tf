# This function's remediation role: the healer assumes it to act on the function (docs/platform.md). It
# trusts only the healer's role, and lives under the platform's path, the only roles the healer may assume.
# One role per function rather than one policy per function on the healer's own role: IAM caps a role's
# inline policies at 10,240 characters in all, which about twenty functions would exceed.
resource "aws_iam_role" "remediation" {
  name                 = local.remediation_role_name
  path                 = var.platform.remediation_role_path
  description          = "selfheal: what the healer ${var.platform.healer_function_name} may do to ${var.function_name}."
  assume_role_policy   = data.aws_iam_policy_document.healer_assumes.json
  max_session_duration = 3600
}

data "aws_iam_policy_document" "healer_assumes" {
  statement {
    sid     = "HealerAssumesRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "AWS"
      identifiers = [var.platform.healer_role_arn]
    }
  }
}

# One inline policy on the remediation role, scoped to this function, its versions and aliases
# (FUNCTION:*), its listed event source mappings and this module's alarms. Only what the playbook's
# actions need, plus reading the function's configuration (every plan starts there).
resource "aws_iam_role_policy" "healer" {
  name   = "protect-${var.function_name}"
  role   = aws_iam_role.remediation.id
  policy = data.aws_iam_policy_document.healer.json

  lifecycle {
    precondition {
      condition     = !local.has_action.set_env || length(var.set_env) > 0
      error_message = "The playbook has set_env: set_env must name at least one variable to write."
    }
    precondition {
      condition     = !local.has_action.clamp_concurrency || var.concurrency_limit != null
      error_message = "The playbook has clamp_concurrency: concurrency_limit must be set."
    }
    precondition {
      condition     = var.concurrency_limit != 0 || var.allow_zero_concurrency
      error_message = "concurrency_limit 0 stops every invocation: set allow_zero_concurrency = true to allow it."
    }
    precondition {
      condition     = !local.has_action.rollback_alias || var.alias_name != null
      error_message = "The playbook has rollback_alias: alias_name must name the alias to roll back."
    }
    precondition {
      condition     = !local.has_action.disable_event_source || length(var.event_source_mapping_uuids) > 0
      error_message = "The playbook has disable_event_source: list the mappings in event_source_mapping_uuids (lambda:ListEventSourceMappings cannot be scoped to one function, so the healer may not list them)."
    }
    precondition {
      condition     = length(var.playbook) * local.rails.verify_timeout_seconds <= var.platform.max_playbook_seconds
      error_message = "length(playbook) * verify_timeout_seconds (${length(var.playbook)} * ${local.rails.verify_timeout_seconds} s) exceeds the platform's max_playbook_seconds (${var.platform.max_playbook_seconds} s): shorten the playbook or the verify deadline."
    }
    precondition {
      condition     = !var.signals.api_5xx.enabled || var.api_id != null
      error_message = "The api_5xx signal needs api_id."
    }
  }
}

data "aws_iam_policy_document" "healer" {
  # The event-source statement, when the playbook has disable_event_source.
  source_policy_documents = data.aws_iam_policy_document.event_source_mappings[*].json

  # What the playbook's actions call on the function, its versions and aliases (local.lambda_actions_of).
  statement {
    sid       = "HealThisFunction"
    effect    = "Allow"
    actions   = local.function_actions
    resources = [local.function_arn, local.function_qualified_arns]
  }

  # Verify: read the state of this module's own alarms.
  statement {
    sid       = "DescribeOwnAlarms"
    effect    = "Allow"
    actions   = ["cloudwatch:DescribeAlarms"]
    resources = local.alarm_arns
  }
}

# disable_event_source: only the listed mappings. lambda:ListEventSourceMappings supports no resource ARN
# (it would need "*"), so it is not granted: the healer works from the registry's UUIDs. The condition
# keeps an update from pointing a mapping at another function; IfExists because a Get, or an update
# that does not name a function, carries no lambda:FunctionArn.
data "aws_iam_policy_document" "event_source_mappings" {
  count = local.has_action.disable_event_source ? 1 : 0

  statement {
    sid       = "DisableListedEventSources"
    effect    = "Allow"
    actions   = ["lambda:GetEventSourceMapping", "lambda:UpdateEventSourceMapping"]
    resources = local.event_source_mapping_arns

    condition {
      test     = "ArnLikeIfExists"
      variable = "lambda:FunctionArn"
      values   = [local.function_arn, local.function_qualified_arns]
    }
  }
}
