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
  description = "Prefix of every name: the platform's (NAME-healer, NAME-ledger, ...), the functions' (NAME-storefront, NAME-inventory) and the API's (NAME-api)."
  type        = string
  default     = "overload"

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
    Scenario  = "overload"
    ManagedBy = "terraform"
  }

  validation {
    condition = alltrue([
      for k, v in var.tags : length(k) >= 1 && length(k) <= 128 && length(v) <= 256 && !startswith(lower(k), "aws:")
    ])
    error_message = "Tag keys must be 1-128 characters and not start with aws:; values at most 256 characters."
  }
}

variable "mode" {
  description = "The protect module's mode for storefront: auto runs the playbook on its own, approve waits for `selfheal approve`, observe only records the plan."
  type        = string
  default     = "auto"

  validation {
    condition     = contains(["observe", "approve", "auto"], var.mode)
    error_message = "mode must be observe, approve or auto."
  }
}

variable "storefront_concurrency" {
  description = "Reserved concurrent executions of storefront: its baseline, which clamp_concurrency lowers to concurrency_limit and the next apply restores."
  type        = number
  default     = 8

  validation {
    condition     = var.storefront_concurrency >= 1 && var.storefront_concurrency <= 1000 && floor(var.storefront_concurrency) == var.storefront_concurrency
    error_message = "storefront_concurrency must be a whole number from 1 to 1000."
  }
}

variable "concurrency_limit" {
  description = "Reserved concurrency the healer's clamp_concurrency puts on storefront: at most inventory_concurrency, so every storefront invocation finds a free inventory slot."
  type        = number
  default     = 2

  validation {
    condition     = var.concurrency_limit >= 1 && var.concurrency_limit <= 1000 && floor(var.concurrency_limit) == var.concurrency_limit
    error_message = "concurrency_limit must be a whole number from 1 to 1000 (0 would stop storefront)."
  }
}

variable "inventory_concurrency" {
  description = "Reserved concurrent executions of inventory: its slots; a call beyond them is throttled and storefront waits for a slot."
  type        = number
  default     = 2

  validation {
    condition     = var.inventory_concurrency >= 1 && var.inventory_concurrency <= 1000 && floor(var.inventory_concurrency) == var.inventory_concurrency
    error_message = "inventory_concurrency must be a whole number from 1 to 1000."
  }
}

variable "inventory_delay_ms" {
  description = "Milliseconds each inventory call holds its slot (DELAY_MS); raising it and applying is the scenario's slow downstream release."
  type        = number
  default     = 20

  validation {
    condition     = var.inventory_delay_ms >= 0 && var.inventory_delay_ms <= 5000 && floor(var.inventory_delay_ms) == var.inventory_delay_ms
    error_message = "inventory_delay_ms must be a whole number from 0 to 5000."
  }
}

variable "inventory_wait_seconds" {
  description = "Seconds storefront waits for a free inventory slot before it fails the request (WAIT_SECONDS); below its 10 s timeout."
  type        = number
  default     = 4

  validation {
    condition     = var.inventory_wait_seconds >= 0 && var.inventory_wait_seconds <= 8
    error_message = "inventory_wait_seconds must be from 0 to 8 (storefront's timeout is 10 s)."
  }
}

variable "p99_threshold_ms" {
  description = "p99 of storefront's Duration (milliseconds, per period) at or above which a period of its duration-p99 alarm breaches."
  type        = number
  default     = 1500

  validation {
    condition     = var.p99_threshold_ms >= 1 && var.p99_threshold_ms <= 900000
    error_message = "p99_threshold_ms must be from 1 to 900000 (Lambda's longest timeout)."
  }
}

variable "alarm_period_seconds" {
  description = "Period of storefront's duration-p99 alarm in seconds: 10, 20, 30 or a multiple of 60."
  type        = number
  default     = 60

  validation {
    condition     = contains([10, 20, 30], var.alarm_period_seconds) || (var.alarm_period_seconds >= 60 && var.alarm_period_seconds <= 86400 && var.alarm_period_seconds % 60 == 0)
    error_message = "alarm_period_seconds must be 10, 20, 30 or a multiple of 60 up to 86400."
  }
}

variable "alarm_evaluation_periods" {
  description = "Periods storefront's duration-p99 alarm evaluates; every one of them must breach (M of N with M = N)."
  type        = number
  default     = 2

  validation {
    condition     = var.alarm_evaluation_periods >= 1 && var.alarm_evaluation_periods <= 10 && floor(var.alarm_evaluation_periods) == var.alarm_evaluation_periods
    error_message = "alarm_evaluation_periods must be a whole number from 1 to 10."
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
