variable "region" {
  description = "AWS region."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Name prefix."
  type        = string
  default     = "orders"
}

variable "visibility_timeout_seconds" {
  description = "Visibility timeout of the jobs queue; at least the function's timeout."
  type        = number
  default     = 30

  validation {
    condition     = var.visibility_timeout_seconds >= 5
    error_message = "The visibility timeout must be at least the function's timeout (5 s)."
  }
}

variable "max_receive_count" {
  description = "Receives before a message goes to the dead-letter queue."
  type        = number
  default     = 2
}
