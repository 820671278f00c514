variable "region" {
  description = "AWS region for all resources."
  type        = string
  default     = "eu-west-1"
}

variable "name" {
  description = "Name of the function and prefix of the others."
  type        = string
  default     = "hello-v1"
}

variable "greeting" {
  description = "Word the function greets with."
  type        = string
  default     = "Hello"
}
