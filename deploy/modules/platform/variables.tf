variable "name" {
  description = "Prefix of every name the platform creates: NAME-healer, NAME-alarms, NAME-escalations, NAME-ledger, NAME-healer-dlq (docs/platform.md)."
  type        = string
  default     = "selfheal"
  nullable    = false

  validation {
    # 64 is Lambda's function-name limit; the longest suffix used is "-escalations" (12 chars).
    condition     = can(regex("^[a-z][a-z0-9-]{0,39}$", var.name))
    error_message = "name must start with a lower-case letter and hold 1-40 of [a-z0-9-]."
  }
}

variable "registry_path" {
  description = "SSM Parameter Store path of the registry (alarm entries under REGISTRY_PATH/alarms/, the kill switch at REGISTRY_PATH/kill-switch); null means /selfheal/NAME."
  type        = string
  default     = null

  validation {
    condition = var.registry_path == null || (
      can(regex("^(/[A-Za-z0-9_.-]+)+$", var.registry_path)) &&
      length(var.registry_path) <= 200 &&
      !can(regex("^/(aws|ssm)", lower(var.registry_path)))
    )
    error_message = "registry_path must look like /a/b (segments of [A-Za-z0-9_.-], no trailing slash), at most 200 characters, and not start with /aws or /ssm."
  }
}

variable "powertools_layer_arn" {
  description = "ARN of the Powertools for AWS Lambda (Python) v3 layer; null uses the AWS-managed x86_64 python3.12 layer (version 27) of the provider's region."
  type        = string
  default     = null

  validation {
    condition     = var.powertools_layer_arn == null || can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:layer:[A-Za-z0-9_-]+:[0-9]+$", var.powertools_layer_arn))
    error_message = "powertools_layer_arn must be a versioned Lambda layer ARN (arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION)."
  }
}

# --- fleet rails (healer environment) ----------------------------------------------------------

variable "fleet_max_in_flight" {
  description = "Most incidents acting or verifying at once across every protected function (FLEET_MAX_IN_FLIGHT); beyond it the healer escalates (fleet_in_flight)."
  type        = number
  default     = 3
  nullable    = false

  validation {
    condition     = var.fleet_max_in_flight >= 1 && var.fleet_max_in_flight <= 100 && floor(var.fleet_max_in_flight) == var.fleet_max_in_flight
    error_message = "fleet_max_in_flight must be a whole number between 1 and 100."
  }
}

variable "fleet_max_actions_per_hour" {
  description = "Most playbook steps per hour across every protected function (FLEET_MAX_ACTIONS_PER_HOUR); beyond it the healer escalates (fleet_rate)."
  type        = number
  default     = 10
  nullable    = false

  validation {
    condition     = var.fleet_max_actions_per_hour >= 1 && var.fleet_max_actions_per_hour <= 1000 && floor(var.fleet_max_actions_per_hour) == var.fleet_max_actions_per_hour
    error_message = "fleet_max_actions_per_hour must be a whole number between 1 and 1000."
  }
}

variable "default_rails" {
  description = "Per-function rails a protect instance gets unless its own rails override them (written into each registry entry): cooldown_seconds between two incidents' actions, max_actions_per_window within action_window_seconds, verify_timeout_seconds per playbook step."
  type = object({
    cooldown_seconds       = optional(number, 300)
    max_actions_per_window = optional(number, 3)
    action_window_seconds  = optional(number, 3600)
    verify_timeout_seconds = optional(number, 300)
  })
  default  = {}
  nullable = false

  validation {
    condition = (
      alltrue([for v in values(var.default_rails) : floor(v) == v]) &&
      var.default_rails.cooldown_seconds >= 0 && var.default_rails.cooldown_seconds <= 86400 &&
      var.default_rails.max_actions_per_window >= 1 && var.default_rails.max_actions_per_window <= 100 &&
      var.default_rails.action_window_seconds >= 60 && var.default_rails.action_window_seconds <= 604800 &&
      var.default_rails.verify_timeout_seconds >= 30 && var.default_rails.verify_timeout_seconds <= 840
    )
    error_message = "default_rails must be whole numbers: cooldown_seconds 0-86400, max_actions_per_window 1-100, action_window_seconds 60-604800, verify_timeout_seconds 30-840 (the healer's 900 s limit minus a 60 s margin)."
  }
}

variable "dry_run" {
  description = "When true the healer decides and records but never changes a function: every protected function is treated as mode observe (DRY_RUN)."
  type        = bool
  default     = false
  nullable    = false
}

# --- healer function -----------------------------------------------------------------------------

variable "healer_reserved_concurrency" {
  description = "Reserved concurrent executions of the healer; at least fleet_max_in_flight + 1 so an OK notification or an operator command finds an environment while the fleet is fully in flight. -1 leaves it unreserved."
  type        = number
  default     = 5
  nullable    = false

  validation {
    # The cross-check against fleet_max_in_flight is a precondition on the function (healer.tf).
    condition     = var.healer_reserved_concurrency == -1 || (var.healer_reserved_concurrency >= 2 && var.healer_reserved_concurrency <= 1000 && floor(var.healer_reserved_concurrency) == var.healer_reserved_concurrency)
    error_message = "healer_reserved_concurrency must be -1 (unreserved) or a whole number between 2 and 1000."
  }
}

variable "healer_max_event_age_seconds" {
  description = "How long Lambda keeps retrying an undelivered alarm notification to the healer before sending it to the DLQ."
  type        = number
  default     = 3600
  nullable    = false

  validation {
    condition     = var.healer_max_event_age_seconds >= 60 && var.healer_max_event_age_seconds <= 21600 && floor(var.healer_max_event_age_seconds) == var.healer_max_event_age_seconds
    error_message = "healer_max_event_age_seconds must be a whole number between 60 and 21600."
  }
}

variable "log_retention_days" {
  description = "Retention of the healer's log group, in days."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ... 3653)."
  }
}
