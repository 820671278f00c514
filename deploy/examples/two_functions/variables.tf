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
  description = "Prefix of every name: the platform's (NAME-healer, ...) and the two functions' (NAME-orders, NAME-payments)."
  type        = string
  default     = "shop"

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
    Example   = "two_functions"
    ManagedBy = "terraform"
  }

  validation {
    condition = alltrue([
      for k, v in var.tags : length(k) >= 1 && length(k) <= 128 && length(v) <= 256 && !startswith(lower(k), "aws:")
    ])
    error_message = "Tag keys must be 1-128 characters and not start with aws:; values at most 256 characters."
  }
}

variable "orders_failure_rate" {
  description = "FAILURE_RATE (0..1) of the orders function's published version; raise it and apply to publish a failing version behind the alias."
  type        = number
  default     = 0

  validation {
    condition     = var.orders_failure_rate >= 0 && var.orders_failure_rate <= 1
    error_message = "orders_failure_rate must be between 0 and 1."
  }
}

variable "payments_failure_rate" {
  description = "FAILURE_RATE (0..1) of the payments function; the healer's set_env writes 0."
  type        = number
  default     = 0

  validation {
    condition     = var.payments_failure_rate >= 0 && var.payments_failure_rate <= 1
    error_message = "payments_failure_rate must be between 0 and 1."
  }
}

variable "log_retention_days" {
  description = "Retention of every log group of the example, in days."
  type        = number
  default     = 7

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, ... 3653)."
  }
}
