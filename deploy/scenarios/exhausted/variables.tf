variable "aws_region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]+$", var.aws_region))
    error_message = "aws_region must look like an AWS region name, e.g. us-east-1."
  }
}

variable "name" {
  description = "Prefix of every name: the platform's (NAME-healer, NAME-ledger, ...), the function's (NAME-pricing), the API's (NAME-api) and the escalation queue's (NAME-escalations)."
  type        = string
  default     = "exhausted"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,39}$", var.name))
    error_message = "name must start with a lower-case letter and hold 1-40 of [a-z0-9-]."
  }
}

variable "tags" {
  description = "Tags applied to every resource through the provider's default_tags."
  type        = map(string)
  default = {
    Project   = "selfheal"
    Scenario  = "exhausted"
    ManagedBy = "terraform"
  }

  validation {
    condition = alltrue([
      for k, v in var.tags : length(k) >= 1 && length(k) <= 128 && length(v) <= 256 && !startswith(lower(k), "aws:")
    ])
    error_message = "Tag keys must be 1-128 characters and not start with aws:; values at most 256 characters."
  }
}

variable "failure_rate" {
  description = "Share (0..1) of pricing's requests the release's bug fails (FAILURE_RATE); no step of the playbook changes it."
  type        = number
  default     = 0.5

  validation {
    condition     = var.failure_rate >= 0 && var.failure_rate <= 1
    error_message = "failure_rate must be between 0 and 1."
  }
}

variable "mode" {
  description = "The protect module's mode for pricing: auto runs the playbook on its own, approve waits for `selfheal approve`, observe only records the plan."
  type        = string
  default     = "auto"

  validation {
    condition     = contains(["observe", "approve", "auto"], var.mode)
    error_message = "mode must be observe, approve or auto."
  }
}

variable "alarm_threshold" {
  description = "Errors (Sum per period) at or above which a period of pricing's errors alarm breaches."
  type        = number
  default     = 3

  validation {
    condition     = var.alarm_threshold >= 1 && floor(var.alarm_threshold) == var.alarm_threshold
    error_message = "alarm_threshold must be a whole number of errors, at least 1."
  }
}

variable "alarm_period_seconds" {
  description = "Period of pricing's errors alarm in seconds: 10, 20, 30 or a multiple of 60."
  type        = number
  default     = 60

  validation {
    condition     = contains([10, 20, 30], var.alarm_period_seconds) || (var.alarm_period_seconds >= 60 && var.alarm_period_seconds <= 86400 && var.alarm_period_seconds % 60 == 0)
    error_message = "alarm_period_seconds must be 10, 20, 30 or a multiple of 60 up to 86400."
  }
}

variable "alarm_evaluation_periods" {
  description = "Periods pricing's errors alarm evaluates; every one of them must breach (M of N with M = N)."
  type        = number
  default     = 2

  validation {
    condition     = var.alarm_evaluation_periods >= 1 && var.alarm_evaluation_periods <= 10 && floor(var.alarm_evaluation_periods) == var.alarm_evaluation_periods
    error_message = "alarm_evaluation_periods must be a whole number from 1 to 10."
  }
}

variable "verify_timeout_seconds" {
  description = "How long the healer waits for the alarm to be OK after each playbook step before the next step (or, after the last, escalating); 30-840, and both steps together within the healer's 840 s."
  type        = number
  default     = 60

  validation {
    condition     = var.verify_timeout_seconds >= 30 && var.verify_timeout_seconds <= 420 && floor(var.verify_timeout_seconds) == var.verify_timeout_seconds
    error_message = "verify_timeout_seconds must be a whole number from 30 to 420 (two steps within the healer's 840 s)."
  }
}

variable "escalation_retention_seconds" {
  description = "How long the escalation queue keeps a message nobody read, in seconds (SQS allows 60-1209600)."
  type        = number
  default     = 345600

  validation {
    condition     = var.escalation_retention_seconds >= 60 && var.escalation_retention_seconds <= 1209600 && floor(var.escalation_retention_seconds) == var.escalation_retention_seconds
    error_message = "escalation_retention_seconds must be a whole number from 60 to 1209600."
  }
}

variable "reserved_concurrency" {
  description = "Reserved concurrent executions of pricing (bounds what a flood of requests can cost)."
  type        = number
  default     = 10

  validation {
    condition     = var.reserved_concurrency >= 1 && var.reserved_concurrency <= 1000 && floor(var.reserved_concurrency) == var.reserved_concurrency
    error_message = "reserved_concurrency must be a whole number from 1 to 1000."
  }
}

variable "api_throttling_burst_limit" {
  description = "Burst limit (requests) of the HTTP API's default route."
  type        = number
  default     = 100

  validation {
    condition     = var.api_throttling_burst_limit >= 1 && var.api_throttling_burst_limit <= 5000 && floor(var.api_throttling_burst_limit) == var.api_throttling_burst_limit
    error_message = "api_throttling_burst_limit must be a whole number from 1 to 5000."
  }
}

variable "api_throttling_rate_limit" {
  description = "Steady-state rate limit (requests per second) of the HTTP API's default route."
  type        = number
  default     = 50

  validation {
    condition     = var.api_throttling_rate_limit > 0 && var.api_throttling_rate_limit <= 10000
    error_message = "api_throttling_rate_limit must be above 0 and at most 10000 requests per second."
  }
}

variable "log_retention_days" {
  description = "Retention of every log group of the scenario, in days."
  type        = number
  default     = 7

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, ... 3653)."
  }
}
