variable "region" {
  description = "AWS region."
  type        = string
  default     = "eu-west-1"
}

variable "name" {
  description = "Name prefix."
  type        = string
  default     = "web"
}

variable "allowed_origins" {
  description = "Origins browsers may call the API from."
  type        = list(string)
  default     = ["https://app.example.com"]

  validation {
    condition     = alltrue([for origin in var.allowed_origins : can(regex("^https://", origin))])
    error_message = "Every allowed origin must be an https:// origin."
  }
}
