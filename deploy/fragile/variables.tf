variable "aws_region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]+$", var.aws_region))
    error_message = "aws_region must look like an AWS region name, e.g. us-east-1."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name (see docs/internals.md for the resulting names)."
  type        = string
  default     = "selfheal"

  validation {
    # 64 is Lambda's function-name limit; the longest suffix used is "-fragile-errors" (15 chars), and
    # the platform module takes the same pattern for its name.
    condition     = can(regex("^[a-z][a-z0-9-]{0,39}$", var.name_prefix))
    error_message = "name_prefix must start with a lower-case letter and hold 1-40 of [a-z0-9-]."
  }
}

variable "tags" {
  description = "Tags applied to every resource through the provider's default_tags."
  type        = map(string)
  default = {
    Project   = "selfheal"
    ManagedBy = "terraform"
  }

  validation {
    condition = alltrue([
      for k, v in var.tags : length(k) >= 1 && length(k) <= 128 && length(v) <= 256 && !startswith(lower(k), "aws:")
    ])
    error_message = "Tag keys must be 1-128 characters and not start with aws:; values at most 256 characters."
  }
}

# --- fragile service ---------------------------------------------------------------------------

variable "failure_rate" {
  description = "Probability (0..1) that one invocation of the fragile function fails (FAILURE_RATE)."
  type        = number
  default     = 0.3

  validation {
    condition     = var.failure_rate >= 0 && var.failure_rate <= 1
    error_message = "failure_rate must be between 0 and 1."
  }
}

variable "failure_mode" {
  description = "How an injected failure shows (FAILURE_MODE): exception, latency, timeout or status. Only exception and timeout count in the Lambda Errors metric."
  type        = string
  default     = "exception"

  validation {
    condition     = contains(["exception", "latency", "timeout", "status"], var.failure_mode)
    error_message = "failure_mode must be one of exception, latency, timeout, status."
  }
}

variable "latency_ms" {
  description = "Extra latency in milliseconds added by the latency failure mode (LATENCY_MS)."
  type        = number
  default     = 2000

  validation {
    condition     = var.latency_ms >= 0 && var.latency_ms <= 60000 && floor(var.latency_ms) == var.latency_ms
    error_message = "latency_ms must be a whole number between 0 and 60000."
  }
}

variable "failure_status_code" {
  description = "HTTP status returned (not raised) by the status failure mode (FAILURE_STATUS_CODE)."
  type        = number
  default     = 503

  validation {
    condition     = var.failure_status_code >= 400 && var.failure_status_code <= 599 && floor(var.failure_status_code) == var.failure_status_code
    error_message = "failure_status_code must be an HTTP error status between 400 and 599."
  }
}

variable "failure_injection_enabled" {
  description = "Kill switch for failure injection (FAILURE_INJECTION_ENABLED); false injects nothing."
  type        = bool
  default     = true

  validation {
    condition     = var.failure_injection_enabled != null
    error_message = "failure_injection_enabled must be true or false."
  }
}

variable "fragile_timeout_seconds" {
  description = "Timeout of the fragile function in seconds; below the HTTP API's 30 s integration limit."
  type        = number
  default     = 10

  validation {
    condition     = var.fragile_timeout_seconds >= 1 && var.fragile_timeout_seconds <= 29 && floor(var.fragile_timeout_seconds) == var.fragile_timeout_seconds
    error_message = "fragile_timeout_seconds must be a whole number between 1 and 29."
  }
}

variable "fragile_reserved_concurrency" {
  description = "Reserved concurrent executions of the fragile function; -1 leaves it unreserved."
  type        = number
  default     = 50

  validation {
    condition     = var.fragile_reserved_concurrency == -1 || (var.fragile_reserved_concurrency >= 1 && var.fragile_reserved_concurrency <= 1000 && floor(var.fragile_reserved_concurrency) == var.fragile_reserved_concurrency)
    error_message = "fragile_reserved_concurrency must be -1 (unreserved) or a whole number between 1 and 1000."
  }
}

# --- detection -------------------------------------------------------------------------------

variable "alarm_period_seconds" {
  description = "Period of the Errors alarm in seconds: 10, 20, 30 or a multiple of 60."
  type        = number
  default     = 60

  validation {
    condition     = contains([10, 20, 30], var.alarm_period_seconds) || (var.alarm_period_seconds >= 60 && var.alarm_period_seconds <= 86400 && var.alarm_period_seconds % 60 == 0)
    error_message = "alarm_period_seconds must be 10, 20, 30 or a multiple of 60 up to 86400."
  }
}

variable "alarm_evaluation_periods" {
  description = "Number of most recent periods the Errors alarm evaluates (N of M-of-N)."
  type        = number
  default     = 2

  validation {
    condition     = var.alarm_evaluation_periods >= 1 && var.alarm_evaluation_periods <= 100 && floor(var.alarm_evaluation_periods) == var.alarm_evaluation_periods
    error_message = "alarm_evaluation_periods must be a whole number between 1 and 100."
  }
}

variable "alarm_datapoints_to_alarm" {
  description = "Breaching datapoints within the evaluation periods that trip the alarm (M of M-of-N); at most alarm_evaluation_periods."
  type        = number
  default     = 2

  validation {
    # The cross-check against alarm_evaluation_periods is the protect module's signals validation.
    condition     = var.alarm_datapoints_to_alarm >= 1 && var.alarm_datapoints_to_alarm <= 100 && floor(var.alarm_datapoints_to_alarm) == var.alarm_datapoints_to_alarm
    error_message = "alarm_datapoints_to_alarm must be a whole number between 1 and 100."
  }
}

