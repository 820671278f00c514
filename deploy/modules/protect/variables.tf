variable "platform" {
  description = "The platform module's platform output, passed whole (docs/platform.md)."
  type = object({
    name                          = string
    registry_path                 = string
    registry_parameter_arn_prefix = string
    healer_function_name          = string
    healer_function_arn           = string
    healer_role_name              = string
    healer_role_arn               = string
    remediation_role_path         = string
    alarm_topic_arn               = string
    escalation_topic_arn          = string
    ledger_table_name             = string
    kms_key_arn                   = string
    max_playbook_seconds          = number
    defaults = object({
      cooldown_seconds       = number
      max_actions_per_window = number
      action_window_seconds  = number
      verify_timeout_seconds = number
    })
  })
  nullable = false

  validation {
    condition = (
      can(regex("^(/[A-Za-z0-9_.-]+)+$", var.platform.registry_path)) &&
      can(regex("^/([A-Za-z0-9_.-]+/)+$", var.platform.remediation_role_path)) &&
      can(regex("^arn:[a-z-]+:iam::[0-9]{12}:role/", var.platform.healer_role_arn)) &&
      var.platform.max_playbook_seconds >= 30 && var.platform.max_playbook_seconds <= 840 &&
      alltrue([for v in values(var.platform.defaults) : v != null])
    )
    error_message = "platform must be the platform module's platform output (registry_path like /a/b, remediation_role_path like /a/b/, healer_role_arn a role ARN, max_playbook_seconds 30-840, every default set)."
  }
}

variable "function_name" {
  description = "Name (not ARN) of the protected Lambda function; the healer's grants are scoped to it, its versions and aliases."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.function_name))
    error_message = "function_name must be a Lambda function name: 1-64 of [A-Za-z0-9_-]."
  }
}

variable "alias_name" {
  description = "Alias the function's traffic goes through (rollback_alias moves it; disable_event_source also covers its mappings); null when there is none."
  type        = string
  default     = null

  validation {
    condition     = var.alias_name == null || (can(regex("^[A-Za-z0-9_-]{1,128}$", var.alias_name)) && !can(regex("^[0-9]+$", var.alias_name)))
    error_message = "alias_name must be 1-128 of [A-Za-z0-9_-] and not only digits (that would be a version)."
  }
}

variable "signals" {
  description = <<-EOT
    The alarms to create, each notifying the platform's alarm topic on ALARM and OK. Per signal: enabled,
    threshold, period (seconds: 10, 20, 30 or a multiple of 60), evaluation_periods, datapoints_to_alarm
    (M of N). errors: Sum of AWS/Lambda Errors (on by default, threshold 3); error_rate: 100 * Errors /
    Invocations, in percent (threshold 5); throttles: Sum of Throttles (threshold 1); duration_p99: p99
    of Duration in milliseconds (threshold 1000); api_5xx: Sum of AWS/ApiGateway 5xx of api_id (threshold
    5; needs api_id). All but errors are off by default; a datapoint breaches at or above the threshold.
  EOT
  type = object({
    errors = optional(object({
      enabled             = optional(bool, true)
      threshold           = optional(number, 3)
      period              = optional(number, 60)
      evaluation_periods  = optional(number, 2)
      datapoints_to_alarm = optional(number, 2)
    }), {})
    error_rate = optional(object({
      enabled             = optional(bool, false)
      threshold           = optional(number, 5)
      period              = optional(number, 60)
      evaluation_periods  = optional(number, 3)
      datapoints_to_alarm = optional(number, 2)
    }), {})
    throttles = optional(object({
      enabled             = optional(bool, false)
      threshold           = optional(number, 1)
      period              = optional(number, 60)
      evaluation_periods  = optional(number, 2)
      datapoints_to_alarm = optional(number, 2)
    }), {})
    duration_p99 = optional(object({
      enabled             = optional(bool, false)
      threshold           = optional(number, 1000)
      period              = optional(number, 60)
      evaluation_periods  = optional(number, 3)
      datapoints_to_alarm = optional(number, 3)
    }), {})
    api_5xx = optional(object({
      enabled             = optional(bool, false)
      threshold           = optional(number, 5)
      period              = optional(number, 60)
      evaluation_periods  = optional(number, 2)
      datapoints_to_alarm = optional(number, 2)
    }), {})
  })
  default  = {}
  nullable = false

  validation {
    condition     = anytrue([for s in values(var.signals) : s.enabled])
    error_message = "At least one signal must be enabled: a protected function without an alarm is never healed."
  }

  validation {
    condition = alltrue([
      for s in values(var.signals) :
      contains([10, 20, 30], s.period) || (s.period >= 60 && s.period <= 86400 && s.period % 60 == 0)
    ])
    error_message = "Every signal's period must be 10, 20, 30 or a multiple of 60 up to 86400 seconds."
  }

  validation {
    condition = alltrue([
      for s in values(var.signals) :
      floor(s.evaluation_periods) == s.evaluation_periods && s.evaluation_periods >= 1 && s.evaluation_periods <= 100 &&
      floor(s.datapoints_to_alarm) == s.datapoints_to_alarm && s.datapoints_to_alarm >= 1 &&
      s.datapoints_to_alarm <= s.evaluation_periods
    ])
    error_message = "Every signal needs whole evaluation_periods in 1-100 and whole datapoints_to_alarm in 1..evaluation_periods."
  }

  validation {
    condition     = alltrue([for s in values(var.signals) : s.threshold >= 0]) && var.signals.error_rate.threshold <= 100
    error_message = "Thresholds must not be negative; the error_rate threshold is a percentage (0-100)."
  }
}

