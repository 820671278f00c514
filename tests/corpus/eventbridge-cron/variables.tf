variable "region" {
  description = "AWS region."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Name prefix."
  type        = string
  default     = "cron"
}

variable "schedule" {
  description = "Schedule expression of the heartbeat rule."
  type        = string
  default     = "rate(1 minute)"

  validation {
    condition     = can(regex("^(rate|cron)\\(.+\\)$", var.schedule))
    error_message = "The schedule must be a rate(...) or cron(...) expression."
  }
}
