variable "region" {
  description = "AWS region."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Name prefix."
  type        = string
  default     = "legacy"
}

variable "stage" {
  description = "Name of the API stage."
  type        = string
  default     = "prod"

  validation {
    condition     = can(regex("^[A-Za-z0-9_]+$", var.stage))
    error_message = "A stage name has only letters, digits and underscores."
  }
}
