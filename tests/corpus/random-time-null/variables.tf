variable "region" {
  description = "AWS region."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Base name; a random suffix is added."
  type        = string
  default     = "counter"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.name))
    error_message = "The name must be 2-31 lowercase letters, digits or dashes, starting with a letter."
  }
}

variable "iam_wait" {
  description = "Pause after the role's policy is created (a Go duration)."
  type        = string
  default     = "1s"
}
