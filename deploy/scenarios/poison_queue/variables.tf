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
  description = "Prefix of every name: the platform's (NAME-healer, NAME-ledger, ...), the worker's (NAME-worker), the queues (NAME-orders, NAME-orders-dlq, NAME-fulfilment)."
  type        = string
  default     = "poison"

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
    Scenario  = "poison_queue"
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
  description = "The protect module's mode for the worker: auto disables its event source on its own, approve waits for `selfheal approve`, observe only records the plan."
  type        = string
  default     = "auto"

  validation {
    condition     = contains(["observe", "approve", "auto"], var.mode)
    error_message = "mode must be observe, approve or auto."
  }
}

variable "alarm_threshold" {
  description = "Errors (Sum per period) at or above which a period of the worker's errors alarm breaches."
  type        = number
  default     = 3

  validation {
    condition     = var.alarm_threshold >= 1 && floor(var.alarm_threshold) == var.alarm_threshold
    error_message = "alarm_threshold must be a whole number of errors, at least 1."
  }
}

variable "alarm_period_seconds" {
  description = "Period of the worker's errors alarm in seconds: 10, 20, 30 or a multiple of 60."
  type        = number
  default     = 60

  validation {
    condition     = contains([10, 20, 30], var.alarm_period_seconds) || (var.alarm_period_seconds >= 60 && var.alarm_period_seconds <= 86400 && var.alarm_period_seconds % 60 == 0)
    error_message = "alarm_period_seconds must be 10, 20, 30 or a multiple of 60 up to 86400."
  }
}

variable "alarm_evaluation_periods" {
  description = "Periods the worker's errors alarm evaluates; every one of them must breach (M of N with M = N)."
  type        = number
  default     = 2

  validation {
    condition     = var.alarm_evaluation_periods >= 1 && var.alarm_evaluation_periods <= 10 && floor(var.alarm_evaluation_periods) == var.alarm_evaluation_periods
    error_message = "alarm_evaluation_periods must be a whole number from 1 to 10."
  }
}

variable "reserved_concurrency" {
  description = "Reserved concurrent executions of the worker (bounds what a flood of messages can cost)."
  type        = number
  default     = 10

  validation {
    condition     = var.reserved_concurrency >= 1 && var.reserved_concurrency <= 1000 && floor(var.reserved_concurrency) == var.reserved_concurrency
    error_message = "reserved_concurrency must be a whole number from 1 to 1000."
  }
}

variable "batch_size" {
  description = "Most messages the event source mapping hands the worker at once (SQS allows 1-10 without a batching window)."
  type        = number
  default     = 10

  validation {
    condition     = var.batch_size >= 1 && var.batch_size <= 10 && floor(var.batch_size) == var.batch_size
    error_message = "batch_size must be a whole number from 1 to 10."
  }
}

variable "worker_timeout_seconds" {
  description = "Timeout of the worker in seconds; at most visibility_timeout_seconds."
  type        = number
  default     = 10

  validation {
    condition     = var.worker_timeout_seconds >= 1 && var.worker_timeout_seconds <= 900 && floor(var.worker_timeout_seconds) == var.worker_timeout_seconds
    error_message = "worker_timeout_seconds must be a whole number from 1 to 900."
  }
}

variable "visibility_timeout_seconds" {
  description = "Visibility timeout of the orders queue in seconds: how long a batch that failed stays hidden before it is retried; at least worker_timeout_seconds."
  type        = number
  default     = 30

  validation {
    condition     = var.visibility_timeout_seconds >= 0 && var.visibility_timeout_seconds <= 43200 && floor(var.visibility_timeout_seconds) == var.visibility_timeout_seconds
    error_message = "visibility_timeout_seconds must be a whole number from 0 to 43200."
  }
}

variable "max_receive_count" {
  description = "Receives after which SQS moves a message that was never processed to the dead-letter queue (redrive_policy)."
  type        = number
  default     = 10

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000 && floor(var.max_receive_count) == var.max_receive_count
    error_message = "max_receive_count must be a whole number from 1 to 1000."
  }
}

variable "message_retention_seconds" {
  description = "How long the orders queue keeps a message, in seconds (SQS allows 60-1209600): a disabled mapping leaves the messages there for a person."
  type        = number
  default     = 345600

  validation {
    condition     = var.message_retention_seconds >= 60 && var.message_retention_seconds <= 1209600 && floor(var.message_retention_seconds) == var.message_retention_seconds
    error_message = "message_retention_seconds must be a whole number from 60 to 1209600."
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