variable "alarm_threshold" {
  description = "Errors (Sum per period) at or above which a datapoint breaches."
  type        = number
  default     = 3

  validation {
    condition     = var.alarm_threshold >= 1
    error_message = "alarm_threshold must be at least 1 error per period."
  }
}

# --- healer --------------------------------------------------------------------------------
# The four rails below are the fragile function's rails in its registry entry (module.protect_fragile,
# alarms.tf); the others configure the platform's healer (module.platform, healer.tf).

variable "healer_cooldown_seconds" {
  description = "Minimum time between two remediations of the fragile function (rails.cooldown_seconds of its registry entry)."
  type        = number
  default     = 300

  validation {
    condition     = var.healer_cooldown_seconds >= 0 && var.healer_cooldown_seconds <= 86400 && floor(var.healer_cooldown_seconds) == var.healer_cooldown_seconds
    error_message = "healer_cooldown_seconds must be a whole number between 0 and 86400."
  }
}

variable "healer_max_actions_per_window" {
  description = "Most remediations allowed within one action window before the healer escalates instead (rails.max_actions_per_window of its registry entry)."
  type        = number
  default     = 3

  validation {
    condition     = var.healer_max_actions_per_window >= 1 && var.healer_max_actions_per_window <= 100 && floor(var.healer_max_actions_per_window) == var.healer_max_actions_per_window
    error_message = "healer_max_actions_per_window must be a whole number between 1 and 100."
  }
}

variable "healer_action_window_seconds" {
  description = "Length of the window over which remediations are counted (rails.action_window_seconds of its registry entry)."
  type        = number
  default     = 3600

  validation {
    condition     = var.healer_action_window_seconds >= 60 && var.healer_action_window_seconds <= 604800 && floor(var.healer_action_window_seconds) == var.healer_action_window_seconds
    error_message = "healer_action_window_seconds must be a whole number between 60 and 604800."
  }
}

variable "healer_verify_timeout_seconds" {
  description = "Deadline for the alarm to return to OK after a remediation before the healer escalates (rails.verify_timeout_seconds of its registry entry). The healer runs the playbook (one step here) inside one invocation of at most 900 s, so at most 840."
  type        = number
  default     = 600

  validation {
    condition     = var.healer_verify_timeout_seconds >= 30 && var.healer_verify_timeout_seconds <= 840 && floor(var.healer_verify_timeout_seconds) == var.healer_verify_timeout_seconds
    error_message = "healer_verify_timeout_seconds must be a whole number between 30 and 840 (Lambda's 900 s limit minus a 60 s margin)."
  }
}

variable "healer_dry_run" {
  description = "When true the healer decides and records but never changes the fragile function (the platform's DRY_RUN: every function observed only)."
  type        = bool
  default     = false

  validation {
    condition     = var.healer_dry_run != null
    error_message = "healer_dry_run must be true or false."
  }
}

variable "healer_reserved_concurrency" {
  description = "Reserved concurrent executions of the healer; small, so a flood of notifications cannot fan out into many remediations. The platform's fleet_max_in_flight (incidents acting or verifying at once) is this minus 1, so an OK notification or an operator's command always finds an environment: at least 2. -1 leaves it unreserved (fleet_max_in_flight 3)."
  type        = number
  default     = 2

  validation {
    # At least 2: an incident being verified holds one healer environment for its whole step, and the
    # OK notification or an operator's command needs another (the platform module requires it).
    condition     = var.healer_reserved_concurrency == -1 || (var.healer_reserved_concurrency >= 2 && var.healer_reserved_concurrency <= 100 && floor(var.healer_reserved_concurrency) == var.healer_reserved_concurrency)
    error_message = "healer_reserved_concurrency must be -1 (unreserved) or a whole number between 2 and 100."
  }
}

variable "healer_max_event_age_seconds" {
  description = "How long Lambda keeps retrying an undelivered alarm notification to the healer before sending it to the DLQ."
  type        = number
  default     = 3600

  validation {
    condition     = var.healer_max_event_age_seconds >= 60 && var.healer_max_event_age_seconds <= 21600 && floor(var.healer_max_event_age_seconds) == var.healer_max_event_age_seconds
    error_message = "healer_max_event_age_seconds must be a whole number between 60 and 21600."
  }
}

# --- shared --------------------------------------------------------------------------------

variable "log_retention_days" {
  description = "Retention of the Lambda (fragile and healer) and API access log groups, in days."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ... 3653)."
  }
}

variable "api_throttling_burst_limit" {
  description = "Burst limit (requests) of the HTTP API's $default stage."
  type        = number
  default     = 2000

  validation {
    condition     = var.api_throttling_burst_limit >= 1 && var.api_throttling_burst_limit <= 5000 && floor(var.api_throttling_burst_limit) == var.api_throttling_burst_limit
    error_message = "api_throttling_burst_limit must be a whole number between 1 and 5000."
  }
}

variable "api_throttling_rate_limit" {
  description = "Steady-state rate limit (requests per second) of the HTTP API's $default stage."
  type        = number
  default     = 1000

  validation {
    condition     = var.api_throttling_rate_limit >= 1 && var.api_throttling_rate_limit <= 10000
    error_message = "api_throttling_rate_limit must be between 1 and 10000 requests per second."
  }
}

variable "powertools_layer_arn" {
  description = "ARN of the Powertools for AWS Lambda (Python) v3 layer of the fragile function and the healer; null uses the AWS-managed x86_64 python3.12 layer (version 27) in aws_region."
  type        = string
  default     = null

  validation {
    condition     = var.powertools_layer_arn == null || can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:layer:[A-Za-z0-9_-]+:[0-9]+$", var.powertools_layer_arn))
    error_message = "powertools_layer_arn must be a versioned Lambda layer ARN (arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION)."
  }
}