variable "playbook" {
  description = "Remediations to try in order, one per step, each verified before the next: set_env, rollback_alias, clamp_concurrency, disable_event_source, restart. Also decides the healer's grants on this function."
  type        = list(string)
  nullable    = false

  validation {
    condition     = length(var.playbook) >= 1
    error_message = "playbook must name at least one action."
  }

  validation {
    condition     = alltrue([for a in var.playbook : contains(["set_env", "rollback_alias", "clamp_concurrency", "disable_event_source", "restart"], a)])
    error_message = "playbook actions must be among set_env, rollback_alias, clamp_concurrency, disable_event_source, restart."
  }

  validation {
    condition     = length(distinct(var.playbook)) == length(var.playbook)
    error_message = "playbook must not name an action twice."
  }
}

variable "set_env" {
  description = "Environment variables the set_env action writes (others are kept); required, non-empty, when the playbook has set_env."
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    # AWS_ is Lambda's reserved prefix; HEALED_ and PREVIOUS_ are the healer's own markers.
    condition = alltrue([
      for k in keys(var.set_env) :
      can(regex("^[A-Za-z][A-Za-z0-9_]*$", k)) && !startswith(k, "AWS_") && !startswith(k, "HEALED_") && !startswith(k, "PREVIOUS_")
    ])
    error_message = "set_env keys must be environment variable names ([A-Za-z][A-Za-z0-9_]*) not starting with AWS_, HEALED_ or PREVIOUS_."
  }
}

variable "concurrency_limit" {
  description = "Reserved concurrency clamp_concurrency puts on the function; required when the playbook has clamp_concurrency; 0 (throttle everything) only with allow_zero_concurrency."
  type        = number
  default     = null

  validation {
    condition     = var.concurrency_limit == null || (try(floor(var.concurrency_limit) == var.concurrency_limit && var.concurrency_limit >= 0 && var.concurrency_limit <= 1000, false))
    error_message = "concurrency_limit must be null or a whole number between 0 and 1000."
  }
}

variable "allow_zero_concurrency" {
  description = "Whether clamp_concurrency may set reserved concurrency 0, which stops every invocation of the function."
  type        = bool
  default     = false
  nullable    = false
}

variable "mode" {
  description = "observe: record and escalate, never act; approve: plan each step and wait for an operator's approve command; auto: act and verify. Default auto, as the seed's demo heals on its own; choose approve for functions where a person must agree first."
  type        = string
  default     = "auto"
  nullable    = false

  validation {
    condition     = contains(["observe", "approve", "auto"], var.mode)
    error_message = "mode must be observe, approve or auto."
  }
}

variable "rails" {
  description = "Overrides of the platform's per-function rails (default_rails); an attribute left null takes the platform's value."
  type = object({
    cooldown_seconds       = optional(number)
    max_actions_per_window = optional(number)
    action_window_seconds  = optional(number)
    verify_timeout_seconds = optional(number)
  })
  default  = {}
  nullable = false

  validation {
    condition = alltrue([for v in values(var.rails) : v == null ? true : floor(v) == v]) && (
      var.rails.cooldown_seconds == null ? true : var.rails.cooldown_seconds >= 0 && var.rails.cooldown_seconds <= 86400
      ) && (
      var.rails.max_actions_per_window == null ? true : var.rails.max_actions_per_window >= 1 && var.rails.max_actions_per_window <= 100
      ) && (
      var.rails.action_window_seconds == null ? true : var.rails.action_window_seconds >= 60 && var.rails.action_window_seconds <= 604800
      ) && (
      var.rails.verify_timeout_seconds == null ? true : var.rails.verify_timeout_seconds >= 30 && var.rails.verify_timeout_seconds <= 840
    )
    error_message = "rails must be null or whole numbers: cooldown_seconds 0-86400, max_actions_per_window 1-100, action_window_seconds 60-604800, verify_timeout_seconds 30-840."
  }
}

variable "alarm_name_prefix" {
  description = "Prefix of the alarm names (PREFIX-errors, PREFIX-error-rate, ...); null means function_name. Alarm names are registry parameter-name segments, so [A-Za-z0-9_.-] only."
  type        = string
  default     = null

  validation {
    # 255 is the healer's limit for a registry segment; the longest suffix is "-duration-p99" (13 chars).
    condition     = var.alarm_name_prefix == null || can(regex("^[A-Za-z0-9_.-]{1,200}$", var.alarm_name_prefix))
    error_message = "alarm_name_prefix must be 1-200 of [A-Za-z0-9_.-]."
  }
}

variable "event_source_mapping_uuids" {
  description = "UUIDs of the function's (and its alias's) event source mappings disable_event_source may disable; required when the playbook has disable_event_source, because lambda:ListEventSourceMappings cannot be scoped to a function (see README)."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for u in var.event_source_mapping_uuids : can(regex("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", u))]) && length(distinct(var.event_source_mapping_uuids)) == length(var.event_source_mapping_uuids)
    error_message = "event_source_mapping_uuids must be distinct UUIDs (8-4-4-4-12 hex digits)."
  }
}

variable "api_id" {
  description = "ID of the HTTP API in front of the function, for the api_5xx signal; null when there is none."
  type        = string
  default     = null

  validation {
    condition     = var.api_id == null || can(regex("^[a-z0-9]{1,32}$", var.api_id))
    error_message = "api_id must be an API Gateway API id (lower-case letters and digits)."
  }
}

variable "api_stage" {
  description = "Stage of api_id the api_5xx signal watches (e.g. $default); null watches the API's metric across stages (ApiId dimension only)."
  type        = string
  default     = null

  validation {
    condition     = var.api_stage == null || can(regex("^(\\$default|[A-Za-z0-9_-]{1,128})$", var.api_stage))
    error_message = "api_stage must be $default or 1-128 of [A-Za-z0-9_-]."
  }
}
