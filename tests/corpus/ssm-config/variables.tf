variable "region" {
  description = "AWS region."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Application name: the first level of the parameter path."
  type        = string
  default     = "storefront"
}

variable "environment" {
  description = "Deployment environment: the second level of the parameter path."
  type        = string
  default     = "dev"

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "The environment must be dev, staging or prod."
  }
}

variable "greeting" {
  description = "Greeting shown to customers."
  type        = string
  default     = "Welcome back"
}

variable "features" {
  description = "Feature flags turned on."
  type        = list(string)
  default     = ["search", "wishlist"]
}
